"""Datasets: the demo district (shared/demo) scaled up, written straight into a log.

A dataset is the demo stream for (seed, households, villages, today) turned into the bus
messages the outbox relay would publish (``shared.demo.events.to_messages``), optionally
thinned to about ``target`` events: registrations, villages and the programme are always
kept, other facts are kept by a hash of their Idempotency-Key (deterministic). It is stored
as an in-process bus log (``InProcessBus``, SQLite), the embedded mode's own event log, and
read back from there to be produced into Kafka. Generation runs on both cores and is cached.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from bench.common import say
from shared.adapters.inproc_bus import InProcessBus
from shared.demo import DemoConfig, generate, plan_villages
from shared.demo.calendar import Clock
from shared.demo.events import to_messages
from shared.demo.household import household_commands
from shared.demo.model import Command
from shared.ports.bus import Message

ALWAYS = frozenset({"village_registered", "program_created", "household_registered"})
SCALE = 10_000


@dataclass(frozen=True)
class Dataset:
    households: int
    villages: int
    today: date
    target: int | None = None  # thin the facts to about this many events
    seed: int = 1

    @property
    def key(self) -> str:
        return f"s{self.seed}-h{self.households}-v{self.villages}-{self.today}-t{self.target}-2"

    def config(self) -> DemoConfig:
        return DemoConfig(
            seed=self.seed, households=self.households, villages=self.villages, today=self.today
        )


def _keep(command: Command, keep: int) -> bool:
    return command.event in ALWAYS or zlib.crc32(command.key.encode()) % SCALE < keep


def _keep_rate(ds: Dataset) -> int:
    """Out of SCALE, how many facts to keep so the dataset has about ``target`` events
    (estimated on the dataset's own first villages: same archetypes, sizes and shocks)."""
    if ds.target is None:
        return SCALE
    villages = plan_villages(ds.config())
    pilot = villages[: max(4, len(villages) // 25)]
    clock = Clock(ds.today)
    always = facts = 0
    for village in pilot:
        for ordinal in range(village.households):
            for c in household_commands(ds.seed, village, ordinal, clock):
                if c.event in ALWAYS:
                    always += 1
                else:
                    facts += 1
    share = sum(v.households for v in pilot) / ds.households
    fixed = ds.villages + 1 + always / share
    return max(0, min(SCALE, round((ds.target - fixed) / (facts / share) * SCALE)))


def _village_messages(args: tuple[Dataset, int, int]) -> list[tuple[str, str, bytes]]:
    ds, index, keep = args
    village = plan_villages(ds.config())[index]
    clock = Clock(ds.today)
    commands = (
        c
        for ordinal in range(village.households)
        for c in household_commands(ds.seed, village, ordinal, clock)
        if _keep(c, keep)
    )
    return [(m.topic, m.key, m.value) for m in to_messages(commands)]


def build(ds: Dataset, cache: Path, partitions: int = 6) -> Path:
    """The bus log of ``ds`` (built once, then reused from ``cache``)."""
    folder = cache / ds.key
    bus_file = folder / "bus.sqlite3"
    meta = folder / "meta.json"
    if meta.exists():
        return bus_file
    folder.mkdir(parents=True, exist_ok=True)
    bus_file.unlink(missing_ok=True)
    keep = _keep_rate(ds)
    say(f"generating {ds.key} (keep {keep / SCALE:.3f} of facts) on 2 processes")
    bus = InProcessBus(bus_file, partitions=partitions)
    head = list(itertools.takewhile(lambda c: c.household_id is None, generate(ds.config())))
    bus.publish(list(to_messages(head)))
    total = len(head)
    jobs = [(ds, i, keep) for i in range(ds.villages)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pending: list[Message] = []
        for n, rows in enumerate(pool.imap(_village_messages, jobs, chunksize=1), 1):
            pending.extend(Message(t, k, v) for t, k, v in rows)
            if len(pending) >= 20_000 or n == len(jobs):
                bus.publish(pending)
                total += len(pending)
                pending = []
            if n % max(1, len(jobs) // 10) == 0:
                say(f"  {ds.key}: {n}/{len(jobs)} villages, {total:,} events")
    bus.close()
    meta.write_text(json.dumps({**asdict(ds), "today": str(ds.today), "events": total}))
    return bus_file


def events_in(bus_file: Path) -> int:
    meta = bus_file.parent / "meta.json"
    if meta.exists():
        return int(json.loads(meta.read_text())["events"])
    with sqlite3.connect(bus_file) as db:
        return int(db.execute("SELECT COUNT(*) FROM bus_log").fetchone()[0])


def read_messages(bus_file: Path, limit: int | None = None) -> Iterator[Message]:
    """The log's messages, each key's in order (for producing them into Kafka)."""
    db = sqlite3.connect(bus_file)
    try:
        sql = "SELECT topic, key, value FROM bus_log ORDER BY topic, part, off"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for topic, key, value in db.execute(sql):
            yield Message(topic, key, bytes(value))
    finally:
        db.close()
