"""The six figures. Each function runs one repetition and returns a dict of measurements;
``bench.run`` repeats them and takes medians."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench import baselines
from bench.common import (
    PY,
    ROOT,
    bare_server,
    cpu_seconds,
    lumbung_server,
    percentile,
    run_json,
    say,
    token,
)
from bench.data import read_messages
from shared.demo import DemoConfig, generate
from shared.demo.model import Command
from shared.demo.names import village_code

SECRET = "bench-secret-0123456789-0123456789-abcdef"
TODAY = date.today()


@dataclass(frozen=True)
class Env:
    """Where the real servers are, and where this run keeps its files."""

    kafka: str
    mongo: str
    work: Path


def _groups(commands: list[Command]) -> list[list[list[Any]]]:
    """Commands as the load client wants them: per household, in order."""
    out = []
    for _, items in itertools.groupby(commands, key=lambda c: c.group):
        out.append([[c.method, c.path, json.dumps(c.body, default=str), c.key] for c in items])
    return out


def _load(spec: dict[str, Any], env: Env, timeout_s: float) -> dict[str, Any]:
    path = env.work / f"load-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(spec))
    try:
        return run_json([PY, "-m", "bench.loadgen", str(path)], timeout_s=timeout_s)
    finally:
        path.unlink(missing_ok=True)


# The per-token write limit (6,000/minute by default) guards against abuse; the benchmark's
# one load token would hit it at 200 writes/s within half a minute, so it is lifted here.
NO_WRITE_LIMIT = {"LUMBUNG_WRITE_RATE": "100000000/minute"}


def _embedded_env(data_dir: Path) -> dict[str, str]:
    return {
        "LUMBUNG_DATA_DIR": str(data_dir),
        "LUMBUNG_SECRET": SECRET,
        "LUMBUNG_MODE": "embedded",
        **NO_WRITE_LIMIT,
    }


def _distributed_env(env: Env, db: str) -> dict[str, str]:
    return {
        "LUMBUNG_MODE": "distributed",
        "LUMBUNG_KAFKA_BOOTSTRAP": env.kafka,
        "LUMBUNG_MONGO_URL": env.mongo,
        "LUMBUNG_MONGO_DB": db,
        "LUMBUNG_SECRET": SECRET,
        "LUMBUNG_PII_KEY": SECRET,
        "LUMBUNG_KAFKA_CLIENT_ID": db,
        **NO_WRITE_LIMIT,
    }


def _spec(url: str, groups: list[list[list[Any]]], **kw: Any) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    return {"host": host, "port": int(port), "token": token(SECRET), "groups": groups, **kw}


# 1. ingest ---------------------------------------------------------------------------------
def ingest(env: Env, rep: int, *, households: int, requests: int, seconds: float) -> dict:
    """HTTP writes/s and latency: the embedded platform (one process, SQLite), one
    distributed service process (commerce: FerretDB + Kafka relay), and a bare FastAPI
    route, each driven by the same load client with the demo stream's commands."""
    config = DemoConfig(seed=100 + rep, households=households, villages=3, today=TODAY)
    commands = list(generate(config))
    head = [c for c in commands if c.group is None]
    body = [c for c in commands if c.group is not None]
    commerce = [c for c in body if c.service == "commerce"]
    load = {"concurrency": 8, "max_requests": requests, "max_seconds": seconds}
    out: dict[str, Any] = {}
    logs = env.work / "logs"
    with bare_server(logs / "bare.log") as bare:
        before = cpu_seconds(bare.pid)
        r = _load(_spec(bare.url, _groups(body), **load), env, seconds + 60)
        out["bare"] = {**r, "cpu_ms": _cpu_ms(bare.pid, before, r)}
    data_dir = env.work / f"ingest-embedded-{rep}"
    shutil.rmtree(data_dir, ignore_errors=True)
    with lumbung_server("services", _embedded_env(data_dir), logs / "embedded.log") as srv:
        _load(_spec(srv.url, _groups(head), concurrency=1), env, 120)
        before = cpu_seconds(srv.pid)
        r = _load(_spec(srv.url, _groups(body), **load), env, seconds + 60)
        out["embedded"] = {**r, "cpu_ms": _cpu_ms(srv.pid, before, r)}
        # the same process and client on the platform's cheapest route (no auth, no body):
        # what its HTTP stack costs before any work of a write
        health = [[["GET", "/healthz", None, None]]] * requests
        before = cpu_seconds(srv.pid)
        r = _load(_spec(srv.url, health, **load), env, seconds + 60)
        out["embedded_health"] = {**r, "cpu_ms": _cpu_ms(srv.pid, before, r)}
    shutil.rmtree(data_dir, ignore_errors=True)
    db = f"bench_ingest_{rep}_{uuid.uuid4().hex[:6]}"
    with lumbung_server(
        "services.commerce", _distributed_env(env, db), logs / "commerce.log"
    ) as srv:
        with bare_server(logs / "bare2.log") as bare2:
            out["bare_commerce"] = _load(
                _spec(bare2.url, _groups(commerce), **load), env, seconds + 60
            )
        out["commerce"] = _load(_spec(srv.url, _groups(commerce), **load), env, seconds + 60)
    _drop_mongo(env, db)
    return out


