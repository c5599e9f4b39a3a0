"""MongoDB adapter of the store port (MongoDB 6+ and FerretDB 1.24).

Every write is one single-document operation: no transactions, change streams or $lookup.
The outbox lives inside the document (``_outbox`` keyed by event id), so the state change and
its events are stored together, and ``outbox_ack`` unsets exactly the published ids.

Finding the documents with unpublished events must not cost a scan of every collection:
FerretDB 1.x evaluates any filter other than a single ``_id`` in its own process, document by
document. So each write that carries events first inserts a *marker* of its own into the small
``_outbox_index`` collection: ``{_id: "<collection>/<doc id>/<nonce>", cmd: <command id>}``.
The relay lists markers (O(pending)), reads each marked document by ``_id``, publishes and
acks its events, and deletes a marker only when the document it read already lists the
marker's command in ``_cmds``: that write had landed, so its events were in what the relay
read. A marker whose command is not there belongs to a write still in flight and stays for
the next drain; a write known to have failed deletes its own marker, and one left by a writer
that crashed is dropped once older than ``STALE_MARKER_S``. Every operation on a data
collection is a lookup by ``_id`` alone, the one filter FerretDB resolves with an index, or
``get_many``'s ``{_id: {$in: [...]}}``, which stock FerretDB 1.24 resolves with a scan and our
local build (``deploy/local/ferretdb.sh``, ``patch_id_in``) with the index; ``get_many`` asks
the server which it does.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DeleteOne, MongoClient, ReplaceOne
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from shared.adapters.docs import (
    OUTBOX_AT,
    PENDING,
    decode_cursor,
    encode_cursor,
    new_doc,
    outbox_items,
    public,
)
from shared.ports.store import (
    COMMANDS,
    OUTBOX,
    RECENT_COMMANDS,
    BulkUpsert,
    CollectionSpec,
    Doc,
    DuplicateId,
    OutboxEntry,
    Page,
    Store,
    StoreUnavailable,
    UpdateOutcome,
)

_UNAVAILABLE = (ConnectionFailure, AutoReconnect, ServerSelectionTimeoutError)
_INNER_LIST = "~l"
MARKERS = "_outbox_index"
SWEPT = "_outbox_swept"  # collections whose pre-marker pending documents were indexed
# get_many on a FerretDB whose explain says it does not push {_id: {$in: ...}} down (stock
# 1.24): one lookup per id while ids x PER_ID_FACTOR < the collection's size (measured under
# load: an indexed lookup ~10 ms, reading a ledger-sized document in a scan ~2 ms), else one
# $in (a scan). Sizes are re-read every SIZE_TTL_S (a count on FerretDB 1.24 reads every
# document: 6.5 s at 20k ledgers).
PER_ID_FACTOR = 5
SIZE_TTL_S = 30.0
STALE_MARKER_S = 600.0  # an unconfirmed marker older than this belongs to a crashed writer


# Statements per bulk write. FerretDB 1.24 (SQLite handler) keeps a pooled SQLite
# connection open for every replacement of an existing document until its update
# command ends; past ~100 of them the command waits for a connection forever and the
# database stops answering (measured: 101 replacements hang, 99 take 50 ms). MongoDB
# does not care; small chunks cost it nothing.
BULK_CHUNK = 50


def encode(value: Any) -> Any:
    """FerretDB 1.x refuses arrays inside arrays: store each inner list as {"~l": [...]}."""
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [{_INNER_LIST: encode(v)} if isinstance(v, list) else encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _INNER_LIST in value:
            return [decode(v) for v in value[_INNER_LIST]]
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@dataclass(frozen=True)
class MarkedEntry(OutboxEntry):
    """An outbox entry with the marker state it was read under (for the conditional delete)."""

    landed_markers: tuple[str, ...] = ()  # markers whose write had landed: the ack deletes them


def _stored(doc: Doc) -> Doc:
    """The document as this adapter stores it: the outbox map only (markers replace the
    ``_pending``/``_outbox_at`` fields the SQLite adapter indexes)."""
    doc.pop(PENDING, None)
    doc.pop(OUTBOX_AT, None)
    return doc


class MongoStore(Store):
    def __init__(self, url: str, database: str, *, timeout_ms: int = 3000) -> None:
        # No client-wide timeoutMS (CSOT): it also stretches server selection to its own
        # length, so a stopped server would answer 503 only after it; socketTimeoutMS bounds
        # each wait for a reply instead, and with the relay's lookups by _id no call is long.
        self._client: MongoClient[Doc] = MongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=max(timeout_ms * 4, 10_000),
            retryWrites=False,  # FerretDB 1.x has no retryable writes; our writes are redo-safe
            tz_aware=True,
        )
        self._db = self._client[database]
        self._opened_with = (url, database, timeout_ms)
        self._ferretdb: bool | None = None
        self._id_in_indexed: bool | None = None
        self._sizes: dict[str, tuple[float, int]] = {}

    def _guard(self, exc: PyMongoError) -> StoreUnavailable:
        return StoreUnavailable(f"mongodb: {type(exc).__name__}: {str(exc)[:200]}")

    def ensure(self, specs: Sequence[CollectionSpec]) -> None:
        try:
            for spec in specs:
                coll = self._db[spec.name]
                for field in spec.indexes:
                    coll.create_index([(field, ASCENDING), ("_id", ASCENDING)])
                if spec.outbox:
                    self._sweep_unmarked(spec.name)
            self._db[MARKERS].create_index([("at", ASCENDING)])
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def _sweep_unmarked(self, collection: str) -> None:
        """Once per collection: mark documents written before markers existed (they carry
        ``_pending``). One scan, then never again for this collection."""
        swept = self._db[SWEPT]
        if swept.find_one({"_id": collection}) is not None:
            return
        for doc in self._db[collection].find({PENDING: {"$gt": 0}}, {COMMANDS: 1}):
            cmds = doc.get(COMMANDS) or [""]
            self._marker_insert(collection, str(doc["_id"]), str(cmds[-1]))
        with suppress(DuplicateKeyError):
            swept.insert_one({"_id": collection, "at": time.time()})

    # --- markers -------------------------------------------------------------------------
    def _marker_insert(self, collection: str, doc_id: str, command_id: str) -> str:
        marker = f"{collection}/{doc_id}/{uuid.uuid4().hex[:16]}"
        self._db[MARKERS].insert_one(
            {"_id": marker, "c": collection, "d": doc_id, "cmd": command_id, "at": time.time()}
        )
        return marker

    def _markers_delete(self, markers: Sequence[str]) -> None:
        ops = [DeleteOne({"_id": m}) for m in markers]
        for start in range(0, len(ops), BULK_CHUNK):
            self._db[MARKERS].bulk_write(ops[start : start + BULK_CHUNK], ordered=False)

    def insert(
        self, collection: str, doc: Doc, *, events: Sequence[Doc] = (), command_id: str
    ) -> None:
        marker = None
        try:
            if events:
                marker = self._marker_insert(collection, str(doc["_id"]), command_id)
            self._db[collection].insert_one(encode(_stored(new_doc(doc, events, command_id))))
        except DuplicateKeyError:
            if marker is not None:  # nothing was written: the marker has nothing to show
                with suppress(PyMongoError):
                    self._markers_delete([marker])
            existing = self.get(collection, str(doc["_id"]))
            raise DuplicateId(existing or {"_id": doc["_id"]}) from None
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def update(
        self,
        collection: str,
        doc_id: str,
        *,
        set_fields: Mapping[str, Any],
        events: Sequence[Doc] = (),
        command_id: str,
        expect: Mapping[str, Any] | None = None,
    ) -> UpdateOutcome:
        to_set = encode(
            {**set_fields, **{f"{OUTBOX}.{k}": v for k, v in outbox_items(events).items()}}
        )
        changes: dict[str, Any] = {
            "$push": {COMMANDS: {"$each": [command_id], "$slice": -RECENT_COMMANDS}},
        }
        if to_set:
            changes["$set"] = to_set
        query: dict[str, Any] = {"_id": doc_id, COMMANDS: {"$ne": command_id}, **(expect or {})}
        try:
            marker = self._marker_insert(collection, doc_id, command_id) if events else None
            result = self._db[collection].update_one(query, changes)
            if result.matched_count == 1:
                return "applied"
            if marker is not None:  # nothing was written: the marker has nothing to show
                self._markers_delete([marker])
            current = self._db[collection].find_one({"_id": doc_id}, {COMMANDS: 1})
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        if current is None:
            return "missing"
        if command_id in current.get(COMMANDS, []):
            return "already_applied"
        return "precondition_failed"

    def get(self, collection: str, doc_id: str) -> Doc | None:
        try:
            return public(decode(self._db[collection].find_one({"_id": doc_id}, {OUTBOX: 0})))
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def get_many(self, collection: str, doc_ids: Iterable[str]) -> dict[str, Doc]:
        ids = list(dict.fromkeys(doc_ids))
        found: dict[str, Doc] = {}
        try:
            if not self._pushes_id_in(collection) and (
                len(ids) * PER_ID_FACTOR < self._size(collection)
            ):
                # this FerretDB resolves only a lone {_id: x} with an index; an $in reads the
                # whole collection, so a few ids in a large collection are cheaper one by one
                for doc_id in ids:
                    doc = self._db[collection].find_one({"_id": doc_id}, {OUTBOX: 0})
                    if doc is not None:
                        found[doc_id] = public(decode(doc))  # type: ignore[assignment]
                return found
            for start in range(0, len(ids), 1000):
                cursor = self._db[collection].find(
                    {"_id": {"$in": ids[start : start + 1000]}}, {OUTBOX: 0}
                )
                for doc in cursor:
                    found[str(doc["_id"])] = public(decode(doc))  # type: ignore[assignment]
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        return found

    def _size(self, collection: str) -> int:
        """The collection's approximate size, refreshed at most every SIZE_TTL_S."""
        now = time.monotonic()
        cached = self._sizes.get(collection)
        if cached is None or now - cached[0] > SIZE_TTL_S:
            cached = (now, int(self._db[collection].estimated_document_count()))
            self._sizes[collection] = cached
        return cached[1]

    def _pushes_id_in(self, collection: str) -> bool:
        """Whether the server resolves ``{_id: {$in: [...]}}`` with the _id index: MongoDB does;
        FerretDB says so in its explain (``filterPushdown``). Asked once per store; FerretDB
        plans nothing for a collection it does not have yet, so that answer is not kept."""
        if self._id_in_indexed is None:
            if not self._is_ferretdb():
                self._id_in_indexed = True
            else:
                query = {"find": collection, "filter": {"_id": {"$in": ["a", "b"]}}}
                plan = self._db.command("explain", query)
                if not plan.get("queryPlanner"):
                    return False
                self._id_in_indexed = bool(plan.get("filterPushdown", False))
        return self._id_in_indexed

    def _is_ferretdb(self) -> bool:
        if self._ferretdb is None:
            self._ferretdb = "ferretdbVersion" in self._client.admin.command("buildInfo")
        return self._ferretdb

    @staticmethod
    def _filter(where: Mapping[str, Any] | None) -> dict[str, Any]:
        query: dict[str, Any] = {}
        for field, value in (where or {}).items():
            if isinstance(value, list | tuple | set | frozenset):
                query[field] = {"$in": list(value)}
            else:
                query[field] = value
        return query

    def find(
        self,
        collection: str,
        where: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        query = self._filter(where)
        if after is not None:
            query["_id"] = {"$gt": decode_cursor(after)}
        try:
            found = self._db[collection].find(query, {OUTBOX: 0}).sort("_id", ASCENDING)
            docs = list(found.limit(limit + 1))
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        more = len(docs) > limit
        cursor = encode_cursor(str(docs[limit - 1]["_id"])) if more else None
        return Page(items=[public(decode(d)) for d in docs[:limit]], next_cursor=cursor)  # type: ignore[misc]

    def count(self, collection: str, where: Mapping[str, Any] | None = None) -> int:
        try:
            return int(self._db[collection].count_documents(self._filter(where)))
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def put_if_absent(self, collection: str, doc: Doc) -> Doc | None:
        try:
            self._db[collection].insert_one(encode(doc))
            return None
        except DuplicateKeyError:
            return self.get(collection, str(doc["_id"])) or {}
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def replace(self, collection: str, doc: Doc) -> None:
        self.bulk_replace([BulkUpsert(collection, doc)])

    def bulk_replace(self, upserts: Sequence[BulkUpsert]) -> None:
        by_collection: dict[str, list[ReplaceOne[Doc]]] = {}
        for up in upserts:
            by_collection.setdefault(up.collection, []).append(
                ReplaceOne({"_id": up.doc["_id"]}, encode(up.doc), upsert=True)
            )
        try:
            for name, ops in by_collection.items():
                for start in range(0, len(ops), BULK_CHUNK):
                    self._db[name].bulk_write(ops[start : start + BULK_CHUNK], ordered=False)
        except BulkWriteError as exc:
            raise StoreUnavailable(f"mongodb: bulk write failed: {exc.details}") from exc
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def delete(self, collection: str, doc_id: str) -> None:
        try:
            self._db[collection].delete_one({"_id": doc_id})
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def drop(self, collection: str) -> None:
        try:
            self._db[collection].delete_many({})
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = []
        stale_before = time.time() - STALE_MARKER_S
        try:
            marked: dict[tuple[str, str], list[Doc]] = {}
            for m in self._db[MARKERS].find({}).sort("at", ASCENDING).limit(limit):
                marked.setdefault((str(m["c"]), str(m["d"])), []).append(m)
            for (collection, doc_id), markers in marked.items():
                doc = self._db[collection].find_one({"_id": doc_id}, {OUTBOX: 1, COMMANDS: 1})
                landed = set((doc or {}).get(COMMANDS) or [])
                done = tuple(
                    str(m["_id"])
                    for m in markers
                    if m.get("cmd") in landed or float(m.get("at", 0)) < stale_before
                )
                items = sorted(
                    decode((doc or {}).get(OUTBOX) or {}).values(), key=lambda i: i["at"]
                )
                if items:
                    events = [i["event"] for i in items]
                    entries.append(MarkedEntry(collection, doc_id, events, items[0]["at"], done))
                else:
                    self._markers_delete(done)
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        entries.sort(key=lambda e: e.created_at)
        return entries[:limit]

    def outbox_ack(self, entry: OutboxEntry) -> None:
        ids = [str(e["id"]) for e in entry.events]
        try:
            # by _id alone (the one filter FerretDB resolves with an index); unsetting the
            # same ids twice changes nothing, so a repeated ack is harmless
            self._db[entry.collection].update_one(
                {"_id": entry.doc_id}, {"$unset": {f"{OUTBOX}.{i}": "" for i in ids}}
            )
            if isinstance(entry, MarkedEntry):
                self._markers_delete(entry.landed_markers)
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def outbox_backlog(self) -> int:
        total = 0
        try:
            marked = {(str(m["c"]), str(m["d"])) for m in self._db[MARKERS].find({}, {"_id": 0})}
            for collection, doc_id in sorted(marked):
                doc = self._db[collection].find_one({"_id": doc_id}, {OUTBOX: 1})
                total += len((doc or {}).get(OUTBOX) or {})
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        return total

    def ping(self) -> None:
        try:
            self._client.admin.command("ping")
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def reopener(self) -> Callable[[], Store] | None:
        url, database, timeout_ms = self._opened_with
        return functools.partial(MongoStore, url, database, timeout_ms=timeout_ms)

    def close(self) -> None:
        self._client.close()
