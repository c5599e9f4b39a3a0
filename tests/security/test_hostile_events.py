"""Hostile events on real Kafka, read by the aggregator's consumer on real MongoDB (FerretDB).

Malformed records are published for the aggregator's consumer: broken JSON, bytes that are
not UTF-8, JSON that is no object, an unknown type, a bad envelope, a known type with the
wrong data, no key and no villagecode, a key that names another village, an empty value
(a tombstone) and a 5 MB event. Each must land on ``lumbung.deadletter.v1`` with its reason,
and a valid event published after them on the same partition must still be applied: the
consumer keeps running.

The consumer is the aggregator's own (``ConsumerWorker`` with the aggregator's projector, on
KafkaBus and MongoStore, a unique group), but it reads private copies of the registry and
commerce topics: the broker outlives a test run, and other tests read the real topics from
the beginning expecting only valid events there.

Kafka refuses a 5 MB message by default twice over: the producer's ``max_request_size`` and
the broker's ``message.max.bytes`` are both 1 MiB (the bus adapter raises ValueError, which is
not an outage). So the test raises its registry topic's ``max.message.bytes`` to 6 MiB and
publishes with a producer allowed 6 MiB: what does reach the topic is dead-lettered as too
large by the consumer, whose own limit is 1 MiB.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka import errors as kafka_errors
from kafka.admin import ConfigResource, ConfigResourceType

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import VILLAGES
from services.aggregator.service import SERVICE
from shared.commands import build_event
from shared.consumer import ConsumerWorker
from shared.events import catalogue as ev
from shared.events.catalogue import MAX_EVENT_BYTES
from shared.events.envelope import DEADLETTER_TOPIC, topic_for
from shared.ports.bus import Message
from shared.runtime import Runtime, bootstrap
from shared.settings import Settings
from tests.servers import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]

BIG = 5 * 1024 * 1024
TOPIC_LIMIT = 6 * 1024 * 1024
PARTITION = 0


def fresh_village() -> str:
    # A district no other test uses: the valid events here land in every aggregator that
    # reads these topics from the beginning, and must not change anyone's district 3204.
    return f"9901{random.randint(0, 999_999):06d}"


def village_event(village: str, event_id: str) -> dict[str, Any]:
    return build_event(
        ev.VillageRegistered(
            occurred_on=date(2026, 1, 5),
            village_code=village,
            name=f"Desa {village}",
            district_code=village[:4],
            district_name="Kabupaten Bandung",
        ),
        village_code=village,
        subject=None,
        event_id=event_id,
    )


@dataclass(frozen=True)
class Hostile:
    name: str
    topic: str
    key: bytes | None
    value: bytes | None
    reason: str  # what the dead letter's reason must say


def hostile_records(marker: str, registry: str, commerce: str) -> list[Hostile]:
    village = fresh_village()
    key = village.encode()
    good = village_event(village, f"{marker}-template")

    def envelope(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    without_village = {k: v for k, v in good.items() if k != "villagecode"}
    big = envelope(id=f"{marker}-big", data={**good["data"], "name": "x" * BIG})
    assert len(big) > BIG
    return [
        Hostile(
            "bad JSON", registry, key, f'{{"id": "{marker}-badjson", "type": '.encode(), "not JSON"
        ),
        Hostile(
            "not UTF-8",
            registry,
            key,
            b"\xff\xfe" + f"{marker}-latin1 \xe9".encode("latin-1"),
            "not JSON",
        ),
        Hostile(
            "not an object",
            commerce,
            key,
            json.dumps([f"{marker}-array"]).encode(),
            "not a JSON object",
        ),
        Hostile(
            "unknown type",
            registry,
            key,
            envelope(id=f"{marker}-unknown", type="lumbung.registry.village_teleported.v1"),
            "unknown event type",
        ),
        Hostile(
            "bad envelope",
            commerce,
            key,
            envelope(id=f"{marker}-envelope", type="DROP TABLE villages", specversion="0.3"),
            "bad envelope",
        ),
        Hostile(
            "wrong schema",
            registry,
            key,
            envelope(
                id=f"{marker}-schema",
                data={"occurred_on": "kemarin", "village_code": 3204, "name": None},
            ),
            "bad data for lumbung.registry.village_registered.v1",
        ),
        Hostile(
            "no key, no villagecode",
            registry,
            None,
            json.dumps({**without_village, "id": f"{marker}-novillage"}).encode(),
            "villagecode",
        ),
        Hostile(
            "key of another village",
            commerce,
            b"3301010001",
            envelope(id=f"{marker}-wrongkey"),
            "key does not match villagecode",
        ),
        Hostile("tombstone", registry, f"{marker}-tomb".encode(), None, "not JSON"),
        Hostile("5 MB", registry, key, big, f"too large: {len(big)} bytes > {MAX_EVENT_BYTES}"),
    ]


# fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unique() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class Aggregator:
    runtime: Runtime
    worker: ConsumerWorker
    registry: str  # the private topics the worker reads
    commerce: str
    private: list[str]  # every topic the tests made, deleted at the end

    def topic(self, name: str) -> str:
        """Another private topic, created now."""
        self.private.append(name)
        self.runtime.bus.ensure_topics([name])
        return name


@pytest.fixture(scope="module")
def aggregator(
    kafka_bootstrap: str, mongo_url: str, unique: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Aggregator]:
    """The aggregator's consumer in-process on KafkaBus + MongoStore, its loop running."""
    from pymongo import MongoClient

    from shared.adapters.kafka_bus import KafkaBus
    from shared.adapters.mongo_store import MongoStore

    database = f"t_hostile_{unique}"
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hostile-events"),
        consumer_group=f"hostile-{unique}",
        view_months=12,
    )
    rt = bootstrap(
        settings,
        [SERVICE],
        label="aggregator",
        store=MongoStore(mongo_url, database),
        bus=KafkaBus(kafka_bootstrap, partitions=3, session_timeout_ms=6000),
    )
    rt.start(background=False)  # collections ready; the worker below is the only consumer
    registry, commerce = (f"hostile-{unique}.{topic_for(s)}" for s in ("registry", "commerce"))
    worker = ConsumerWorker(
        rt.bus,
        settings.consumer_group,
        [registry, commerce],
        aggregator_of(rt).projector,
        batch=settings.consumer_batch,
    )
    rt.bus.ensure_topics([registry, commerce, DEADLETTER_TOPIC])
    worker.start()
    made = Aggregator(rt, worker, registry, commerce, [registry, commerce])
    yield made
    worker.stop()
    rt.close()
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=3000)
    try:
        client.drop_database(database)
    finally:
        client.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.delete_topics(made.private)
    except kafka_errors.KafkaError:
        pass  # best effort: a leftover private topic harms nobody
    finally:
        admin.close()


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    """A plain producer: it may send no key, a null value, and up to 6 MiB."""
    made = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, max_request_size=TOPIC_LIMIT, acks="all"
    )
    yield made
    made.close(timeout=10)


