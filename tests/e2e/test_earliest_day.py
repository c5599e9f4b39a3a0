"""No request takes a date before EARLIEST_DAY (1945-08-17, the founding of the Republic):
every date field of every request body refuses 1945-08-16 with a 422 problem naming it, in
both languages, and records nothing; 1945-08-17 is accepted and reaches the event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from services.main import embedded_app
from shared.events.catalogue import EARLIEST_DAY, decode_event, on_or_after_pattern
from shared.settings import Settings
from tests.e2e import test_write_routes as write_routes
from tests.e2e.routecases import WriteCase, all_cases
from tests.e2e.test_write_routes import events_of_type, prepare, send
from tests.events_schema import validate_envelope

api = write_routes.api
DAY_BEFORE = "1945-08-16"
FIRST_DAY = "1945-08-17"
# routes whose dates have no other rule (training facts must fall within their programme)
ACCEPTING = (
    "registry register village",
    "registry register household",
    "registry update household",
    "registry record idm",
    "training create program",
    "commerce register business",
    "agriculture register plot",
    "agriculture register farmer group",
    "livestock register herd",
)


def _date_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in [schema, *schema.get("anyOf", [])] if s.get("format") == "date"]


def request_dates(app: FastAPI) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    """(method, path) -> {date field of its request body: the field's date schemas}."""
    spec = app.openapi()
    models = spec["components"]["schemas"]
    found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            name = ref.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            properties = models.get(name, {}).get("properties", {})
            dates = {f: d for f, s in properties.items() if (d := _date_schemas(s))}
            if dates:
                found[(method.upper(), path)] = dates
    return found


DATES = request_dates(embedded_app(Settings()))


def _date_cases() -> list[tuple[WriteCase, str]]:
    return [(c, f) for c in all_cases() for f in DATES.get((c.method, c.path), {})]


def test_every_date_of_every_request_body_refuses_days_before_the_earliest() -> None:
    pattern = on_or_after_pattern(EARLIEST_DAY)
    fields = [
        (route, f, s) for route, dates in DATES.items() for f, ss in dates.items() for s in ss
    ]
    assert len(fields) >= 35  # every write takes occurred_on; programmes start_on and end_on
    plain = [f"{m} {p} {f}" for (m, p), f, s in fields if s.get("pattern") != pattern]
    assert not plain, "request dates without the earliest day (use catalogue.Day): " + str(plain)
    covered = {(c.method, c.path) for c, _ in _date_cases()}
    assert covered == set(DATES), "routes with a date and no case: " + str(set(DATES) - covered)


@pytest.mark.parametrize(
    ("case", "field"), _date_cases(), ids=[f"{c.id}-{f}" for c, f in _date_cases()]
)
def test_a_day_before_the_earliest_is_422_naming_the_field_and_records_nothing(
    case: WriteCase, field: str, api: tuple
) -> None:
    client, store, headers, _ = api
    params = prepare(case, client, headers)
    before = store.outbox_backlog()
    body = {**case.body, field: DAY_BEFORE}
    r = send(client, case, headers, body, params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert field in problem["detail"]
    [error] = [e for e in problem["errors"] if e["loc"][-1] == field]
    assert error["loc"] == ["body", field]
    assert "tidak boleh sebelum 1945-08-17" in error["msg"]
    english = send(client, case, {**headers, "Accept-Language": "en"}, body, params).json()
    [error_en] = [e for e in english["errors"] if e["loc"][-1] == field]
    assert "must not be before 1945-08-17" in error_en["msg"]
    assert store.outbox_backlog() == before


@pytest.mark.parametrize("name", ACCEPTING)
def test_the_earliest_day_itself_is_accepted_and_reaches_the_event(name: str, api: tuple) -> None:
    [case] = [c for c in all_cases() if c.name == name]
    client, store, headers, _ = api
    params = prepare(case, client, headers)
    body = {**case.body, **dict.fromkeys(DATES[(case.method, case.path)], FIRST_DAY)}
    r = send(client, case, headers, body, params)
    assert r.status_code == case.status, r.text
    assert case.event_type is not None
    envelope = events_of_type(store, case.event_type)[-1]
    assert envelope["data"]["occurred_on"] == FIRST_DAY
    validate_envelope(envelope)  # the published schema accepts it too
    _envelope, payload = decode_event(json.dumps(envelope))
    assert payload.occurred_on.isoformat() == FIRST_DAY
