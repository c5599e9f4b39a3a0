"""The MongoDB adapter's outbox index: the relay finds unpublished events through small
marker documents, never by scanning a data collection (FerretDB 1.x resolves only a lone
``{_id: x}`` filter with an index), and no event written while the relay works is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pymongo import MongoClient, monitoring

from shared.adapters.mongo_store import MARKERS, STALE_MARKER_S, MongoStore
from shared.ports.store import CollectionSpec
from tests.conftest import _drop_mongo, _mongo_store
from tests.contract.test_store_contract import COLL, event


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict]] = []

    def started(self, e: monitoring.CommandStartedEvent) -> None:
        name = e.command_name
        if name in ("find", "update", "delete", "insert", "aggregate", "count"):
            self.seen.append((name, str(e.command.get(name)), dict(e.command)))

    def succeeded(self, e: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, e: monitoring.CommandFailedEvent) -> None: ...


@pytest.fixture
def mongo(mongo_url: str) -> Iterator[tuple[MongoStore, MongoClient]]:
    store, name = _mongo_store(mongo_url)
    assert isinstance(store, MongoStore)
    store.ensure([CollectionSpec(COLL, indexes=("village_code",), outbox=True)])
    raw: MongoClient = MongoClient(mongo_url)
    yield store, raw[name]
    store.close()
    raw.close()
    _drop_mongo(mongo_url, name)


def _data_filters(commands: Commands) -> list[dict]:
    """Every filter the store sent to the data collection."""
    filters = []
    for name, coll, cmd in commands.seen:
        if coll != COLL:
            continue
        if name == "find":
            filters.append(cmd.get("filter", {}))
        elif name in ("update", "delete"):
            key = "updates" if name == "update" else "deletes"
            filters.extend(op["q"] for op in cmd[key])
        else:
            filters.append({"<" + name + ">": True})
    return filters


def test_the_relay_touches_data_documents_by_id_only(mongo_url: str) -> None:
    listener = Commands()
    store = MongoStore(mongo_url, f"t_obx_{time.time_ns()}")
    store._client.close()
    store._client = MongoClient(mongo_url, event_listeners=[listener])  # type: ignore[assignment]
    store._db = store._client[store._db.name]
    try:
        store.ensure([CollectionSpec(COLL, outbox=True)])
        for i in range(30):  # history: written and published
            store.insert(COLL, {"_id": f"old{i}"}, events=[event(f"o{i}")], command_id=f"o{i}")
        for entry in store.outbox_pending(100):
            store.outbox_ack(entry)
        store.insert(COLL, {"_id": "new"}, events=[event("n1")], command_id="n1")
        listener.seen.clear()
        entries = store.outbox_pending(100)
        for entry in entries:
            store.outbox_ack(entry)
        assert store.outbox_backlog() == 0
        assert [e["id"] for p in entries for e in p.events] == ["n1"]
        filters = _data_filters(listener)
        # one read and one ack of the "new" document, by _id alone; the 30 published ones
        # are never touched, and the backlog (no marker left) reads no document at all
        assert filters == [{"_id": "new"}] * 2, filters
    finally:
        store._client.drop_database(store._db.name)
        store.close()


def test_a_write_in_flight_keeps_its_marker_until_it_has_landed(
    mongo: tuple[MongoStore, MongoClient],
) -> None:
    store, db = mongo
    store.insert(COLL, {"_id": "a"}, events=[event("e1")], command_id="c1")
    # a second write to "a" has inserted its marker, its document write not yet landed
    in_flight = store._marker_insert(COLL, "a", "c2")
    for entry in store.outbox_pending(10):
        store.outbox_ack(entry)
    assert db[MARKERS].find_one({"_id": in_flight}) is not None
    # the write lands now (as update() would write it)
    db[COLL].update_one(
        {"_id": "a"},
        {
            "$set": {"_outbox.e2": {"at": time.time(), "event": event("e2")}},
            "$push": {"_cmds": "c2"},
        },
    )
    pending = store.outbox_pending(10)
    assert [e["id"] for p in pending for e in p.events] == ["e2"]
    for entry in pending:
        store.outbox_ack(entry)
    assert store.outbox_pending(10) == []
    assert db[MARKERS].count_documents({}) == 0


def test_a_marker_left_by_a_crashed_writer_is_dropped_once_stale(
    mongo: tuple[MongoStore, MongoClient],
) -> None:
    store, db = mongo
    store._marker_insert(COLL, "never-written", "c9")
    assert store.outbox_pending(10) == []
    assert db[MARKERS].count_documents({}) == 1  # maybe still in flight: kept
    db[MARKERS].update_many({}, {"$set": {"at": time.time() - STALE_MARKER_S - 1}})
    assert store.outbox_pending(10) == []
    assert db[MARKERS].count_documents({}) == 0


def test_documents_written_before_markers_existed_are_found(mongo_url: str) -> None:
    store, name = _mongo_store(mongo_url)
    raw: MongoClient = MongoClient(mongo_url)
    try:
        item = {"at": 1.0, "event": event("legacy")}
        raw[name][COLL].insert_one(
            {"_id": "old", "_cmds": ["c0"], "_outbox": {"legacy": item}, "_pending": 1}
        )
        store.ensure([CollectionSpec(COLL, outbox=True)])
        store.ensure([CollectionSpec(COLL, outbox=True)])  # the sweep runs once
        assert raw[name][MARKERS].count_documents({}) == 1
        pending = store.outbox_pending(10)
        assert [e["id"] for p in pending for e in p.events] == ["legacy"]
        for entry in pending:
            store.outbox_ack(entry)
        assert store.outbox_backlog() == 0
        assert raw[name][MARKERS].count_documents({}) == 0
    finally:
        store.close()
        raw.close()
        _drop_mongo(mongo_url, name)


def test_get_many_finds_the_same_documents_one_by_one_or_in_one_query(
    mongo: tuple[MongoStore, MongoClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _db = mongo
    for i in range(30):
        store.insert(COLL, {"_id": f"d{i}", "n": i, "upd": [[i, "x"]]}, command_id=f"c{i}")
    wanted = ["d3", "d7", "nope", "d29", "d3"]
    answers = []
    for factor in (0, 1000):  # 0: always id by id (on FerretDB); 1000: always one $in
        monkeypatch.setattr("shared.adapters.mongo_store.PER_ID_FACTOR", factor)
        store._sizes.clear()
        answers.append(store.get_many(COLL, wanted))
    assert answers[0] == answers[1]
    assert sorted(answers[0]) == ["d29", "d3", "d7"]
    assert answers[0]["d7"] == {"_id": "d7", "n": 7, "upd": [[7, "x"]], "_cmds": ["c7"]}