def raise_topic_limit(bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        resource = ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(TOPIC_LIMIT)}
        )
        admin.alter_configs([resource])
    finally:
        admin.close()


class DeadLetters:
    """Reads lumbung.deadletter.v1 from the beginning in its own group; keeps ours by marker."""

    def __init__(self, rt: Runtime, group: str, marker: str) -> None:
        self.consumer = rt.bus.consumer(group, [DEADLETTER_TOPIC])
        self.marker = marker
        self.found: dict[tuple[str, int, int], dict[str, Any]] = {}

    def by_origin(self) -> dict[tuple[str, int, int], dict[str, Any]]:
        """Ours so far (after one more poll), by the topic, partition and offset they had."""
        for record in self.consumer.poll(500, 0.5):
            body = json.loads(record.value)
            if self.marker in body["value"] or self.marker in (body["key"] or ""):
                self.found[(body["topic"], body["partition"], body["offset"])] = body
        return self.found

    def close(self) -> None:
        self.consumer.close()


# tests ----------------------------------------------------------------------------------------
def test_malformed_events_are_dead_lettered_with_their_reason_and_the_consumer_goes_on(
    aggregator: Aggregator, producer: KafkaProducer, kafka_bootstrap: str, unique: str
) -> None:
    marker = f"hostile-{unique}"
    registry, commerce = aggregator.registry, aggregator.commerce
    raise_topic_limit(kafka_bootstrap, registry)
    hostile = hostile_records(marker, registry, commerce)
    for h in hostile:
        producer.send(h.topic, key=h.key, value=h.value, partition=PARTITION)
    # Valid events after them, on the same partitions: reachable only past every bad record.
    followers = {topic: fresh_village() for topic in (registry, commerce)}
    for topic, village in followers.items():
        # A village_registered on the commerce topic is still a valid event: the consumer
        # does not care which topic an event arrives on, only what it is.
        event = village_event(village, f"{marker}-ok-{topic}")
        producer.send(
            topic, key=village.encode(), value=json.dumps(event).encode(), partition=PARTITION
        )
    producer.flush(timeout=30)

    store = aggregator.runtime.store
    wait_for(
        lambda: all(store.get(VILLAGES, v) is not None for v in followers.values()),
        timeout_s=120,
        what="the valid events published after the hostile ones to be applied",
    )
    inspector = DeadLetters(aggregator.runtime, f"dlq-{unique}", marker)
    try:
        # keyed by where the bad record was: a batch redelivered after a lost commit
        # dead-letters it again, which is fine (at least once), and counts once here
        letters = wait_for(
            lambda: len(inspector.by_origin()) >= len(hostile) and inspector.by_origin(),
            timeout_s=60,
            what=f"{len(hostile)} dead letters",
        )
    finally:
        inspector.close()

    assert len(letters) == len(hostile), [f["reason"] for f in letters.values()]
    for h in hostile:
        matches = [
            f
            for f in letters.values()
            if f["topic"] == h.topic and h.reason in f["reason"] and _is(h, f)
        ]
        assert len(matches) == 1, (h.name, h.reason, [f["reason"] for f in letters.values()])
        letter = matches[0]
        assert letter["partition"] == PARTITION
        assert letter["key"] == (h.key.decode() if h.key is not None else None)
        assert letter["size"] == len(h.value or b"")
        assert len(letter["value"]) <= 64 * 1024  # a sample, never the 5 MB
    worker = aggregator.worker
    assert worker._thread is not None and worker._thread.is_alive()
    assert worker.dead_letters >= len(hostile)


