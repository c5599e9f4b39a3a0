"""The shared payload builder and scan of ``shared/recording.py`` the domain routes rely on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.agriculture.models import SaleCreate as ProduceSaleCreate
from services.commerce.models import SaleCreate
from services.training.models import EnrolmentCreate
from shared.adapters.docs import encode_cursor
from shared.adapters.sqlite_store import SqliteStore
from shared.events import catalogue as ev
from shared.pagination import MAX_LIMIT
from shared.ports.store import BulkUpsert, CollectionSpec, scan
from shared.recording import build_from, data_fields, payload_from

DAY = date(2026, 3, 1)


def test_payload_takes_only_the_fields_the_payload_declares() -> None:
    body = EnrolmentCreate(
        household_id="hh-1", village_code="3204052001", participant_name="Siti Aminah"
    )
    payload = payload_from(ev.ParticipantEnrolled, body, DAY, program_id="prog-1")
    # A name is personal data: the request carries it, the event must not.
    assert payload.model_dump(mode="json") == {
        "occurred_on": "2026-03-01",
        "program_id": "prog-1",
        "household_id": "hh-1",
    }


def test_refs_override_the_body_and_the_day_is_the_records_not_the_bodys() -> None:
    body = ProduceSaleCreate(
        household_id="hh-1",
        village_code="3204052001",
        crop="Cabai  Rawit",
        kg=2.5,
        price_per_kg=10_000,
        channel="middleman",
        occurred_on=date(2026, 1, 5),
    )
    payload = payload_from(ev.ProduceSold, body, DAY, amount=25_000, household_id="hh-2")
    assert payload == ev.ProduceSold(
        occurred_on=DAY,
        household_id="hh-2",
        crop="cabai rawit",
        kg=2.5,
        price_per_kg=10_000,
        amount=25_000,
        channel="middleman",
    )


def test_a_derived_value_out_of_the_payloads_limits_raises() -> None:
    body = EnrolmentCreate(household_id="hh-1", village_code="3204052001")
    with pytest.raises(ValidationError):
        payload_from(ev.ParticipantEnrolled, body, DAY, program_id="not an id!")


def test_build_puts_the_new_id_the_document_fields_then_the_data() -> None:
    body = SaleCreate(channel="whatsapp", quantity=3, unit_price=5_000)
    owner = {"business_id": "biz-1", "household_id": "hh-1"}
    build = build_from(ev.SaleRecorded, body, doc={"kind": "sale"}, amount=15_000, **owner)
    fields, payload = build("sale-1", DAY)
    assert isinstance(payload, ev.SaleRecorded)
    assert payload.occurred_on == DAY
    assert list(fields) == [
        "kind",
        "business_id",
        "household_id",
        "channel",
        "quantity",
        "unit_price",
        "amount",
    ]
    kept = build_from(ev.SaleRecorded, body, keep_none=True, amount=15_000, **owner)
    assert kept("sale-1", DAY)[0]["product_id"] is None
    assert "product_id" not in data_fields(payload)

    herd = build_from(ev.HerdRegistered, body, id_as="herd_id", household_id="hh-1")
    with pytest.raises(ValidationError):  # the sale body has no species or count
        herd("herd-1", DAY)


def test_scan_reads_every_page(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.ensure([CollectionSpec("things", indexes=("group",))])
    total = MAX_LIMIT * 2 + 3
    store.bulk_replace(
        [
            BulkUpsert("things", {"_id": f"t{i:05d}", "group": "a" if i % 3 else "b"})
            for i in range(total)
        ]
    )
    assert [d["_id"] for d in scan(store, "things", {})] == [f"t{i:05d}" for i in range(total)]
    only_b = [d["_id"] for d in scan(store, "things", {"group": "b"})]
    assert only_b == [f"t{i:05d}" for i in range(0, total, 3)]
    assert [d["_id"] for d in scan(store, "things", {}, after=encode_cursor("t01000"))] == [
        "t01001",
        "t01002",
    ]
