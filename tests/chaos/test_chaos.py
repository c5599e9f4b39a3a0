"""Chaos: the demo district written through the five services (distributed: real Kafka and
FerretDB) while the aggregator is SIGKILLed at random moments and restarted, the Kafka broker
is hard-killed and restarted, and a sample of the records is delivered twice. Afterwards:

- every event the services recorded (the ids in their own documents) is on the topics, and
  nothing else is (0 missing, 0 phantom);
- every household ledger, village, programme, enrolment, village month and district month of
  the live read model equals an offline recomputation: the recorded events, each once, folded
  by the aggregator's own code into a fresh read model (SQLite): 0 mismatches;
- no KK number or name (the demo has no NIK) is in clear text in MongoDB, on any topic or in
  any log;
- facts about the demo's households that name another village than theirs, put straight
  onto the topics (past the services' check) before, during and after the writes, never
  count: the live read model, ledgers' set-aside folds aside, equals the recomputation from
  the services' events alone, and the district's set-aside list names each one.

The demo seed is random (printed; ``LUMBUNG_CHAOS_SEED`` repeats one). Size:
``LUMBUNG_CHAOS_HOUSEHOLDS`` (default 4,700 households, more if the random seed's
households are thin, so that there are at least ``LUMBUNG_CHAOS_MIN_EVENTS``, 100k, events).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from pymongo import MongoClient

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import DIRTY, DISTRICT_DIRTY, READ_MODEL, STATE, scan
from services.aggregator.service import SERVICE, TOPICS
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.mongo_store import MARKERS, MongoStore
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role, mint_token
from shared.commands import build_event
from shared.consumer import ConsumerWorker
from shared.demo import DISTRICT_CODE, DemoConfig, generate
from shared.demo.seed import send_commands
from shared.demo.transport import HttpClient, Reply
from shared.events import catalogue as ev
from shared.events.envelope import topic_for
from shared.ports.bus import Message
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.integration.conftest import SECRET, distributed_env
from tests.pii_scan import Findings, mongo_databases, scan_files, scan_kafka, scan_mongo
from tests.servers import ForkedProcess, ForkLauncher, server, wait_for

SERVICES = ("registry", "training", "commerce", "agriculture", "livestock")
HOUSEHOLDS = int(os.environ.get("LUMBUNG_CHAOS_HOUSEHOLDS", "4700"))
VILLAGES = 12
MIN_EVENTS = int(os.environ.get("LUMBUNG_CHAOS_MIN_EVENTS", "100000"))
MIN_AGGREGATOR_KILLS = 20
MIN_KAFKA_KILLS = 3
DUPLICATE_SHARE = 0.015  # of the records seen, re-published once more
CONCURRENCY = 12
KILL_EVERY_S = float(os.environ.get("LUMBUNG_CHAOS_KILL_EVERY_S", "12"))  # on average
TODAY = date.today()
FOREIGN_FACTS = 300  # put straight onto the topics, in three waves
FOREIGN_VILLAGE = "3205010001"  # of no demo district


def foreign_facts(commands: list[Any], seed: int) -> list[tuple[str, bytes, bytes]]:
    """Facts about registered demo households that name another village than theirs (a
    demo village or one of another district), as (topic, key, value) records."""
    rng = random.Random(seed)
    homes = [
        (c.body["household_id"], c.body["village_code"])
        for c in commands
        if c.path == "/registry/households"
    ]
    villages = [*sorted({v for _, v in homes}), FOREIGN_VILLAGE]
    records = []
    for i in range(FOREIGN_FACTS):
        household, home = rng.choice(homes)
        village = rng.choice([v for v in villages if v != home])
        day = TODAY - timedelta(days=rng.randrange(1, 400))
        kg = rng.randrange(10, 2000)
        payload: ev.Payload = (
            ev.ProduceSold(
                household_id=household,
                crop="padi",
                kg=kg,
                price_per_kg=6000,
                amount=kg * 6000,
                channel="shopee",
                occurred_on=day,
            ),
            ev.GreenPracticeAdopted(household_id=household, practice="biogas", occurred_on=day),
            ev.CropLossReported(
                household_id=household, crop="padi", cause="flood", kg_lost=kg, occurred_on=day
            ),
        )[i % 3]
        wire = build_event(
            payload, village_code=village, subject=household, event_id=f"ev-foreign-{i:05d}"
        )
        topic = topic_for(wire["source"].rsplit("/", 1)[-1])
        records.append((topic, village.encode(), json.dumps(wire).encode()))
    return records


def counted_only(model: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """The read model without the ledgers' set-aside folds: what the views count."""
    ledgers = {
        k: {f: v for f, v in d.items() if f not in ("aside", "aside_district")}
        for k, d in model.get("agg_ledgers", {}).items()
    }
    return {**model, "agg_ledgers": ledgers}


