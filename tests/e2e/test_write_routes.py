"""Every write route of every service, from the tables in ``cases/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.catalog import SERVICES
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.events.catalogue import decode_event
from shared.http import create_app
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, token
from tests.e2e.routecases import MISSING, WriteCase, all_cases
from tests.events_schema import validate_envelope

CASES = all_cases()
VILLAGES = ["3204052001", "3204052002"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Store, dict[str, str], Settings]]:
    """All services in one app on SQLite; the relay is off, so the outbox can be inspected."""
    settings = Settings(data_dir=tmp_path)
    store = SqliteStore(tmp_path / "s.sqlite3")
    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="t",
        store=store,
        bus=InProcessBus(tmp_path / "b.sqlite3"),
    )
    headers = token(settings, Role.DISTRICT_ADMIN, district=DISTRICT)
    with TestClient(create_app(runtime, title="t", background=False)) as client:
        for code in VILLAGES:
            r = client.post(
                "/registry/villages",
                headers=headers,
                json={
                    "village_code": code,
                    "name": f"Desa {code[-1]}",
                    "district_code": DISTRICT,
                    "district_name": "Kabupaten Bandung",
                },
            )
            assert r.status_code == 201
        yield client, store, headers, settings


def send(
    client: TestClient,
    case: WriteCase,
    headers: dict[str, str],
    body: dict[str, Any],
    params: dict[str, str],
) -> Any:
    return client.request(case.method, case.path.format(**params), json=body, headers=headers)


def prepare(case: WriteCase, client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    return case.setup(client, headers) if case.setup else {}


def events_of_type(store: Store, event_type: str) -> list[dict]:
    return [
        e
        for entry in store.outbox_pending(100_000)
        for e in entry.events
        if e["type"] == event_type
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_write_answers_and_emits_exactly_its_event(case: WriteCase, api: tuple) -> None:
    client, store, headers, _ = api
    params = prepare(case, client, headers)
    before = store.outbox_backlog()
    r = send(client, case, headers, case.body, params)
    assert r.status_code == case.status, r.text
    answer = r.json()
    if case.id_field:
        assert answer[case.id_field]
    if case.event_type is None:
        assert store.outbox_backlog() == before
        return
    assert store.outbox_backlog() == before + 1
    emitted = events_of_type(store, case.event_type)
    envelope = emitted[-1]
    validate_envelope(envelope)
    parsed, _payload = decode_event(json.dumps(envelope).encode())
    assert parsed.type == case.event_type
    assert parsed.villagecode in [*VILLAGES, "3204052003"]
    for key, value in case.data_expect.items():
        assert envelope["data"][key] == value, key
    if case.id_field and case.id_field in envelope["data"]:
        assert envelope["data"][case.id_field] == answer[case.id_field]


def _bad_cases() -> list[tuple[WriteCase, str, Any]]:
    return [(c, f, v) for c in CASES for f, v in c.bad]


@pytest.mark.parametrize(
    ("case", "field", "value"),
    _bad_cases(),
    ids=[f"{c.id}-{f}-{'missing' if v is MISSING else v}" for c, f, v in _bad_cases()],
)
def test_bad_field_is_422_naming_it_and_records_nothing(
    case: WriteCase, field: str, value: Any, api: tuple
) -> None:
    client, store, headers, _ = api
    params = prepare(case, client, headers)
    before = store.outbox_backlog()
    body = dict(case.body)
    if value is MISSING:
        body.pop(field, None)
    else:
        body[field] = value
    r = send(client, case, headers, body, params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert field in problem["detail"]
    assert any(field in [str(p) for p in e["loc"]] for e in problem["errors"])
    # Bahasa Indonesia unless the client prefers English; the same fields either way
    assert r.headers["content-language"] == "id"
    english = send(client, case, {**headers, "Accept-Language": "en"}, body, params)
    assert english.status_code == 422 and english.headers["content-language"] == "en"
    in_english = english.json()
    assert field in in_english["detail"] and in_english["detail"] != problem["detail"]
    assert [e["loc"] for e in in_english["errors"]] == [e["loc"] for e in problem["errors"]]
    messages = {e["msg"] for e in problem["errors"]}
    assert messages.isdisjoint(e["msg"] for e in in_english["errors"]), messages
    assert store.outbox_backlog() == before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_out_of_scope_token_is_403_and_records_nothing(case: WriteCase, api: tuple) -> None:
    client, store, headers, settings = api
    params = prepare(case, client, headers)
    before = store.outbox_backlog()
    outsider = token(settings, Role.VILLAGE_OPERATOR, villages=["3301010001"])
    r = send(client, case, outsider, case.body, params)
    assert r.status_code == 403, r.text
    assert store.outbox_backlog() == before
    assert "3204052001" not in r.json()["detail"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_idempotency_key_retry_records_nothing_new(case: WriteCase, api: tuple) -> None:
    client, store, headers, _ = api
    params = prepare(case, client, headers)
    keyed = {**headers, "Idempotency-Key": f"retry-{case.id}"}
    before = store.outbox_backlog()
    first = send(client, case, keyed, case.body, params)
    second = send(client, case, keyed, case.body, params)
    assert first.status_code == second.status_code == case.status, second.text
    assert first.json() == second.json()
    assert store.outbox_backlog() == before + (case.event_type is not None)
