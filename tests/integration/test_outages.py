"""Distributed mode with a dependency stopped: the bus down is absorbed by the outbox, the
store down is a clean 503 with Retry-After, and nothing is half-written.

These tests stop and restart the shared test servers with the project's own scripts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2 as httpx

from tests.integration.conftest import admin_headers, distributed_env, fresh_village
from tests.integration.test_walking_skeleton import count, register, wait_count
from tests.servers import LumbungProcess, server, wait_for

OUTAGE_S = 60
DRAIN_BOUND_S = 120


def backlog(api: str) -> float:
    for line in httpx.get(f"{api}/metrics", timeout=10).text.splitlines():
        if line.startswith("lumbung_outbox_backlog{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


def test_kafka_down_writes_are_accepted_and_drain_when_it_returns(
    processes: Callable[..., LumbungProcess], kafka_bootstrap: str, mongo_url: str, unique: str
) -> None:
    env = distributed_env(kafka_bootstrap, mongo_url, unique)
    registry = processes("services.registry", env, "registry")
    aggregator = processes("services.aggregator", env, "aggregator")
    village = fresh_village()
    register(registry.url, village, 1)
    wait_count(aggregator.url, village, 1)

    server("kafka", "stop")
    down_since = time.monotonic()
    try:

        def bus_named() -> dict | None:
            body = httpx.get(f"{registry.url}/readyz", timeout=15).json()
            return body if "bus" in body.get("down", []) else None

        ready = wait_for(bus_named, timeout_s=30, what="readyz to name the bus")
        assert ready["status"] == "degraded" and ready["checks"]["bus"].startswith("down")
        # Kafka stays down for a full minute while the village keeps recording.
        written = 0
        while time.monotonic() - down_since < OUTAGE_S:
            r = httpx.post(
                f"{registry.url}/registry/households",
                headers=admin_headers(),
                json={"village_code": village, "members": 2},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            written += 1
            time.sleep(5)
        assert written >= 10
        assert backlog(registry.url) >= written
    finally:
        server("kafka", "start")
    back = time.monotonic()
    wait_for(lambda: backlog(registry.url) == 0, timeout_s=DRAIN_BOUND_S, what="outbox to drain")
    wait_count(aggregator.url, village, 1 + written, timeout_s=DRAIN_BOUND_S)
    print(
        f"\nkafka-outage: down {OUTAGE_S}s, {written} writes accepted (2xx) while down, "
        f"outbox drained and view caught up {time.monotonic() - back:.1f}s after restart"
    )
    assert httpx.get(f"{registry.url}/readyz", timeout=15).json()["status"] == "ready"


def test_store_down_is_503_with_retry_after_and_nothing_half_written(
    processes: Callable[..., LumbungProcess], kafka_bootstrap: str, mongo_url: str, unique: str
) -> None:
    env = distributed_env(kafka_bootstrap, mongo_url, unique)
    registry = processes("services.registry", env, "registry")
    aggregator = processes("services.aggregator", env, "aggregator")
    village = fresh_village()
    register(registry.url, village, 2)
    wait_count(aggregator.url, village, 2)

    server("ferretdb", "stop")
    try:
        r = httpx.get(f"{registry.url}/readyz", timeout=30)
        assert r.status_code == 503
        assert "store" in r.json()["down"]
        refused = httpx.post(
            f"{registry.url}/registry/households",
            headers=admin_headers(),
            json={"village_code": village, "members": 2},
            timeout=30,
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in refused.text
    finally:
        server("ferretdb", "start")

    def recovered() -> bool:
        r = httpx.get(f"{registry.url}/readyz", timeout=30)
        return r.status_code == 200

    wait_for(recovered, timeout_s=60, what="registry to be ready again")
    listed = httpx.get(
        f"{registry.url}/registry/households?village_code={village}",
        headers=admin_headers(),
        timeout=15,
    ).json()["items"]
    assert len(listed) == 2  # the refused write left nothing behind
    ok = httpx.post(
        f"{registry.url}/registry/households",
        headers=admin_headers(),
        json={"village_code": village, "members": 2},
        timeout=30,
    )
    assert ok.status_code == 201
    wait_count(aggregator.url, village, 3, timeout_s=60)
    assert count(aggregator.url, village) == 3