def _cpu_ms(pid: int, before: float, load: dict[str, Any]) -> float:
    """The server's CPU milliseconds per request since ``before`` (its CPU seconds then)."""
    return 1000 * (cpu_seconds(pid) - before) / max(1, load["requests"])


def _drop_mongo(env: Env, db: str) -> None:
    from pymongo import MongoClient

    with contextlib.suppress(Exception):
        client: MongoClient[Any] = MongoClient(env.mongo, serverSelectionTimeoutMS=3000)
        client.drop_database(db)
        client.close()


# 2. publish --------------------------------------------------------------------------------
def publish(env: Env, rep: int, *, bus_file: Path, events: int) -> dict:
    """Outbox (MongoStore on FerretDB) to Kafka through the real OutboxRelay and KafkaBus,
    against a raw kafka-python producer sending the same payloads."""
    from shared.adapters.kafka_bus import KafkaBus
    from shared.adapters.mongo_store import MongoStore
    from shared.ports.store import CollectionSpec
    from shared.relay import OutboxRelay

    messages = list(read_messages(bus_file, limit=events))
    wire = [json.loads(m.value) for m in messages]
    db = f"bench_publish_{rep}_{uuid.uuid4().hex[:6]}"
    store = MongoStore(env.mongo, db, timeout_ms=30_000)
    bus = KafkaBus(env.kafka, client_id=db)
    try:
        store.ensure([CollectionSpec("bench_records", outbox=True)])
        started = time.perf_counter()
        for n, event in enumerate(wire):
            store.insert("bench_records", {"_id": f"r{n}"}, events=[event], command_id=f"c{n}")
        fill = time.perf_counter() - started
        relay = OutboxRelay(store, bus, label="bench", batch=500)
        relay.bus.ensure_topics(sorted({m.topic for m in messages}))
        started = time.perf_counter()
        sent = relay.drain(timeout_s=600)
        seconds = time.perf_counter() - started
        if sent != len(wire):
            raise RuntimeError(f"relay published {sent} of {len(wire)}")
        raw = baselines.raw_produce(env.kafka, messages)
        # the relay's parts: the Kafka publish alone, with the adapter
        started = time.perf_counter()
        bus.publish(messages)
        adapter = time.perf_counter() - started
    finally:
        bus.close()
        store.close()
        _drop_mongo(env, db)
    n = len(wire)
    return {
        "events": n,
        "relay_rate": n / seconds,
        "raw_rate": n / raw,
        "adapter_rate": n / adapter,
        "fill_rate": n / fill,
    }


# 3. aggregate ------------------------------------------------------------------------------
def _aggregator_parts(store: Any) -> tuple[Any, Any]:
    from services.aggregator.context import DISTRICT_FLUSH_INTERVAL_S, VIEW_FLUSH_INTERVAL_S
    from services.aggregator.domain.rules import DEFAULT_RULES
    from services.aggregator.projector import Projector
    from services.aggregator.readmodel import COLLECTIONS
    from services.aggregator.views import ViewBuilder
    from shared.settings import dedicated_view_workers

    store.ensure(COLLECTIONS)
    # as the distributed aggregator builds them (services.aggregator.context): its view
    # workers (the default for a process of its own) and its flush intervals
    views = ViewBuilder(
        store, DEFAULT_RULES, date.today, history_months=24, workers=dedicated_view_workers()
    )
    projector = Projector(
        store,
        views,
        full_batch=1000,
        min_flush_interval_s=VIEW_FLUSH_INTERVAL_S,
        district_interval_s=DISTRICT_FLUSH_INTERVAL_S,
    )
    return views, projector


