"""The outbox under SIGKILL: the registry is killed right after it answers 201 (or while a
request is in flight) over 200 trials. Every acknowledged write reaches the topic (0
missing); nothing the client was never told about appears (0 phantom): a request cut off
by the kill is retried with its Idempotency-Key until it is acknowledged, and a refused
(4xx) request must never appear."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import httpx2 as httpx

from shared.adapters.kafka_bus import KafkaBus
from tests.integration.conftest import admin_headers, distributed_env, fresh_village
from tests.servers import ForkLauncher

TRIALS = 200


def post(url: str, body: dict, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/registry/households",
        json=body,
        timeout=10,
        headers={**admin_headers(), "Idempotency-Key": key},
    )


def test_every_acknowledged_write_reaches_the_topic_and_nothing_else(
    kafka_bootstrap: str, mongo_url: str, unique: str, tmp_path: Path
) -> None:
    launcher = ForkLauncher(distributed_env(kafka_bootstrap, mongo_url, unique), tmp_path)
    try:
        run_trials(launcher, kafka_bootstrap, unique)
    finally:
        launcher.close()


def run_trials(launcher: ForkLauncher, kafka_bootstrap: str, unique: str) -> None:
    registry = launcher.start("services.registry")
    village = fresh_village()
    httpx.post(
        f"{registry.url}/registry/villages",
        headers=admin_headers(),
        timeout=10,
        json={
            "village_code": village,
            "name": "Desa Kilat",
            "district_code": village[:4],
            "district_name": "Kabupaten Uji",
        },
    ).raise_for_status()
    rng = random.Random(2026)
    acknowledged: set[str] = set()
    refused: set[str] = set()
    kills_after_ack = kills_in_flight = retries = 0
    for trial in range(TRIALS):
        household = f"hh-{unique}-{trial:04d}"
        key = f"kill-{unique}-{trial}"
        if trial % 10 == 9:  # a refused write, killed right after its 422
            refused.add(household)
            r = post(
                registry.url,
                {"village_code": village, "members": 0, "household_id": household},
                key,
            )
            assert r.status_code == 422
            registry.kill()
        elif trial % 2 == 0:  # killed right after the 201
            r = post(
                registry.url,
                {"village_code": village, "members": 2, "household_id": household},
                key,
            )
            assert r.status_code == 201, r.text
            acknowledged.add(household)
            registry.kill()
            kills_after_ack += 1
        else:  # killed at a random moment while the request is in flight
            body = {"village_code": village, "members": 3, "household_id": household}
            killer = threading.Timer(rng.uniform(0.0, 0.02), registry.kill)
            killer.start()
            try:
                r = post(registry.url, body, key)
                if r.status_code == 201:
                    acknowledged.add(household)
            except httpx.HTTPError:
                pass
            killer.join()
            kills_in_flight += 1
            if household not in acknowledged:
                retries += 1
                registry = launcher.start("services.registry")
                r = post(registry.url, body, key)
                assert r.status_code == 201, r.text
                acknowledged.add(household)
                registry.kill()
        registry = launcher.start("services.registry")

    # let the last incarnation drain its outbox, then read the whole topic
    households: set[str] = set()
    bus = KafkaBus(kafka_bootstrap, partitions=3)
    consumer = bus.consumer(f"audit-{unique}", ["lumbung.registry.v1"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not acknowledged <= households:
        for record in consumer.poll(1000, 1.0):
            household = json.loads(record.value)["data"].get("household_id", "")
            if household.startswith(f"hh-{unique}-"):
                households.add(household)
    # whatever else is still in flight would arrive now: poll a little longer
    for _ in range(3):
        for record in consumer.poll(1000, 1.0):
            household = json.loads(record.value)["data"].get("household_id", "")
            if household.startswith(f"hh-{unique}-"):
                households.add(household)
    consumer.close()
    bus.close()
    missing = acknowledged - households
    phantom = households - acknowledged
    print(
        f"\noutbox-kill: trials={TRIALS} kills_after_ack={kills_after_ack} "
        f"kills_in_flight={kills_in_flight} retried={retries} acknowledged="
        f"{len(acknowledged)} on_topic={len(households)} missing={len(missing)} "
        f"phantom={len(phantom)} refused_on_topic={len(refused & households)}"
    )
    assert not missing
    assert not phantom
    assert not refused & households
