"""One contract, both store adapters: SQLite (embedded) and MongoDB wire (FerretDB)."""

from __future__ import annotations

import pytest

from shared.ports.store import (
    BulkUpsert,
    CollectionSpec,
    DuplicateId,
    Store,
)

COLL = "things"


@pytest.fixture
def things(store: Store) -> Store:
    store.ensure([CollectionSpec(COLL, indexes=("village_code",), outbox=True)])
    return store


def event(eid: str, village: str = "3204052001") -> dict:
    return {
        "id": eid,
        "type": "lumbung.registry.household_registered.v1",
        "source": "/lumbung/registry",
        "villagecode": village,
        "data": {},
    }


def test_insert_stores_state_and_its_events_together(things: Store) -> None:
    things.insert(
        COLL,
        {"_id": "a", "village_code": "1", "n": 1},
        events=[event("e1"), event("e2")],
        command_id="c1",
    )
    assert things.get(COLL, "a")["n"] == 1
    pending = things.outbox_pending(10)
    assert [(p.doc_id, [e["id"] for e in p.events]) for p in pending] == [("a", ["e1", "e2"])]
    assert things.outbox_backlog() == 2


def test_duplicate_insert_writes_neither_state_nor_events(things: Store) -> None:
    things.insert(COLL, {"_id": "a", "n": 1}, events=[event("e1")], command_id="c1")
    with pytest.raises(DuplicateId) as dup:
        things.insert(COLL, {"_id": "a", "n": 2}, events=[event("e2")], command_id="c2")
    assert "c1" in dup.value.existing["_cmds"]
    assert things.get(COLL, "a")["n"] == 1
    assert [e["id"] for p in things.outbox_pending(10) for e in p.events] == ["e1"]


def test_update_applies_once_per_command(things: Store) -> None:
    things.insert(COLL, {"_id": "a", "n": 1}, command_id="c1")
    assert (
        things.update(COLL, "a", set_fields={"n": 2}, events=[event("e2")], command_id="c2")
        == "applied"
    )
    assert (
        things.update(COLL, "a", set_fields={"n": 3}, events=[event("e3")], command_id="c2")
        == "already_applied"
    )
    assert things.get(COLL, "a")["n"] == 2
    assert [e["id"] for p in things.outbox_pending(10) for e in p.events] == ["e2"]
    assert things.update(COLL, "zz", set_fields={"n": 1}, command_id="c9") == "missing"
    assert (
        things.update(COLL, "a", set_fields={"n": 9}, command_id="c10", expect={"n": 5})
        == "precondition_failed"
    )
    assert things.get(COLL, "a")["n"] == 2


def test_ack_removes_only_the_published_events(things: Store) -> None:
    things.insert(COLL, {"_id": "a"}, events=[event("e1")], command_id="c1")
    taken = things.outbox_pending(10)
    things.update(COLL, "a", set_fields={"x": 1}, events=[event("e2")], command_id="c2")
    for entry in taken:
        things.outbox_ack(entry)
    assert [e["id"] for p in things.outbox_pending(10) for e in p.events] == ["e2"]
    assert things.outbox_backlog() == 1
    for entry in things.outbox_pending(10):
        things.outbox_ack(entry)
    assert things.outbox_pending(10) == []
    assert things.outbox_backlog() == 0
    assert things.get(COLL, "a")["x"] == 1


def test_outbox_is_served_oldest_write_first(things: Store) -> None:
    for i in range(5):
        things.insert(COLL, {"_id": f"d{4 - i}"}, events=[event(f"e{i}")], command_id=f"c{i}")
    ids = [e["id"] for p in things.outbox_pending(10) for e in p.events]
    assert ids == ["e0", "e1", "e2", "e3", "e4"]
    assert len(things.outbox_pending(2)) == 2


