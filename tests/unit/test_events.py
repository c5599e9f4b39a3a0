"""The event contract: envelope, typed payloads, vocabularies and decoding failures."""

from __future__ import annotations

import json
from datetime import date

import pytest

from shared.commands import build_event
from shared.demo import DemoConfig, generate, to_events
from shared.events import catalogue as ev
from shared.events.catalogue import EVENT_MODELS, InvalidEvent, _decode_carefully, decode_event


def good(**data_overrides: object) -> dict:
    event = build_event(
        ev.SaleRecorded(
            occurred_on=date(2026, 11, 27),
            business_id="biz-1",
            household_id="hh-1",
            channel="shopee",
            quantity=2,
            unit_price=15000,
            amount=30000,
        ),
        village_code="3204052001",
        subject="hh-1",
        event_id="ev-1",
    )
    event["data"].update(data_overrides)
    return event


def test_every_catalogue_event_has_a_model_and_occurred_on() -> None:
    assert len(EVENT_MODELS) == 33
    for etype, model in EVENT_MODELS.items():
        assert etype.startswith("lumbung.") and etype.endswith(".v1")
        assert "occurred_on" in model.model_fields


def test_a_built_event_is_a_cloudevent_that_round_trips() -> None:
    envelope, payload = decode_event(json.dumps(good()).encode())
    assert envelope.specversion == "1.0"
    assert envelope.type == "lumbung.commerce.sale_recorded.v1"
    assert envelope.source == "/lumbung/commerce"
    assert envelope.villagecode == "3204052001"
    assert payload.amount == 30000 and payload.occurred_on == date(2026, 11, 27)


def test_the_one_pass_decoding_gives_what_the_careful_one_gives() -> None:
    demo = DemoConfig(seed=2, households=30, villages=5, today=date(2026, 11, 28))
    later = good(added_later=[1, 2])
    later["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    events = [*to_events(generate(demo)), later]
    assert len({e["type"] for e in events}) >= 25
    for event in events:
        raw = json.dumps(event)
        fast, careful = decode_event(raw), _decode_carefully(raw)
        assert fast == careful
        assert fast[0].model_fields_set == careful[0].model_fields_set
        assert fast[0].data is fast[1]
        assert fast[1] == EVENT_MODELS[event["type"]].model_validate(event["data"])
    assert fast[0].model_extra == {"traceparent": later["traceparent"]}


def test_unknown_fields_are_ignored_by_consumers() -> None:
    _, payload = decode_event(json.dumps(good(new_field="x")).encode())
    assert not hasattr(payload, "new_field")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (
            json.dumps({**good(), "type": "lumbung.commerce.unknown_thing.v1"}).encode(),
            "unknown event type",
        ),
        (
            json.dumps({k: v for k, v in good().items() if k != "villagecode"}).encode(),
            "villagecode",
        ),
        (json.dumps(good(channel="telegram")).encode(), "channel"),
        (json.dumps(good(amount=-5)).encode(), "amount"),
        (json.dumps(good(occurred_on="2026-02-30")).encode(), "occurred_on"),
        (b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}', "too large"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "RecursionError"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not JSON: ValueError"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as err:
        decode_event(raw)
    assert reason in err.value.reason


def test_events_never_carry_names_or_identity_numbers() -> None:
    forbidden = {"nik", "kk_number", "head_name", "participant_name", "phone"}
    for model in EVENT_MODELS.values():
        assert not forbidden & set(model.model_fields)
