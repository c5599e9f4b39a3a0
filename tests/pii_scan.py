"""Finds personal data in clear text wherever Lumbung keeps or sends anything: SQLite files,
MongoDB databases, Kafka topics and process logs. Used by the UU PDP tests; proven able to
find what it looks for by planting values first."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bson import json_util
from pymongo import MongoClient

GRAM = 5


class NeedleIndex:
    """Finds every needle that occurs in a text (case-insensitive substring), in one pass over
    the text: each needle is filed under its rarest 5-character piece, and only the needles
    filed under a piece the text has are compared. Testing each of thousands of needles
    against each of hundreds of thousands of documents took most of a full chaos run."""

    def __init__(self, needles: Iterable[str]) -> None:
        self.needles = list(needles)
        self.original = {n.lower(): n for n in self.needles}
        lowered = sorted(self.original)
        self.short = [n for n in lowered if len(n) < GRAM]
        pieces = Counter(n[j : j + GRAM] for n in lowered for j in range(len(n) - GRAM + 1))
        self.index: dict[str, list[tuple[str, int]]] = {}
        for n in lowered:
            if len(n) >= GRAM:
                j = min(range(len(n) - GRAM + 1), key=lambda j: pieces[n[j : j + GRAM]])
                self.index.setdefault(n[j : j + GRAM], []).append((n, j))

    def find(self, text: str) -> list[str]:
        lowered = text.lower()
        found = {n for n in self.short if n in lowered}
        index = self.index
        for i in range(len(lowered) - GRAM + 1):
            filed = index.get(lowered[i : i + GRAM])
            if filed:
                found.update(n for n, j in filed if i >= j and lowered.startswith(n, i - j))
        return sorted(self.original[n] for n in found)


@dataclass
class Findings:
    scanned: dict[str, int] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)
    _index: NeedleIndex | None = None

    def check(self, where: str, text: str, needles: Iterable[str]) -> None:
        self.scanned[where.split(":", 1)[0]] = self.scanned.get(where.split(":", 1)[0], 0) + 1
        if self._index is None or self._index.needles is not needles:
            self._index = NeedleIndex(needles)
            self._index.needles = needles  # type: ignore[assignment]
        self.hits.extend((where, n) for n in self._index.find(text))


def scan_files(paths: Iterable[Path], needles: list[str], found: Findings) -> None:
    """Raw bytes of each file (SQLite databases with their WAL, logs)."""
    for path in paths:
        if path.is_file():
            found.check(f"file:{path}", path.read_bytes().decode("utf-8", "replace"), needles)


def scan_mongo(url: str, databases: Iterable[str], needles: list[str], found: Findings) -> None:
    client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        for name in databases:
            db = client[name]
            for collection in db.list_collection_names():
                for doc in db[collection].find():
                    found.check(f"mongo:{name}.{collection}", json_util.dumps(doc), needles)
    finally:
        client.close()


def scan_kafka(
    bootstrap: str, topics: list[str], needles: list[str], found: Findings, idle_s: float = 3.0
) -> None:
    from shared.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(bootstrap, partitions=3)
    consumer = bus.consumer(f"pii-scan-{time.time_ns()}", topics)
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_s:
            records = consumer.poll(1000, 0.5)
            if records:
                quiet_since = time.monotonic()
            for r in records:
                text = r.value.decode("utf-8", "replace") + (r.key or "")
                found.check(f"kafka:{r.topic}", text, needles)
    finally:
        consumer.close()
        bus.close()


def mongo_databases(url: str, prefix: str) -> list[str]:
    client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        return [n for n in client.list_database_names() if n.startswith(prefix)]
    finally:
        client.close()


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