def set_aside_ids(url: str, token: str, district: str) -> set[str]:
    listed: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(
            f"{url}/resilience/districts/{district}/set-aside",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        listed.update(
            i for item in page["items"] for f in item["set_aside"] for i in f["event_ids"]
        )
        cursor = page["next_cursor"]
        if not cursor:
            return listed


# --- the load: the demo stream through the services' HTTP APIs ---------------------------
class Services:
    """A client for ``send_commands`` that sends each command to its own service, and
    retries a request cut off in transit with the same Idempotency-Key."""

    def __init__(self, urls: dict[str, str], token: str) -> None:
        self.clients = {name: HttpClient(url, token, timeout_s=60) for name, url in urls.items()}
        self.retried = 0

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> Reply:
        client = self.clients[path.split("/")[1]]
        for attempt in range(8):
            try:
                reply = await client.request(method, path, body, key=key, token=token)
            except OSError:
                reply = None
            if reply is not None and reply.status not in (429, 503):
                return reply
            self.retried += 1
            await asyncio.sleep(min(5.0, 0.5 * 2**attempt))
        raise AssertionError(f"{method} {path} kept failing")

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


# --- Kafka helpers (kafka-python directly: positions, a raw duplicator) ---------------------
def partitions(bootstrap: str) -> list[TopicPartition]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return [
            TopicPartition(topic, p)
            for topic in TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
    finally:
        consumer.close()


def end_offsets(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def start_group_at(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit ``offsets`` for a new consumer group, so it reads only what follows (the test
    servers' topics also hold earlier tests' events)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.assign(list(offsets))
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()})
    finally:
        consumer.close()


def group_lag(bootstrap: str, group: str, tps: list[TopicPartition]) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        ends = consumer.end_offsets(tps)
        return sum(max(0, ends[tp] - (consumer.committed(tp) or 0)) for tp in tps)
    finally:
        consumer.close()


def read_range(
    bootstrap: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> list[tuple[str, bytes | None, bytes]]:
    """Every record between two positions: (topic, key, value)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    out: list[tuple[str, bytes | None, bytes]] = []
    try:
        todo = [tp for tp in start if end.get(tp, 0) > start[tp]]
        consumer.assign(todo)
        for tp in todo:
            consumer.seek(tp, start[tp])
        left = set(todo)
        deadline = time.monotonic() + 300
        while left and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=1000, max_records=5000).items():
                for r in records:
                    if r.offset < end[tp]:
                        out.append((tp.topic, r.key, r.value))
                if consumer.position(tp) >= end[tp]:
                    left.discard(tp)
        assert not left, f"could not read the topics to their end: {left}"
    finally:
        consumer.close()
    return out


@dataclass
class Duplicator:
    """Re-publishes a random sample of the records it sees (same topic, key and value) with
    a raw producer, while everything else runs: the aggregator meets them at any moment."""

    bootstrap: str
    start: dict[TopicPartition, int]
    share: float
    seen: int = 0
    sent: int = 0
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(8)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=10)
        consumer.assign(list(self.start))
        for tp, off in self.start.items():
            consumer.seek(tp, off)
        futures: list[Any] = []
        try:
            while not self.stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500, max_records=2000)
                except Exception:  # the broker is being killed: try again
                    time.sleep(1)
                    continue
                for tp, records in batches.items():
                    for r in records:
                        self.seen += 1
                        if rng.random() < self.share:
                            futures.append(producer.send(tp.topic, key=r.key, value=r.value))
                futures = self._settle(futures)
            producer.flush(timeout=60)
            self._settle(futures, wait=True)
        finally:
            consumer.close()
            producer.close(timeout=10)

    def _settle(self, futures: list[Any], wait: bool = False) -> list[Any]:
        pending = []
        for f in futures:
            if not (f.is_done or wait):
                pending.append(f)
                continue
            try:
                f.get(timeout=60)
                self.sent += 1
            except Exception:
                self.failed += 1
        return pending


# --- the chaos ------------------------------------------------------------------------------
@dataclass
class Chaos:
    launcher: ForkLauncher
    aggregator: ForkedProcess
    aggregator_kills: int = 0
    kafka_kills: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # one broker outage at a time: two plan points close together used to overlap, and the
    # second restart then failed on the broker the first one had just started
    kafka_lock: threading.Lock = field(default_factory=threading.Lock)

    def kill_aggregator_forever(self, mean_s: float) -> None:
        rng = random.Random(20)
        while not self.stop.wait(rng.uniform(0.2, 2 * mean_s)):
            with self.lock:
                self.aggregator.kill()
                self.aggregator_kills += 1
                try:
                    self.aggregator = self.launcher.start("services.aggregator", timeout_s=60)
                except RuntimeError as exc:
                    self.errors.append(str(exc)[-500:])
                    return

    def kill_kafka(self, down_s: float) -> None:
        with self.kafka_lock:
            server("kafka", "kill")
            self.kafka_kills += 1
            time.sleep(down_s)
            try:
                server("kafka", "start")
            except subprocess.CalledProcessError as exc:  # fails the test, not just the thread
                self.errors.append(f"kafka did not start again: {exc}")


def outbox_backlog(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("lumbung_outbox_backlog{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- the offline recomputation --------------------------------------------------------------
def recorded_event_ids(mongo_url: str, databases: list[str]) -> set[str]:
    """The ids of the events the services recorded: each write's command id is its event
    id (``_cmds`` of every document, ``event_id`` of recorded facts)."""
    client: MongoClient = MongoClient(mongo_url)
    ids: set[str] = set()
    try:
        for name in databases:
            db = client[name]
            for coll in db.list_collection_names():
                if coll.startswith("_") or coll == "idempotency":
                    continue
                for doc in db[coll].find({}, {"_cmds": 1, "event_id": 1}):
                    ids.update(c for c in doc.get("_cmds", []) if str(c).startswith("ev-"))
                    if doc.get("event_id"):
                        ids.add(str(doc["event_id"]))
    finally:
        client.close()
    return ids


class Offline:
    """A fresh read model (SQLite) fed through the aggregator's own consumer and projector."""

    def __init__(self, data_dir: Path) -> None:
        settings = Settings(data_dir=data_dir, consumer_group="offline", view_months=12)
        self.store = SqliteStore(data_dir / "offline.sqlite3")
        self.bus = InProcessBus(data_dir / "offline-bus.sqlite3", partitions=3)
        self.rt = bootstrap(settings, [SERVICE], label="aggregator", store=self.store, bus=self.bus)
        self.rt.start(background=False)
        self.bus.ensure_topics(list(TOPICS))

    def fold(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        messages = [Message(topic, (key or b"").decode(), value) for topic, key, value in records]
        for i in range(0, len(messages), 5000):
            self.bus.publish(messages[i : i + 5000])
        projector = aggregator_of(self.rt).projector
        worker = ConsumerWorker(self.bus, "offline", TOPICS, projector, batch=2000)
        worker.run_until_idle(idle_polls=3)
        worker.stop()


def read_model(store: Store) -> dict[str, dict[str, dict]]:
    return {
        name: {str(d["_id"]): d for d in scan(store, name, {})}
        for name in READ_MODEL
        if name not in (STATE, DIRTY, DISTRICT_DIRTY)
    }


def compare(live: dict[str, dict[str, dict]], offline: dict[str, dict[str, dict]]) -> Counter:
    mismatches: Counter[str] = Counter()
    for name, expected in offline.items():
        got = live.get(name, {})
        for key in set(expected) | set(got):
            if _canonical(expected.get(key)) != _canonical(got.get(key)):
                mismatches[name] += 1
                if mismatches[name] <= 3:
                    print(f"MISMATCH {name}/{key}:{_difference(got.get(key), expected.get(key))}")
    return mismatches


def _difference(live: dict | None, offline: dict | None) -> str:
    """The fields that differ (the whole document when one side has none)."""
    if live is None or offline is None:
        return f"\n  live    {live}\n  offline {offline}"[:2000]
    return "".join(
        f"\n  {field}: live {live.get(field)!r:.600} offline {offline.get(field)!r:.600}"
        for field in sorted(set(live) | set(offline))
        if _canonical(live.get(field)) != _canonical(offline.get(field))
    )


def _canonical(doc: dict | None) -> str:
    return json.dumps(doc, sort_keys=True, default=str)


# --- the test -------------------------------------------------------------------------------
def test_chaos_every_figure_equals_the_offline_recomputation(
    kafka_bootstrap: str,
    mongo_url: str,
    unique: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()

    def say(line: str) -> None:
        """Progress and figures on the terminal even when pytest captures output (the run
        takes about half an hour)."""
        with capsys.disabled():
            print(line, flush=True)

    seed = int(os.environ.get("LUMBUNG_CHAOS_SEED") or random.randrange(1, 1_000_000))
    households = HOUSEHOLDS
    commands = list(generate(DemoConfig(seed, households, VILLAGES, TODAY)))
    while len(commands) < MIN_EVENTS:  # a seed with thinner households: add some
        households = int(households * MIN_EVENTS / len(commands) * 1.01) + 1
        commands = list(generate(DemoConfig(seed, households, VILLAGES, TODAY)))
    needles = sorted(
        {str(c.body[k]) for c in commands for k in ("head_name", "kk_number") if k in c.body}
        | {str(c.body["participant_name"]) for c in commands if "participant_name" in c.body}
    )

    env = {
        **distributed_env(kafka_bootstrap, mongo_url, unique),
        "LUMBUNG_WRITE_RATE": "1000000/minute",
        # the agriculture feed is another consumer, not under test here; on FerretDB its
        # per-batch event-id lookup scans the whole feed collection
        "LUMBUNG_FEED_BUILDER": "false",
    }
    launcher = ForkLauncher(env, tmp_path)
    chaos: Chaos | None = None
    duplicator: Duplicator | None = None
    threads: list[threading.Thread] = []
    try:
        urls = {name: launcher.start(f"services.{name}").url for name in SERVICES}
        # the topics exist before anything reads them; this run reads from their current end
        from shared.adapters.kafka_bus import KafkaBus

        bus = KafkaBus(kafka_bootstrap, partitions=3)
        bus.ensure_topics(list(TOPICS))
        bus.close()
        tps = partitions(kafka_bootstrap)
        start = end_offsets(kafka_bootstrap, tps)
        start_group_at(kafka_bootstrap, f"agg-{unique}", start)
        chaos = Chaos(launcher, launcher.start("services.aggregator", timeout_s=60))
        duplicator = Duplicator(kafka_bootstrap, start, DUPLICATE_SHARE)
        threads = [threading.Thread(target=duplicator.run, daemon=True)]
        threads[0].start()

        token = mint_token(SECRET, role=Role.DISTRICT_ADMIN, sub="chaos", district=DISTRICT_CODE)
        client = Services(urls, token)
        sent_at = time.monotonic()
        kafka_plan = sorted(random.sample(range(15, 85), MIN_KAFKA_KILLS))  # % of commands
        injected = foreign_facts(commands, seed)
        injected_ids = {json.loads(value)["id"] for _, _, value in injected}
        waves = [injected[i::3] for i in range(3)]

        def inject(records: list[tuple[str, bytes, bytes]]) -> None:
            """One wave of foreign facts, never while the broker is down."""
            with chaos.kafka_lock:
                producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", retries=10)
                try:
                    for topic, key, value in records:
                        producer.send(topic, key=key, value=value)
                    producer.flush(timeout=120)
                finally:
                    producer.close(timeout=10)

        inject(waves.pop(0))  # before most households are registered

        shown = [0]

        def progress(_stage: str, done: int, total: int | None) -> None:
            if total and done * 10 >= (shown[0] + 1) * total:
                shown[0] = done * 10 // total
                say(
                    f"chaos: {done:,}/{total:,} households written, "
                    f"{time.monotonic() - sent_at:.0f} s, "
                    f"{chaos.aggregator_kills} aggregator and {chaos.kafka_kills} Kafka kills"
                )
            if len(waves) == 2 and total and done * 2 >= total:
                t = threading.Thread(target=inject, args=(waves.pop(0),))
                t.start()
                threads.append(t)
            if kafka_plan and total and done * 100 >= kafka_plan[0] * total:
                kafka_plan.pop(0)
                t = threading.Thread(target=chaos.kill_kafka, args=(random.uniform(3, 10),))
                t.start()
                threads.append(t)

        killer = threading.Thread(target=chaos.kill_aggregator_forever, args=(KILL_EVERY_S,))
        killer.start()
        result = asyncio.run(
            send_commands(
                client,
                commands,
                concurrency=CONCURRENCY,
                progress=progress,
                households=households,
            )
        )
        client.close()
        write_s = time.monotonic() - sent_at
        for t in threads[1:]:
            t.join()
        for wave in waves:  # after the writes, as the outboxes drain
            inject(wave)
        while chaos.kafka_kills < MIN_KAFKA_KILLS:  # a plan point not reached (tiny runs)
            chaos.kill_kafka(3)
        wait_for(
            lambda: chaos.aggregator_kills >= MIN_AGGREGATOR_KILLS or chaos.errors,
            timeout_s=900,
            interval_s=1,
            what="enough aggregator kills",
        )
        chaos.stop.set()
        killer.join()
        assert not chaos.errors, chaos.errors
        assert result.failed == 0, result.failures[:3]

        say(f"chaos: {len(commands):,} writes in {write_s:.0f} s; draining and catching up")
        # the end: every outbox drained, the duplicator done, the aggregator at the head
        wait_for(
            lambda: all(outbox_backlog(u) == 0 for u in urls.values()),
            timeout_s=600,
            interval_s=2,
            what="every outbox to drain",
        )
        time.sleep(3)
        duplicator.stop.set()
        threads[0].join(timeout=120)
        tps = partitions(kafka_bootstrap)
        end = end_offsets(kafka_bootstrap, tps)
        view_db = f"it_{unique}_aggregator"
        live_store = MongoStore(mongo_url, view_db)

        def settled() -> bool:
            return (
                group_lag(kafka_bootstrap, f"agg-{unique}", tps) == 0
                and live_store.count(DIRTY) == 0
                and live_store.count(DISTRICT_DIRTY) == 0  # no district patch held
            )

        wait_for(settled, timeout_s=900, interval_s=2, what="the aggregator to catch up")
        time.sleep(2)  # a last view rebuild after the final poll
        wait_for(settled, timeout_s=300, interval_s=2, what="the aggregator to stay caught up")
        caught_up_s = time.monotonic() - sent_at - write_s

        say(f"chaos: caught up {caught_up_s:.0f} s after the writes; comparing")
        # the services' own records against the topics
        service_dbs = [f"it_{unique}_{name}" for name in SERVICES]
        recorded = recorded_event_ids(mongo_url, service_dbs)
        on_topics: dict[str, tuple[str, bytes | None, bytes]] = {}
        records = read_range(kafka_bootstrap, {tp: start.get(tp, 0) for tp in tps}, end)
        for topic, key, value in records:
            on_topics.setdefault(json.loads(value)["id"], (topic, key, value))
        missing = (recorded | injected_ids) - set(on_topics)
        phantom = set(on_topics) - recorded - injected_ids
        offline = Offline(tmp_path)
        offline.fold([r for eid, r in on_topics.items() if eid in recorded])
        live = read_model(live_store)
        live_store.close()
        # the foreign facts count nowhere: every figure equals the services' events alone
        counted = compare(counted_only(live), counted_only(read_model(offline.store)))
        offline.fold([r for eid, r in on_topics.items() if eid in injected_ids])
        mismatches = compare(live, read_model(offline.store))
        aggregator_url = chaos.aggregator.url
        unlisted = injected_ids - set_aside_ids(aggregator_url, token, DISTRICT_CODE)
        figures = {name: len(docs) for name, docs in read_model(offline.store).items()}
        # the comparison can fail: one sale counted twice (another id) offline is caught
        sale = next(r for r in on_topics.values() if b'"lumbung.commerce.sale_recorded' in r[2])
        twice = json.loads(sale[2]) | {"id": "ev-chaos-self-check"}
        offline.fold([(sale[0], sale[1], json.dumps(twice).encode())])
        caught = sum(compare(live, read_model(offline.store)).values())
        markers_left = sum(
            MongoClient(mongo_url)[db][MARKERS].count_documents({}) for db in service_dbs
        )
        duplicates = len(records) - len(on_topics)
        say(
            f"chaos: seed={seed} households={households} commands={len(commands)} "
            f"written={result.written} replayed={result.replayed} client_retries="
            f"{client.retried} events_recorded={len(recorded)} records_on_topics="
            f"{len(records)} duplicates={duplicates} ({duplicates / len(on_topics):.2%}; "
            f"re-published {duplicator.sent}) aggregator_kills={chaos.aggregator_kills} "
            f"kafka_kills={chaos.kafka_kills} missing={len(missing)} phantom={len(phantom)} "
            f"mismatches={sum(mismatches.values())} {dict(mismatches)} compared={figures} "
            f"markers_left={markers_left} write_s={write_s:.0f} catch_up_s={caught_up_s:.0f} "
            f"self_check_mismatches={caught} foreign_facts={len(injected_ids)} "
            f"foreign_counted_mismatches={sum(counted.values())} foreign_unlisted={len(unlisted)}"
        )
        assert len(recorded) >= MIN_EVENTS
        assert not missing and not phantom
        assert sum(mismatches.values()) == 0
        assert sum(counted.values()) == 0 and not unlisted
        assert figures["agg_ledgers"] >= households
        assert chaos.aggregator_kills >= MIN_AGGREGATOR_KILLS
        assert chaos.kafka_kills >= MIN_KAFKA_KILLS
        assert duplicates >= 0.01 * len(on_topics)
        assert markers_left == 0
        assert caught > 0

        # 7. no personal data in clear text anywhere this run wrote
        found = Findings()
        scan_mongo(mongo_url, mongo_databases(mongo_url, f"it_{unique}"), needles, found)
        scan_files(sorted(tmp_path.glob("*.log")), needles, found)
        scan_files(sorted(tmp_path.glob("*.sqlite3*")), needles, found)
        scan_kafka(kafka_bootstrap, sorted(TOPICS), needles, found)
        say(
            f"chaos pii-scan: {len(needles)} names and KK numbers, scanned {found.scanned}, "
            f"hits={len(found.hits)} wall_s={time.monotonic() - started:.0f}"
        )
        assert not found.hits, found.hits[:5]
    finally:
        if chaos is not None:
            chaos.stop.set()
        if duplicator is not None:
            duplicator.stop.set()
        launcher.close()
        server("kafka", "start")  # whatever happened, leave the broker running
