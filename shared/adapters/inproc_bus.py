"""In-process adapter of the bus port (embedded mode).

A real product adapter, not a test double: a partitioned log with consumer-group offsets,
kept in SQLite so that a crash of the embedded process loses no published event and an
uncommitted batch is delivered again after a restart, exactly like Kafka. Partition =
crc32(key) mod partitions, so one village's events stay in order. One active consumer per
group (embedded mode runs one aggregator); it owns every partition.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

from shared.adapters.sqlite_tx import write_transaction
from shared.ports.bus import Bus, BusUnavailable, Consumer, Message, Record


def partition_for(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


class InProcessBus(Bus):
    def __init__(
        self, path: str | Path = ":memory:", *, partitions: int = 6, busy_timeout_s: float = 5.0
    ) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.partitions = partitions
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout_s
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS bus_log (topic TEXT, part INTEGER, off INTEGER, "
            "key TEXT, value BLOB, PRIMARY KEY (topic, part, off))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS bus_offsets (grp TEXT, topic TEXT, part INTEGER, "
            "off INTEGER, PRIMARY KEY (grp, topic, part))"
        )
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._closed = False

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Topics exist implicitly; nothing to create."""

    def end_offset(self, topic: str, part: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(off) FROM bus_log WHERE topic=? AND part=?", (topic, part)
            ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        with self._lock:
            self._check_open()
            with write_transaction(self._db, BusUnavailable) as db:
                next_offsets: dict[tuple[str, int], int] = {}
                for msg in messages:
                    tp = (msg.topic, partition_for(msg.key, self.partitions))
                    if tp not in next_offsets:
                        next_offsets[tp] = self.end_offset(*tp)
                    db.execute(
                        "INSERT INTO bus_log VALUES (?,?,?,?,?)",
                        (tp[0], tp[1], next_offsets[tp], msg.key, msg.value),
                    )
                    next_offsets[tp] += 1
            self._arrived.notify_all()

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        from_beginning: bool = True,
        prefetch: bool = False,
    ) -> InProcessConsumer:
        """``prefetch`` is ignored: polling the log is a local query."""
        self._check_open()
        return InProcessConsumer(self, group, list(topics), from_beginning)

    def committed(self, group: str, topic: str, part: int) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT off FROM bus_offsets WHERE grp=? AND topic=? AND part=?",
                (group, topic, part),
            ).fetchone()
        return None if row is None else int(row[0])

    def _commit(self, group: str, positions: dict[tuple[str, int], int]) -> None:
        with self._lock:
            self._check_open()
            with write_transaction(self._db, BusUnavailable) as db:
                db.executemany(
                    "INSERT INTO bus_offsets VALUES (?,?,?,?) ON CONFLICT(grp, topic, part) "
                    "DO UPDATE SET off=excluded.off",
                    [(group, t, p, off) for (t, p), off in positions.items()],
                )

    def _read(self, positions: dict[tuple[str, int], int], limit: int) -> list[Record]:
        records: list[Record] = []
        with self._lock:
            self._check_open()
            for (topic, part), start in positions.items():
                if len(records) >= limit:
                    break
                rows = self._db.execute(
                    "SELECT off, key, value FROM bus_log WHERE topic=? AND part=? AND off>=? "
                    "ORDER BY off LIMIT ?",
                    (topic, part, start, limit - len(records)),
                ).fetchall()
                records.extend(Record(topic, part, off, key, bytes(val)) for off, key, val in rows)
        return records

    def _check_open(self) -> None:
        if self._closed:
            raise BusUnavailable("in-process bus is closed")

    def ping(self) -> None:
        self._check_open()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._arrived.notify_all()
            self._db.close()


class InProcessConsumer(Consumer):
    def __init__(
        self, bus: InProcessBus, group: str, topics: list[str], from_beginning: bool
    ) -> None:
        self._bus = bus
        self._group = group
        self._positions: dict[tuple[str, int], int] = {}
        for topic in topics:
            for part in range(bus.partitions):
                committed = bus.committed(group, topic, part)
                if committed is None:
                    committed = 0 if from_beginning else bus.end_offset(topic, part)
                self._positions[(topic, part)] = committed
        self._uncommitted: dict[tuple[str, int], int] = {}
        self._closed = False
        self._full = False  # the last poll stopped at max_records (more may be waiting)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if self._closed:
            raise BusUnavailable("consumer is closed")
        with self._bus._arrived:
            records = self._bus._read(self._positions, max_records)
            if not records and timeout_s > 0:
                self._bus._arrived.wait(timeout_s)
                records = self._bus._read(self._positions, max_records)
        for rec in records:
            self._positions[(rec.topic, rec.partition)] = rec.offset + 1
            self._uncommitted[(rec.topic, rec.partition)] = rec.offset + 1
        self._full = len(records) >= max_records
        return records

    def commit(self, *, wait: bool = True) -> None:
        if self._uncommitted:
            self._bus._commit(self._group, self._uncommitted)
            self._uncommitted = {}

    def lag(self) -> dict[tuple[str, int], int]:
        return {tp: max(0, self._bus.end_offset(*tp) - pos) for tp, pos in self._positions.items()}

    def backlog(self) -> int | None:
        # a poll that returned fewer than it was allowed read every partition to its end
        return sum(self.lag().values()) if self._full else 0

    def close(self) -> None:
        self._closed = True
