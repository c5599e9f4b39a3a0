"""UU PDP 27/2022: after real writes in both modes, no KK number and no name is found in
clear text in SQLite, MongoDB, any Kafka topic or any process log. The scanner is first
shown to find planted values, so a clean result means something."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
from pymongo import MongoClient

from shared.adapters.kafka_bus import KafkaBus
from shared.ports.bus import Message
from tests.integration.conftest import (
    admin_headers,
    distributed_env,
    embedded_env,
    fresh_village,
)
from tests.integration.test_walking_skeleton import wait_count
from tests.pii_scan import (
    Findings,
    mongo_databases,
    scan_files,
    scan_kafka,
    scan_mongo,
)
from tests.servers import LumbungProcess

KK = "3204050101097766"
HEAD = "Ibu Sulastri Wibowo"
PARTICIPANT = "Bapak Darmawan Saputra"


def test_the_scanner_finds_planted_personal_data(
    tmp_path: Path, kafka_bootstrap: str, mongo_url: str, unique: str
) -> None:
    planted = [f"99{uuid.uuid4().int % 10**14:014d}", f"Nyai Tanam {unique}"]
    db = tmp_path / "planted.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (doc TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (json.dumps({"kk": planted[0]}),))
    log = tmp_path / "service.log"
    log.write_text(f"INFO something about {planted[1]}\n")
    client: MongoClient = MongoClient(mongo_url)
    client[f"plant_{unique}"]["docs"].insert_one({"nested": {"name": planted[1]}})
    client.close()
    topic = f"plant.{unique}"
    bus = KafkaBus(kafka_bootstrap, partitions=1)
    bus.ensure_topics([topic])
    bus.publish([Message(topic, "k", json.dumps({"kk": planted[0]}).encode())])
    bus.close()

    found = Findings()
    scan_files([db, log], planted, found)
    scan_mongo(mongo_url, [f"plant_{unique}"], planted, found)
    scan_kafka(kafka_bootstrap, [topic], planted, found)
    where = {w.split(":")[0] for w, _ in found.hits}
    assert where == {"file", "mongo", "kafka"}
    assert {n for _, n in found.hits} == set(planted)
    MongoClient(mongo_url).drop_database(f"plant_{unique}")


def write_people(api: dict[str, str], village: str) -> str:
    """A village, a household with its KK number and head's name (with and without an
    Idempotency-Key), a programme and an enrolment with the participant's name."""
    headers = admin_headers()
    httpx.post(
        f"{api['registry']}/registry/villages",
        headers=headers,
        timeout=30,
        json={
            "village_code": village,
            "name": "Desa Rahasia",
            "district_code": village[:4],
            "district_name": "Kabupaten Uji",
        },
    ).raise_for_status()
    household = httpx.post(
        f"{api['registry']}/registry/households",
        timeout=30,
        headers={**headers, "Idempotency-Key": f"pii-{village}"},
        json={"village_code": village, "members": 4, "kk_number": KK, "head_name": HEAD},
    )
    household.raise_for_status()
    assert household.json()["kk_last4"] == KK[-4:] and household.json()["head_name"] == HEAD
    hh = household.json()["household_id"]
    httpx.post(
        f"{api['registry']}/registry/households",
        headers=headers,
        timeout=30,
        json={
            "village_code": village,
            "members": 2,
            "kk_number": KK[:-1] + "5",
            "head_name": HEAD + " Muda",
        },
    ).raise_for_status()
    program = httpx.post(
        f"{api['training']}/training/programs",
        headers=headers,
        timeout=30,
        json={
            "title": "Pelatihan",
            "organizer": "RKDD",
            "village_codes": [village],
            "start_on": "2026-01-10",
            "end_on": "2026-01-12",
            "topics": ["media sosial"],
        },
    )
    program.raise_for_status()
    httpx.post(
        f"{api['training']}/training/programs/{program.json()['program_id']}/enrolments",
        headers={**headers, "Idempotency-Key": f"pii-enrol-{village}"},
        timeout=30,
        json={"household_id": hh, "village_code": village, "participant_name": PARTICIPANT},
    ).raise_for_status()
    return hh


def test_no_kk_number_or_name_in_clear_anywhere(
    processes: Callable[..., LumbungProcess],
    kafka_bootstrap: str,
    mongo_url: str,
    unique: str,
    tmp_path: Path,
) -> None:
    needles = [KK, KK[:-1] + "5", HEAD, PARTICIPANT, "Sulastri", "Darmawan"]
    env = distributed_env(kafka_bootstrap, mongo_url, unique)
    api = {
        name: processes(f"services.{name}", env, name).url
        for name in ("registry", "training", "aggregator")
    }
    village = fresh_village()
    write_people(api, village)
    wait_count(api["aggregator"], village, 2)

    data = tmp_path / "embedded"
    platform = processes("services", embedded_env(data), "embedded")
    embedded_village = fresh_village()
    write_people({"registry": platform.url, "training": platform.url}, embedded_village)
    wait_count(platform.url, embedded_village, 2)
    platform.stop()

    found = Findings()
    scan_mongo(mongo_url, mongo_databases(mongo_url, f"it_{unique}"), needles, found)
    scan_files(sorted(data.glob("*")), needles, found)
    scan_files(sorted(tmp_path.glob("*.log")), needles, found)
    scan_kafka(
        kafka_bootstrap,
        [
            f"lumbung.{s}.v1"
            for s in ("registry", "training", "commerce", "agriculture", "livestock", "deadletter")
        ],
        needles,
        found,
    )
    print(f"\npii-scan: scanned {found.scanned}; hits {len(found.hits)}")
    # at least this test's own distributed writes: village, 2 households, programme, enrolment
    # (the topics may hold more from earlier tests; a fresh broker holds exactly these)
    assert found.scanned.get("mongo", 0) >= 5 and found.scanned.get("kafka", 0) >= 5
    assert found.scanned.get("file", 0) >= 4
    assert found.hits == []
