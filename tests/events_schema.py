"""Validates emitted envelopes against the committed, generated JSON Schema of their type."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from shared.events.generate import OUT


@cache
def _validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((OUT / f"{event_type}.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_envelope(envelope: dict[str, Any]) -> None:
    _validator(envelope["type"]).validate(envelope)