def _is(h: Hostile, letter: dict[str, Any]) -> bool:
    """The dead letter of this hostile record (its marker, or for a tombstone its key)."""
    if h.value is None:
        return letter["size"] == 0 and letter["key"] == h.key.decode()
    tag = h.value[:120].decode("utf-8", errors="replace")
    return letter["value"][:120] == tag


def test_kafka_refuses_5_mb_at_the_producer_and_at_the_broker(
    aggregator: Aggregator, kafka_bootstrap: str, unique: str
) -> None:
    """What the limits do before anything reaches a consumer (a private topic)."""
    topic = aggregator.topic(f"hostile-size-{unique}")
    big = b"x" * BIG
    # 1. the bus adapter (producer max_request_size 1 MiB): a ValueError, not an outage
    with pytest.raises(ValueError, match="MessageSizeTooLarge"):
        aggregator.runtime.bus.publish([Message(topic, "3204052001", big)])
    # 2. a producer allowed more, against the broker's default topic limit (1 MiB)
    generous = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=TOPIC_LIMIT)
    try:
        with pytest.raises(kafka_errors.MessageSizeTooLargeError):
            generous.send(topic, key=b"3204052001", value=big).get(timeout=30)
    finally:
        generous.close(timeout=5)
    # 3. the bus is still usable for normal events afterwards
    aggregator.runtime.bus.publish([Message(topic, "3204052001", b"{}")])


def test_json_the_parser_refuses_outright_is_dead_lettered_too(
    aggregator: Aggregator, producer: KafkaProducer, unique: str
) -> None:
    """On a topic of its own, so the stuck group blocks nothing else."""
    topic = aggregator.topic(f"hostile-poison-{unique}")
    village = fresh_village()
    for value in (b"[" * 100_000, b'{"id": ' + b"9" * 5000 + b"}"):
        producer.send(topic, key=village.encode(), value=value, partition=0)
    good = json.dumps(village_event(village, f"poison-ok-{unique}")).encode()
    producer.send(topic, key=village.encode(), value=good, partition=0)
    producer.flush(timeout=30)

    class Collect:
        ids: list[str] = []

        def apply(self, events: Any, *, backlog: int | None = None) -> None:
            self.ids.extend(e.id for e, _ in events)

        def tick(self) -> None:
            pass

    handler = Collect()
    worker = ConsumerWorker(aggregator.runtime.bus, f"poison-{unique}", [topic], handler)
    try:
        wait_for(lambda: worker.step() or handler.ids, timeout_s=60, what="the valid event")
    finally:
        worker.stop()
    assert handler.ids == [f"poison-ok-{unique}"]
    assert worker.dead_letters == 2
