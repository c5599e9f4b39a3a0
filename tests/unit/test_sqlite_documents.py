"""SqliteStore keeps documents as JSON text written by orjson, and by the standard library
for what orjson refuses; either way a document reads back as the standard library alone
would have stored it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.sqlite_store import SqliteStore
from shared.ports.store import CollectionSpec

STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


CASES = {
    "plain": {"name": "Ibu Sari", "n": 3, "share": 0.1 + 0.2, "tags": ["a", "ß"], "ok": None},
    "big integers": {"sum": 2**200, "negative": -(2**70), "edge": 2**64 - 1},
    "keys that are not strings": {"by_year": {2024: 1, 2025: 2}},
    "dates and decimals": {
        "day": date(2026, 11, 29),
        "at": datetime(2026, 11, 29, 10, 0, tzinfo=UTC),
        "price": Decimal("12.50"),
    },
    "deep nesting": {"deep": nested(300)},
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_document_reads_back_as_the_standard_library_would_store_it(name: str) -> None:
    store = SqliteStore(":memory:")
    store.ensure([CollectionSpec("things")])
    doc = {"_id": "x", **CASES[name]}
    store.replace("things", doc)
    got = store.get("things", "x")
    assert got is not None
    assert got == json.loads(STDLIB(doc))
    if name == "big integers":
        assert got["sum"] == 2**200 and isinstance(got["sum"], int)  # never a float
    store.close()
