"""The event catalogue refuses days before EARLIEST_DAY (1945-08-17): such an event is
invalid, goes to the dead-letter topic with a reason naming the field, and the published
JSON Schema refuses it as well (its pattern is derived from the same constant)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from shared.adapters.inproc_bus import InProcessBus
from shared.commands import build_event
from shared.consumer import ConsumerWorker
from shared.events import catalogue as ev
from shared.events.catalogue import (
    EARLIEST_DAY,
    InvalidEvent,
    _decode_carefully,
    decode_event,
    on_or_after_pattern,
)
from shared.events.envelope import DEADLETTER_TOPIC
from shared.ports.bus import Message
from tests.events_schema import validate_envelope
from tests.unit.test_consumer_deadletters import Collect
from tests.unit.test_events import good

DAY_BEFORE = "1945-08-16"


def test_the_earliest_day_is_the_founding_of_the_republic() -> None:
    assert date(1945, 8, 17) == EARLIEST_DAY


@pytest.mark.parametrize("raw_type", [str, bytes], ids=["one pass", "careful"])
def test_an_event_before_the_earliest_day_is_invalid_naming_the_field(raw_type: type) -> None:
    def raw(event: dict) -> str | bytes:
        text = json.dumps(event)
        return text if raw_type is str else text.encode()

    with pytest.raises(InvalidEvent) as refused:
        decode_event(raw(good(occurred_on=DAY_BEFORE)))
    assert "occurred_on" in refused.value.reason
    assert "must not be before 1945-08-17" in refused.value.reason
    with pytest.raises(InvalidEvent):
        decode_event(raw(good(occurred_on="0001-01-01")))
    _envelope, payload = decode_event(raw(good(occurred_on="1945-08-17")))
    assert payload.occurred_on == EARLIEST_DAY


def test_a_programme_cannot_start_or_end_before_the_earliest_day() -> None:
    fields = {
        "occurred_on": date(2026, 1, 5),
        "program_id": "prg-1",
        "title": "Pelatihan",
        "organizer": "RKDD",
        "village_codes": ["3204052001"],
        "start_on": date(2026, 1, 5),
        "end_on": date(2026, 1, 9),
    }
    event = build_event(
        ev.ProgramCreated(**fields), village_code="3204052001", subject=None, event_id="ev-p"
    )
    for field in ("start_on", "end_on", "occurred_on"):
        with pytest.raises(ValidationError) as refused:
            ev.ProgramCreated(**{**fields, field: date(1945, 8, 16)})
        assert [e["loc"] for e in refused.value.errors()] == [(field,)]
        bad = {**event, "data": {**event["data"], field: DAY_BEFORE}}
        with pytest.raises(InvalidEvent, match=field):
            _decode_carefully(json.dumps(bad))
        with pytest.raises(SchemaError):
            validate_envelope(bad)


def test_an_event_before_the_earliest_day_goes_to_the_dead_letter_topic() -> None:
    bus = InProcessBus(partitions=1)
    topic = "lumbung.commerce.v1"
    bus.publish(
        [
            Message(topic, "3204052001", json.dumps(good(occurred_on=DAY_BEFORE)).encode()),
            Message(
                topic,
                "3204052001",
                json.dumps({**good(occurred_on="1945-08-17"), "id": "ev-2"}).encode(),
            ),
        ]
    )
    handler = Collect()
    worker = ConsumerWorker(bus, "agg", [topic], handler, poll_timeout_s=0.05)
    assert worker.run_until_idle() == 2
    assert handler.ids == ["ev-2"]
    [dead] = bus.consumer("inspect", [DEADLETTER_TOPIC]).poll(10, 0.1)
    reason = json.loads(dead.value)["reason"]
    assert "occurred_on" in reason and "1945-08-17" in reason


def test_the_published_schema_refuses_what_the_catalogue_refuses() -> None:
    with pytest.raises(SchemaError):
        validate_envelope(good(occurred_on=DAY_BEFORE))
    validate_envelope(good(occurred_on="1945-08-17"))


@pytest.mark.parametrize(
    "earliest",
    [EARLIEST_DAY, date(2000, 1, 1), date(1999, 12, 31), date(2024, 2, 29), date(1909, 9, 9)],
)
def test_the_schema_pattern_matches_exactly_the_days_from_the_earliest_on(earliest: date) -> None:
    pattern = re.compile(on_or_after_pattern(earliest))
    near = [earliest + timedelta(days=n) for n in range(-800, 800)]
    every_year = [date(y, m, d) for y in range(1, 10000) for m, d in ((1, 1), (12, 31))]
    wrong = [
        day.isoformat()
        for day in [*near, *every_year]
        if bool(pattern.search(day.isoformat())) != (day >= earliest)
    ]
    assert not wrong, wrong[:10]
