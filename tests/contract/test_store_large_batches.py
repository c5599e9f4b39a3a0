"""Store contract, large batches: what the aggregator writes after a full poll."""

from __future__ import annotations

from shared.ports.store import BulkUpsert, CollectionSpec, Store


def test_a_bulk_replace_of_hundreds_of_existing_documents_completes(store: Store) -> None:
    # FerretDB 1.24 hung on one update command replacing more than ~100 existing
    # documents (the store must split its bulk writes); every document must land.
    store.ensure([CollectionSpec("ledgers")])
    docs = [{"_id": f"hh-{i:04d}", "n": 0, "rows": [[i, "a"]]} for i in range(450)]
    store.bulk_replace([BulkUpsert("ledgers", d) for d in docs])
    store.bulk_replace([BulkUpsert("ledgers", {**d, "n": 1}) for d in docs])
    found = store.get_many("ledgers", [d["_id"] for d in docs])
    assert len(found) == 450
    assert {doc["n"] for doc in found.values()} == {1}
    assert found["hh-0449"]["rows"] == [[449, "a"]]