def _consume(env: Env, handler: Any, expected: int, max_seconds: float) -> tuple[int, float]:
    """Run a real ConsumerWorker (new group, from the beginning) with ``handler`` until
    ``expected`` records or ``max_seconds`` after the first record; then one idle step
    (the handler's tick: deferred view rebuilds). Returns (records, seconds since the first)."""
    from services.aggregator.service import TOPICS
    from shared.adapters.kafka_bus import KafkaBus
    from shared.consumer import ConsumerWorker
    from shared.settings import Settings

    bus = KafkaBus(env.kafka, client_id=f"bench-{uuid.uuid4().hex[:6]}")
    # as the aggregator consumes (services.aggregator.service), for the naive projector too
    worker = ConsumerWorker(
        bus, f"bench-agg-{uuid.uuid4().hex[:8]}", TOPICS, handler, batch=1000,
        poll_timeout_s=0.5, publish_dead_letters=False, prefetch=Settings().consumer_prefetch,
    )  # fmt: skip
    first = None
    try:
        deadline = time.monotonic() + 300
        while worker.processed < expected and time.monotonic() < deadline:
            n = worker.step()
            if n and first is None:
                first = time.perf_counter()
            if first is not None and time.perf_counter() - first > max_seconds:
                break
        if first is None:
            raise RuntimeError("the consumer received nothing")
        if worker.processed >= expected:
            handler.tick()
        return worker.processed, time.perf_counter() - first
    finally:
        worker.stop()
        bus.close()


def aggregate(env: Env, rep: int, *, expected: int, naive_seconds: float,
              mongo_seconds: float) -> dict:  # fmt: skip
    """Kafka to the read model: the real ConsumerWorker + Projector (store: SQLite, and
    FerretDB for a bounded time), a raw consumer that only decodes, and the naive projector."""
    from services.aggregator.service import TOPICS
    from shared.adapters.mongo_store import MongoStore
    from shared.adapters.sqlite_store import SqliteStore

    out: dict[str, Any] = {"events": expected}
    raw = baselines.raw_consume(env.kafka, TOPICS, expected, timeout_s=300)
    out["raw_rate"] = expected / raw
    say(f"  aggregate rep {rep}: raw consumer {out['raw_rate']:,.0f} ev/s")

    path = env.work / f"agg-{rep}.sqlite3"
    store = SqliteStore(path)
    views, projector = _aggregator_parts(store)
    n, seconds = _consume(env, projector, expected, 600)
    views.close()
    store.close()
    out["real_rate"] = n / seconds
    say(f"  aggregate rep {rep}: projector (SQLite) {out['real_rate']:,.0f} ev/s")

    naive_path = env.work / f"agg-naive-{rep}.sqlite3"
    store = SqliteStore(naive_path)
    views, _ = _aggregator_parts(store)
    n, seconds = _consume(env, baselines.NaiveProjector(store, views), expected, naive_seconds)
    views.close()
    store.close()
    out["naive_rate"] = n / seconds
    out["naive_events"] = n
    say(f"  aggregate rep {rep}: naive (SQLite) {out['naive_rate']:,.0f} ev/s over {n:,} events")

    for p in env.work.glob("agg-*.sqlite3*"):
        p.unlink()

    if mongo_seconds > 0:
        for label, make in (("mongo_real", "real"), ("mongo_naive", "naive")):
            db = f"bench_agg_{rep}_{make}_{uuid.uuid4().hex[:6]}"
            mstore = MongoStore(env.mongo, db, timeout_ms=60_000)
            views, projector = _aggregator_parts(mstore)
            handler = projector if make == "real" else baselines.NaiveProjector(mstore, views)
            n, seconds = _consume(env, handler, expected, mongo_seconds)
            views.close()
            mstore.close()
            _drop_mongo(env, db)
            out[f"{label}_rate"] = n / seconds
            out[f"{label}_events"] = n
            say(f"  aggregate rep {rep}: {label} {n / seconds:,.0f} ev/s over {n:,} events")
    return out


def produce_history(env: Env, bus_file: Path) -> dict:
    """Produce a dataset straight into the Kafka topics (raw producer, batches)."""
    messages = list(read_messages(bus_file))
    from shared.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(env.kafka, client_id="bench-history")
    bus.ensure_topics(sorted({m.topic for m in messages}))
    bus.close()
    seconds = baselines.raw_produce(env.kafka, messages)
    return {"events": len(messages), "raw_produce_rate": len(messages) / seconds}


# 4. replay ---------------------------------------------------------------------------------
def replay(data_dir: Path, *, mark_live: bool = False, timeout_s: float = 1800) -> dict:
    args = [PY, "-m", "bench.replay_child", str(data_dir)]
    if mark_live:
        args.append("--mark-live")
    return run_json(args, timeout_s=timeout_s)