def test_find_filters_and_pages_by_cursor(things: Store) -> None:
    for i in range(7):
        things.insert(
            COLL, {"_id": f"h{i}", "village_code": "A" if i % 2 else "B"}, command_id=f"c{i}"
        )
    first = things.find(COLL, {"village_code": "B"}, limit=2)
    assert [d["_id"] for d in first.items] == ["h0", "h2"]
    second = things.find(COLL, {"village_code": "B"}, limit=2, after=first.next_cursor)
    assert [d["_id"] for d in second.items] == ["h4", "h6"]
    assert second.next_cursor is None
    assert things.count(COLL, {"village_code": ["A", "B"]}) == 7
    assert things.count(COLL, {"village_code": []}) == 0
    assert set(things.get_many(COLL, ["h1", "h3", "nope"])) == {"h1", "h3"}


def test_put_if_absent_returns_the_existing_document(things: Store) -> None:
    assert things.put_if_absent("claims", {"_id": "k", "v": 1}) is None
    assert things.put_if_absent("claims", {"_id": "k", "v": 2})["v"] == 1


def test_bulk_replace_upserts_whole_documents(things: Store) -> None:
    things.bulk_replace(
        [BulkUpsert("views", {"_id": "v1", "n": 1}), BulkUpsert("views", {"_id": "v2", "n": 2})]
    )
    things.bulk_replace([BulkUpsert("views", {"_id": "v1", "m": 5})])
    assert things.get("views", "v1") == {"_id": "v1", "m": 5}
    assert things.get("views", "v2")["n"] == 2
    things.delete("views", "v2")
    assert things.get("views", "v2") is None
    things.drop("views")
    assert things.count("views") == 0 and things.get("views", "v1") is None


def test_lists_inside_lists_round_trip(things: Store) -> None:
    """Ledgers keep [[day, time, value], ...]; FerretDB 1.x refuses nested arrays as such."""
    nested = {
        "upd": [["2026-01-01", "t1", 3], ["2026-02-01", "t2", [4, [5]]]],
        "plain": [1, 2],
        "map": {"pre": [["d", 1.5]]},
        "empty": [[]],
    }
    things.insert(COLL, {"_id": "n1", **nested}, events=[event("e1")], command_id="c1")
    assert {k: things.get(COLL, "n1")[k] for k in nested} == nested
    things.bulk_replace([BulkUpsert("views", {"_id": "n2", **nested})])
    assert {k: things.get("views", "n2")[k] for k in nested} == nested
    assert {k: things.find("views", {}).items[0][k] for k in nested} == nested
    assert things.update(COLL, "n1", set_fields={"upd": [["x", 1]]}, command_id="c2") == "applied"
    assert things.get_many(COLL, ["n1"])["n1"]["upd"] == [["x", 1]]
    assert things.put_if_absent("claims", {"_id": "k", "v": [[1]]}) is None
    assert things.get("claims", "k")["v"] == [[1]]


def test_a_repeated_ack_changes_nothing(things: Store) -> None:
    """Two relays (or a retry after a lost answer) may ack the same entry twice."""
    things.insert(COLL, {"_id": "a"}, events=[event("e1")], command_id="c1")
    taken = things.outbox_pending(10)
    for entry in taken:
        things.outbox_ack(entry)
    things.update(COLL, "a", set_fields={"x": 1}, events=[event("e2")], command_id="c2")
    for entry in taken:
        things.outbox_ack(entry)
    assert [e["id"] for p in things.outbox_pending(10) for e in p.events] == ["e2"]
    assert things.outbox_backlog() == 1


def test_failed_writes_leave_nothing_to_publish(things: Store) -> None:
    things.insert(COLL, {"_id": "a", "n": 1}, events=[event("e1")], command_id="c1")
    for entry in things.outbox_pending(10):
        things.outbox_ack(entry)
    with pytest.raises(DuplicateId):
        things.insert(COLL, {"_id": "a"}, events=[event("e2")], command_id="c2")
    outcome = things.update(
        COLL, "a", set_fields={"n": 9}, events=[event("e3")], command_id="c3", expect={"n": 5}
    )
    assert outcome == "precondition_failed"
    assert things.update(COLL, "zz", set_fields={}, events=[event("e4")], command_id="c4") == (
        "missing"
    )
    assert things.outbox_pending(10) == []
    assert things.outbox_backlog() == 0
