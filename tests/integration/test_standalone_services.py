"""Each domain service runs alone (distributed mode, `python -m services.<name>`) on real
Kafka and FerretDB: one write through HTTP, and its event appears on the service's topic."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx2 as httpx
import pytest

from shared.adapters.kafka_bus import KafkaBus
from shared.events.envelope import topic_for
from tests.integration.conftest import admin_headers, distributed_env, fresh_village
from tests.servers import LumbungProcess, wait_for

WRITES: dict[str, tuple[str, Callable[[str], dict], str, str]] = {
    "registry": (
        "/registry/villages",
        lambda v: {
            "village_code": v,
            "name": "Desa Mandiri",
            "district_code": v[:4],
            "district_name": "Kabupaten Uji",
        },
        "village_code",
        "village_registered",
    ),
    "training": (
        "/training/programs",
        lambda v: {
            "title": "Pelatihan Media Sosial",
            "organizer": "Ruang Komunitas Digital Desa",
            "village_codes": [v],
            "start_on": "2023-09-29",
            "end_on": "2023-09-29",
            "topics": ["media sosial"],
        },
        "program_id",
        "program_created",
    ),
    "commerce": (
        "/commerce/businesses",
        lambda v: {
            "household_id": "hh-standalone",
            "village_code": v,
            "name": "Keripik Singkong Bu Ani",
            "category": "makanan",
        },
        "business_id",
        "business_registered",
    ),
    "agriculture": (
        "/agriculture/plots",
        lambda v: {
            "household_id": "hh-standalone",
            "village_code": v,
            "area_ha": 0.4,
            "land_status": "owned",
        },
        "plot_id",
        "plot_registered",
    ),
    "livestock": (
        "/livestock/herds",
        lambda v: {
            "household_id": "hh-standalone",
            "village_code": v,
            "species": "goat",
            "count": 5,
        },
        "herd_id",
        "herd_registered",
    ),
}


def find_event(
    bus: KafkaBus, topic: str, key: str, id_field: str, value: str, timeout_s: float = 60
) -> dict:
    consumer = bus.consumer(f"probe-{value}", [topic])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for record in consumer.poll(500, 0.5):
                # the shared log also holds other tests' deliberately invalid events
                try:
                    event = json.loads(record.value)
                except ValueError:
                    continue
                data = event.get("data") if isinstance(event, dict) else None
                if isinstance(data, dict) and data.get(id_field) == value:
                    assert record.key == key
                    return event
    finally:
        consumer.close()
    raise AssertionError(f"no event with {id_field}={value} on {topic}")


@pytest.mark.parametrize("service", sorted(WRITES))
def test_service_runs_alone_and_publishes_its_event(
    service: str,
    processes: Callable[..., LumbungProcess],
    kafka_bootstrap: str,
    mongo_url: str,
    unique: str,
) -> None:
    path, body, id_field, name = WRITES[service]
    proc = processes(
        f"services.{service}", distributed_env(kafka_bootstrap, mongo_url, unique), service
    )
    assert httpx.get(f"{proc.url}/readyz", timeout=15).json()["status"] == "ready"
    village = fresh_village()
    r = httpx.post(f"{proc.url}{path}", json=body(village), headers=admin_headers(), timeout=30)
    assert r.status_code == 201, r.text
    bus = KafkaBus(kafka_bootstrap, partitions=3)
    try:
        event = find_event(bus, topic_for(service), village, id_field, r.json()[id_field])
    finally:
        bus.close()
    assert event["type"] == f"lumbung.{service}.{name}.v1"
    assert event["villagecode"] == village
    written = f'lumbung_events_written_total{{service="{service}",type="{event["type"]}"}} 1.0'
    published = f'lumbung_events_published_total{{topic="{topic_for(service)}"}}'

    def counted() -> bool:
        # the relay counts after it has acknowledged the batch, a moment after the send
        text = httpx.get(f"{proc.url}/metrics", timeout=15).text
        return written in text and published in text

    wait_for(counted, timeout_s=15, what="the write and publish counters")