def replayed_copy(bus_file: Path, target: Path) -> Path:
    """A data directory holding a copy of the dataset's log, to replay into."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(bus_file, target / "bus.sqlite3")
    return target


# 5. freshness ------------------------------------------------------------------------------
def freshness(env: Env, rep: int, *, data_dir: Path, rate: float, seconds: float,
              households: int, villages: int) -> dict:  # fmt: skip
    """At a steady ``rate`` of writes (the demo stream of new households in the district's
    villages, plus the probe's sales), the time from a 2xx answer to the sale being visible
    in the probe village's precomputed village view. Embedded platform, one process."""
    work = env.work / f"fresh-{rep}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data_dir, work)
    probe_village = village_code(2400 + rep)
    n_probe = 5
    run = uuid.uuid4().hex[:8]
    setup = [
        ["POST", "/registry/villages", json.dumps({
            "village_code": probe_village, "name": f"Desa Uji {rep}", "district_code": "9901",
            "district_name": "Kabupaten Lumbung (Demo)", "occurred_on": "2023-03-01"}),
         f"pv-{run}"],
    ]  # fmt: skip
    businesses = []
    for i in range(n_probe):
        hh = f"probe-{run}-{i}"
        setup.append(["POST", "/registry/households", json.dumps({
            "village_code": probe_village, "members": 4, "head_name": "Ibu Uji",
            "household_id": hh, "occurred_on": TODAY.isoformat()}), f"ph-{run}-{i}"])  # fmt: skip
        setup.append(["POST", "/commerce/businesses", json.dumps({
            "household_id": hh, "village_code": probe_village, "name": "Warung Uji",
            "category": "makanan",
            "business_id": f"pb-{run}-{i}", "occurred_on": TODAY.isoformat()}),
            f"pb-{run}-{i}"])  # fmt: skip
        businesses.append(f"pb-{run}-{i}")
    config = DemoConfig(seed=200 + rep, households=households, villages=villages, today=TODAY)
    commands = list(generate(config))
    setup = _groups([c for c in commands if c.group is None])[0] + setup
    commands = [c for c in commands if c.group is not None]
    with lumbung_server("services", _embedded_env(work), env.work / "logs" / "fresh.log") as srv:
        r = _load(_spec(srv.url, [setup], concurrency=1), env, 120)
        if r["ok"] != len(setup):
            raise RuntimeError(f"probe setup failed: {r}")
        time.sleep(2)
        probe = {
            "businesses": businesses, "today": TODAY.isoformat(), "run": run,
            "view": f"/resilience/villages/{probe_village}", "umkm_before": 0,
            "poll_s": 0.02, "timeout_s": 5, "gap_s": 0.1,
        }  # fmt: skip
        spec = _spec(srv.url, _groups(commands), concurrency=32, rate=rate,
                     max_seconds=seconds, probe=probe)  # fmt: skip
        out = _load(spec, env, seconds + 120)
    shutil.rmtree(work, ignore_errors=True)
    return out


# 6. read -----------------------------------------------------------------------------------
def read(
    env: Env, *, data_dirs: dict[str, Path], requests: int, seconds: float, blocks: int = 10
) -> dict[str, dict]:
    """p50/p99 of GET /resilience/districts/9901 on the embedded platform over each replayed
    read model (one client connection, so no queueing inflates the latency). One server per
    history runs at once, and the requests go in ``blocks`` turns (the order rotating), so a
    change in the machine's load falls on every history alike."""
    path = "/resilience/districts/9901"
    per_block = max(1, requests // blocks)
    with contextlib.ExitStack() as stack:
        servers = {
            label: stack.enter_context(
                lumbung_server(
                    "services", _embedded_env(d), env.work / "logs" / f"read-{label}.log"
                )
            )
            for label, d in data_dirs.items()
        }
        for s in servers.values():
            _load(_spec(s.url, [[["GET", path, None, None]] * 50], concurrency=1), env, 120)
        latencies: dict[str, list[float]] = {label: [] for label in servers}
        labels = list(servers)
        for block in range(blocks):
            for label in labels[block % len(labels) :] + labels[: block % len(labels)]:
                groups = [[["GET", path, None, None]] for _ in range(per_block)]
                spec = _spec(
                    servers[label].url, groups, concurrency=1, max_requests=per_block,
                    max_seconds=seconds / blocks, keep_latencies=True,
                )  # fmt: skip
                latencies[label] += _load(spec, env, seconds / blocks + 60)["latencies_ms"]
    return {
        label: {
            "requests": len(values),
            "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99),
        }
        for label, values in latencies.items()
    }


__all__ = ["ROOT", "Env"]
