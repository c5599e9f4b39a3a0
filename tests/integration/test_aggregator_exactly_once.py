"""Exactly once in effect: duplicates, a crash between the store write and the offset
commit, and a full replay all leave the read model identical to one clean pass.
Run on both adapter pairs: in-process bus + SQLite, and real Kafka + FerretDB."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import READ_MODEL, scan
from services.aggregator.replay import replay
from services.aggregator.service import SERVICE, TOPICS
from shared.consumer import ConsumerWorker
from shared.events.catalogue import decode_event
from shared.ports.bus import Bus
from shared.ports.store import Store
from shared.runtime import Runtime, bootstrap
from shared.settings import Settings
from tests.scenario import messages, scenario

TODAY = date(2026, 11, 15)


def snapshot(store: Store, district: str, tag: str) -> dict[str, list[dict]]:
    """This test's documents of the read model (the Kafka log is shared with other tests)."""

    def ours(doc: dict) -> bool:
        key = str(doc["_id"])
        return key.startswith((tag, district)) or doc.get("village_code", "").startswith(district)

    return {
        name: sorted((d for d in scan(store, name, {}) if ours(d)), key=lambda d: d["_id"])
        for name in READ_MODEL
        if name != "agg_state"
    }


@pytest.fixture
def runtime(store: Store, bus: Bus, tmp_path: Path, unique: str) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path, consumer_group=f"agg-{unique}", view_months=12)
    rt = bootstrap(
        settings, [SERVICE], label="aggregator", store=store, bus=bus, clock=lambda: TODAY
    )
    rt.start(background=False)
    yield rt
    rt.stop()


def worker(rt: Runtime) -> ConsumerWorker:
    return ConsumerWorker(
        rt.bus,
        rt.settings.consumer_group,
        TOPICS,
        aggregator_of(rt).projector,
        batch=150,
        poll_timeout_s=1.0,
    )


def consume_all(rt: Runtime) -> None:
    w = worker(rt)
    w.run_until_idle(idle_polls=3)
    w.stop()


def test_duplicates_crash_before_commit_and_replay_leave_the_same_view(
    runtime: Runtime, unique: str
) -> None:
    district, tag = f"0{random.randrange(1000):03d}", f"{unique}-"
    events = scenario(seed=11, district=district, tag=tag)
    bus = runtime.bus
    bus.ensure_topics(list(TOPICS))
    bus.publish(messages(events))
    consume_all(runtime)
    clean = snapshot(runtime.store, district, tag)
    assert len(clean["agg_ledgers"]) == 24
    assert clean["agg_village_months"] and clean["agg_district_months"]

    # 1. every event delivered again (about 10 % twice more), in another order
    rng = random.Random(3)
    again = events + rng.sample(events, len(events) // 10)
    rng.shuffle(again)
    bus.publish(messages(again))
    consume_all(runtime)
    assert snapshot(runtime.store, district, tag) == clean

    # 2. a consumer "killed" after its store write, before its commit: the batch comes back
    bus.publish(messages(rng.sample(events, 200)))
    crashing = worker(runtime)
    consumer = crashing._ensure_consumer()
    records: list = []
    for _ in range(20):
        records += consumer.poll(200, 1.0)
        if len(records) >= 200:
            break
    assert records
    aggregator_of(runtime).projector.apply([decode_event(r.value) for r in records])
    consumer.close()  # no commit
    consume_all(runtime)
    assert snapshot(runtime.store, district, tag) == clean

    # 3. a full rebuild from the beginning of the log gives identical documents
    result = replay(runtime, batch=500)
    assert result.events >= len(events)
    assert snapshot(runtime.store, district, tag) == clean
