"""One contract, both bus adapters: the durable in-process log and real Kafka."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.consumer import ConsumerWorker
from shared.ports.bus import Bus, BusUnavailable, Consumer, Message, Record
from shared.ports.store import CollectionSpec
from shared.relay import OutboxRelay
from tests.servers import server


def consume(consumer: Consumer, n: int, timeout_s: float = 30) -> list[Record]:
    """Poll until n records arrived (a Kafka group join takes a moment) or time is up."""
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        got.extend(consumer.poll(n - len(got), 0.5))
    return got


def publish_numbered(bus: Bus, topic: str, keys: list[str], per_key: int) -> None:
    bus.ensure_topics([topic])
    bus.publish([Message(topic, k, f"{k}:{i}".encode()) for i in range(per_key) for k in keys])


def test_order_is_kept_per_key(bus: Bus, unique: str) -> None:
    topic = f"t.order.{unique}"
    keys = [f"320405200{i}" for i in range(5)]
    publish_numbered(bus, topic, keys, 40)
    consumer = bus.consumer(f"g-{unique}", [topic])
    records = consume(consumer, 200)
    consumer.close()
    assert len(records) == 200
    for key in keys:
        seen = [int(r.value.decode().split(":")[1]) for r in records if r.key == key]
        assert seen == list(range(40)), key
    assert len({r.partition for r in records if r.key == keys[0]}) == 1


def test_uncommitted_records_are_redelivered_after_a_restart(bus: Bus, unique: str) -> None:
    topic, group = f"t.redeliver.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001", "3204052002"], 10)
    first = bus.consumer(group, [topic])
    assert len(consume(first, 20)) == 20
    first.close()  # crashed before commit
    second = bus.consumer(group, [topic])
    again = consume(second, 20)
    assert sorted(r.value for r in again) == sorted(
        f"{k}:{i}".encode() for k in ("3204052001", "3204052002") for i in range(10)
    )
    second.commit()
    second.close()
    publish_numbered(bus, topic, ["3204052003"], 3)
    third = bus.consumer(group, [topic])
    fresh = consume(third, 3)
    assert sorted(r.value for r in fresh) == [b"3204052003:0", b"3204052003:1", b"3204052003:2"]
    assert third.poll(10, 0.5) == []
    third.close()


def test_lag_counts_what_is_not_yet_consumed(bus: Bus, unique: str) -> None:
    topic, group = f"t.lag.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001"], 5)
    consumer = bus.consumer(group, [topic])
    got = consume(consumer, 5)
    assert len(got) == 5
    assert sum(consumer.lag().values()) == 0
    publish_numbered(bus, topic, ["3204052001"], 4)
    time.sleep(0.5)
    assert sum(consumer.lag().values()) == 4
    consumer.close()


def test_lag_counts_what_a_poll_left_behind(bus: Bus, unique: str) -> None:
    """Records fetched ahead but not yet returned by poll are still lag (a replay stops
    when there is none)."""
    topic, group = f"t.lagleft.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001"], 30)  # one key: one partition
    consumer = bus.consumer(group, [topic])
    assert len(consume(consumer, 10)) == 10
    assert sum(consumer.lag().values()) == 20
    assert len(consume(consumer, 20)) == 20
    assert sum(consumer.lag().values()) == 0
    consumer.close()


def test_backlog_counts_what_the_last_poll_left_behind(bus: Bus, unique: str) -> None:
    topic, group = f"t.backlog.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001"], 30)  # one key: one partition
    consumer = bus.consumer(group, [topic])
    assert len(consume(consumer, 10)) == 10
    assert consumer.backlog() == 20
    assert len(consume(consumer, 20)) == 20
    assert consumer.backlog() == 0
    consumer.close()


def test_a_commit_not_waited_for_is_covered_by_the_next(bus: Bus, unique: str) -> None:
    topic, group = f"t.nowait.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001"], 20)
    consumer = bus.consumer(group, [topic])
    assert len(consume(consumer, 10)) == 10
    consumer.commit(wait=False)
    assert len(consume(consumer, 5)) == 5
    consumer.commit(wait=False)
    assert len(consume(consumer, 5)) == 5
    consumer.commit()
    consumer.close()
    publish_numbered(bus, topic, ["3204052002"], 2)
    after = bus.consumer(group, [topic])
    assert sorted(r.value for r in consume(after, 2)) == [b"3204052002:0", b"3204052002:1"]
    assert after.poll(10, 0.5) == []
    after.close()


class _Backlogs:
    """A handler that only notes the backlog each batch was given."""

    def __init__(self) -> None:
        self.seen: list[int | None] = []

    def apply(self, events: object, *, backlog: int | None = None) -> None:
        self.seen.append(backlog)

    def tick(self) -> None:
        pass


def test_a_worker_stopped_behind_resumes_where_it_stopped(bus: Bus, unique: str) -> None:
    """Batches with records waiting behind them commit without waiting for the answer;
    stopping the worker there must still leave nothing lost and nothing delivered twice."""
    topic, group = f"t.behind.{unique}", f"g-{unique}"
    publish_numbered(bus, topic, ["3204052001"], 30)  # not events: dead letters, not kept
    handler = _Backlogs()
    worker = ConsumerWorker(bus, group, [topic], handler, batch=10, publish_dead_letters=False)
    deadline = time.monotonic() + 30
    while worker.processed < 10 and time.monotonic() < deadline:
        worker.step()
    done = worker.processed
    assert 10 <= done < 30
    assert handler.seen[-1] == 30 - done  # records waiting: this commit was not waited for
    worker.stop()
    consumer = bus.consumer(group, [topic])
    rest = consume(consumer, 30 - done)
    assert [r.offset for r in rest] == list(range(done, 30))
    assert consumer.poll(10, 0.5) == []
    consumer.close()


@contextmanager
def bus_outage(bus: Bus, tmp_path: Path) -> Iterator[None]:
    """Make the bus really unavailable: lock the embedded log file, or stop the broker."""
    if isinstance(bus, InProcessBus):
        blocker = sqlite3.connect(tmp_path / "bus.sqlite3", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    else:
        server("kafka", "stop")
        try:
            yield
        finally:
            server("kafka", "start")


def test_outbox_drains_after_the_bus_comes_back(bus: Bus, unique: str, tmp_path: Path) -> None:
    if isinstance(bus, InProcessBus):
        bus.close()
        bus = InProcessBus(tmp_path / "bus.sqlite3", partitions=3, busy_timeout_s=0.2)
    store = SqliteStore(tmp_path / "outbox.sqlite3")
    store.ensure([CollectionSpec("things", outbox=True)])
    topic = "lumbung.registry.v1"
    bus.ensure_topics([topic])
    consumer = bus.consumer(f"g-{unique}", [topic], from_beginning=False)
    consumer.poll(1, 1.0)  # join the group before anything is published
    relay = OutboxRelay(store, bus, label="test")

    def write(i: int) -> None:
        store.insert(
            "things",
            {"_id": f"{unique}-{i}"},
            command_id=f"c{i}",
            events=[
                {
                    "id": f"{unique}-e{i}",
                    "source": "/lumbung/registry",
                    "villagecode": "3204052001",
                    "type": "lumbung.registry.household_registered.v1",
                    "data": {},
                }
            ],
        )

    with bus_outage(bus, tmp_path):
        for i in range(5):
            write(i)
        with pytest.raises(BusUnavailable):
            relay.drain_once()
        assert store.outbox_backlog() == 5
    write(5)
    deadline = time.monotonic() + 60
    while store.outbox_backlog() and time.monotonic() < deadline:
        try:
            relay.drain_once()
        except BusUnavailable:
            time.sleep(1)
    assert store.outbox_backlog() == 0
    values = [r.value for r in consume(consumer, 6, timeout_s=60)]
    ids = sorted(v.decode().split('"id":"')[1].split('"')[0] for v in values)
    assert ids == sorted(f"{unique}-e{i}" for i in range(6))
    consumer.close()
    bus.close()
