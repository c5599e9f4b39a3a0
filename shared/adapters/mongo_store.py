"""MongoDB adapter of the store port (MongoDB 6+ and FerretDB 1.24).

Every write is one single-document operation: no transactions, change streams or $lookup.
The outbox lives inside the document (``_outbox`` keyed by event id), so the state change and
its events are stored together, and ``outbox_ack`` unsets exactly the published ids.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, MongoClient, ReplaceOne
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


class MongoStore(Store):
    def __init__(self, url: str, database: str, *, timeout_ms: int = 3000) -> None:
        self._client: MongoClient[Doc] = MongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=max(timeout_ms * 4, 10_000),
            retryWrites=False,  # FerretDB 1.x has no retryable writes; our writes are redo-safe
            tz_aware=True,
        )
        self._db = self._client[database]
        self._outbox_collections: set[str] = set()

    def _guard(self, exc: PyMongoError) -> StoreUnavailable:
        return StoreUnavailable(f"mongodb: {type(exc).__name__}: {str(exc)[:200]}")

    def ensure(self, specs: Sequence[CollectionSpec]) -> None:
        try:
            for spec in specs:
                coll = self._db[spec.name]
                for field in spec.indexes:
                    coll.create_index([(field, ASCENDING), ("_id", ASCENDING)])
                if spec.outbox:
                    coll.create_index([(PENDING, ASCENDING), (OUTBOX_AT, ASCENDING)])
                    self._outbox_collections.add(spec.name)
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def insert(
        self, collection: str, doc: Doc, *, events: Sequence[Doc] = (), command_id: str
    ) -> None:
        try:
            self._db[collection].insert_one(encode(new_doc(doc, events, command_id)))
        except DuplicateKeyError:
            existing = self.get(collection, str(doc["_id"]))
            raise DuplicateId(existing or {"_id": doc["_id"]}) from None
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        if events:
            self._outbox_collections.add(collection)

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
        now = time.time()
        to_set = encode(
            {**set_fields, **{f"{OUTBOX}.{k}": v for k, v in outbox_items(events).items()}}
        )
        changes: dict[str, Any] = {
            "$push": {COMMANDS: {"$each": [command_id], "$slice": -RECENT_COMMANDS}},
        }
        if to_set:
            changes["$set"] = to_set
        if events:
            changes["$inc"] = {PENDING: len(events)}
            changes["$min"] = {OUTBOX_AT: now}
        query: dict[str, Any] = {"_id": doc_id, COMMANDS: {"$ne": command_id}, **(expect or {})}
        try:
            result = self._db[collection].update_one(query, changes)
            if result.matched_count == 1:
                if events:
                    self._outbox_collections.add(collection)
                return "applied"
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
            for start in range(0, len(ids), 1000):
                cursor = self._db[collection].find(
                    {"_id": {"$in": ids[start : start + 1000]}}, {OUTBOX: 0}
                )
                for doc in cursor:
                    found[str(doc["_id"])] = public(decode(doc))  # type: ignore[assignment]
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        return found

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
                self._db[name].bulk_write(ops, ordered=False)
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
        try:
            for name in sorted(self._outbox_collections):
                cursor = (
                    self._db[name]
                    .find({PENDING: {"$gt": 0}}, {OUTBOX: 1})
                    .sort(OUTBOX_AT, ASCENDING)
                    .limit(limit)
                )
                for doc in cursor:
                    items = sorted(decode(doc.get(OUTBOX) or {}).values(), key=lambda i: i["at"])
                    if items:
                        entries.append(
                            OutboxEntry(
                                name, str(doc["_id"]), [i["event"] for i in items], items[0]["at"]
                            )
                        )
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        entries.sort(key=lambda e: e.created_at)
        return entries[:limit]

    def outbox_ack(self, entry: OutboxEntry) -> None:
        ids = [str(e["id"]) for e in entry.events]
        try:
            self._db[entry.collection].update_one(
                {"_id": entry.doc_id, **{f"{OUTBOX}.{i}": {"$exists": True} for i in ids}},
                {"$unset": {f"{OUTBOX}.{i}": "" for i in ids}, "$inc": {PENDING: -len(ids)}},
            )
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def outbox_backlog(self) -> int:
        total = 0
        try:
            for name in sorted(self._outbox_collections):
                for row in self._db[name].find({PENDING: {"$gt": 0}}, {PENDING: 1}):
                    total += int(row.get(PENDING, 0))
        except PyMongoError as exc:
            raise self._guard(exc) from exc
        return total

    def ping(self) -> None:
        try:
            self._client.admin.command("ping")
        except PyMongoError as exc:
            raise self._guard(exc) from exc

    def close(self) -> None:
        self._client.close()
