"""get_many: a few ids in a collection of thousands, on every store adapter; and the local
FerretDB build resolves ``{_id: {$in: [...]}}`` with the _id index (``patch_id_in`` in
deploy/local/ferretdb.sh), so the MongoDB adapter reads those ids in one query."""

from __future__ import annotations

import time

import pytest
from pymongo import MongoClient

from shared.adapters.mongo_store import MongoStore
from shared.ports.store import BulkUpsert, CollectionSpec, Store
from tests.contract.test_mongo_outbox import Commands

LEDGERS = "ledgers"


def test_get_many_returns_exactly_the_stored_documents(store: Store) -> None:
    store.ensure([CollectionSpec(LEDGERS)])
    docs = {f"hh-{i:04d}": {"_id": f"hh-{i:04d}", "n": i, "rows": [[i, "a"]]} for i in range(2500)}
    store.bulk_replace([BulkUpsert(LEDGERS, d) for d in docs.values()])
    wanted = ["hh-0007", "hh-1234", "missing", "hh-2499", "hh-0007", "hh-0000"]
    expected = {k: docs[k] for k in ("hh-0007", "hh-1234", "hh-2499", "hh-0000")}
    assert store.get_many(LEDGERS, wanted) == expected
    if isinstance(store, MongoStore):  # and the other of its two paths (one $in / id by id)
        store._id_in_indexed = not store._pushes_id_in(LEDGERS)
        assert store.get_many(LEDGERS, wanted) == expected


def test_our_ferretdb_resolves_id_in_with_the_index(mongo_url: str) -> None:
    listener = Commands()
    raw: MongoClient = MongoClient(mongo_url, event_listeners=[listener])
    if "ferretdbVersion" not in raw.admin.command("buildInfo"):
        raw.close()
        pytest.skip("not FerretDB: MongoDB resolves an _id $in with its index anyway")
    store = MongoStore(mongo_url, f"t_idin_{time.time_ns()}")
    store._client.close()
    store._client, store._db = raw, raw[store._db.name]  # type: ignore[assignment]
    try:
        store.ensure([CollectionSpec(LEDGERS)])
        store.bulk_replace([BulkUpsert(LEDGERS, {"_id": f"hh-{i}"}) for i in range(100)])
        plan = store._db.command("explain", {"find": LEDGERS, "filter": {"_id": {"$in": ["a"]}}})
        assert plan.get("filterPushdown") is True, plan
        assert "USING INDEX" in str(plan["queryPlanner"]), plan
        listener.seen.clear()
        # 3 ids x PER_ID_FACTOR < 100 documents: a stock FerretDB would be read id by id
        assert sorted(store.get_many(LEDGERS, ["hh-1", "hh-50", "nope"])) == ["hh-1", "hh-50"]
        assert store._id_in_indexed is True
        finds = [cmd["filter"] for name, coll, cmd in listener.seen if coll == LEDGERS]
        assert finds == [{"_id": {"$in": ["hh-1", "hh-50", "nope"]}}]
    finally:
        raw.drop_database(store._db.name)
        store.close()
