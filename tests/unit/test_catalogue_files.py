"""The committed event catalogue (JSON Schemas, AsyncAPI) matches the models exactly."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from shared.events.catalogue import CATALOGUE
from shared.events.generate import ASYNCAPI, OUT, expected_files
from tests.events_schema import validate_envelope
from tests.unit.test_events import good


def test_committed_catalogue_matches_the_models() -> None:
    expected = expected_files()
    drifted = [p.name for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = sorted({p.name for p in OUT.glob("*.json")} - {p.name for p in expected})
    assert not drifted and not extra, (
        f"catalogue out of date (drifted={drifted}, extra={extra}); "
        "run: .venv/bin/python -m shared.events.generate"
    )


def test_schemas_are_valid_json_schema_and_asyncapi_names_every_topic() -> None:
    for path in OUT.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))
    doc = json.loads(ASYNCAPI.read_text())
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {
        f"lumbung.{s}.v1"
        for s in ("registry", "training", "commerce", "agriculture", "livestock", "deadletter")
    }
    events = sum(len(e) for e in CATALOGUE.values())
    assert len(doc["components"]["messages"]) == events + 1  # and the dead letter
    for service in ("agriculture", "livestock"):  # what extension systems consume directly
        assert "GET /agriculture/feed" in doc["channels"][service]["description"]
        receive = doc["operations"][f"{service}ConsumedByExtensionSystems"]
        assert "consumer group of your own" in receive["description"]
        assert receive["bindings"]["kafka"]["groupId"]["pattern"] == "^ext-[a-z0-9-]+$"


def test_schema_refuses_what_the_contract_refuses() -> None:
    validate_envelope(good())
    with pytest.raises(ValidationError):
        validate_envelope(good(channel="telegram"))
    with pytest.raises(ValidationError):
        validate_envelope({**good(), "villagecode": "12"})
