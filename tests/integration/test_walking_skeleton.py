"""Acceptance of the foundation: HTTP -> outbox -> bus -> aggregator, in both modes,
with the aggregator SIGKILLed and restarted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx

from tests.integration.conftest import (
    admin_headers,
    distributed_env,
    embedded_env,
    fresh_village,
)
from tests.servers import LumbungProcess, wait_for


def register(api: str, village: str, households: int) -> list[str]:
    headers = admin_headers()
    r = httpx.post(
        f"{api}/registry/villages",
        headers=headers,
        timeout=15,
        json={
            "village_code": village,
            "name": "Desa Uji",
            "district_code": village[:4],
            "district_name": "Kabupaten Uji",
        },
    )
    assert r.status_code == 201, r.text
    ids = []
    for _ in range(households):
        r = httpx.post(
            f"{api}/registry/households",
            headers=headers,
            timeout=15,
            json={"village_code": village, "members": 3},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["household_id"])
    return ids


def count(api: str, village: str) -> int | None:
    """The village's registered households in the view, or None while it is not there yet
    (a fresh aggregator first catches up on the whole shared log, and may answer slowly)."""
    try:
        r = httpx.get(f"{api}/resilience/villages/{village}", headers=admin_headers(), timeout=30)
    except httpx.TimeoutException:
        return None
    return r.json()["households_registered"] if r.status_code == 200 else None


def wait_count(api: str, village: str, expected: int, timeout_s: float = 120) -> None:
    wait_for(lambda: count(api, village) == expected, timeout_s, what=f"count {expected}")


def test_embedded_count_survives_a_killed_process(
    processes: Callable[..., LumbungProcess], tmp_path: Path
) -> None:
    env = embedded_env(tmp_path / "data")
    platform = processes("services", env, "embedded-1")
    village = fresh_village()
    register(platform.url, village, 3)
    wait_count(platform.url, village, 3)
    platform.kill()
    restarted = processes("services", env, "embedded-2")
    assert count(restarted.url, village) == 3
    register_more = httpx.post(
        f"{restarted.url}/registry/households",
        headers=admin_headers(),
        json={"village_code": village, "members": 1},
        timeout=15,
    )
    assert register_more.status_code == 201
    wait_count(restarted.url, village, 4)


def test_distributed_count_survives_a_killed_aggregator(
    processes: Callable[..., LumbungProcess], kafka_bootstrap: str, mongo_url: str, unique: str
) -> None:
    env = distributed_env(kafka_bootstrap, mongo_url, unique)
    registry = processes("services.registry", env, "registry")
    aggregator = processes("services.aggregator", env, "aggregator-1")
    village = fresh_village()
    register(registry.url, village, 3)
    wait_count(aggregator.url, village, 3)
    aggregator.kill()
    register(registry.url, fresh_village(), 1)  # arrives while the aggregator is dead
    httpx.post(
        f"{registry.url}/registry/households",
        headers=admin_headers(),
        timeout=15,
        json={"village_code": village, "members": 2},
    ).raise_for_status()
    restarted = processes("services.aggregator", env, "aggregator-2")
    wait_count(restarted.url, village, 4)
    assert count(restarted.url, village) == 4
