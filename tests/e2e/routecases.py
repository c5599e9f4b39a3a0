"""Table-driven cases for every write route; each service lists its own in ``cases/``.

The generic tests in ``test_write_routes.py`` run every case for: the normal answer and its
event, each bad field (422 naming it, nothing recorded), an out-of-scope token (403), and an
Idempotency-Key retry (nothing new).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

MISSING = object()
"""Use as the bad value to leave the field out of the body."""

Setup = Callable[[TestClient, dict[str, str]], dict[str, str]]


@dataclass(frozen=True)
class WriteCase:
    name: str
    method: str
    path: str
    body: dict[str, Any]
    event_type: str | None  # None: a lookup sent as POST (the body holds a NIK), no event
    bad: list[tuple[str, Any]]
    setup: Setup | None = None
    id_field: str | None = None
    status: int = 201
    data_expect: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.name.replace(" ", "-")


def all_cases() -> list[WriteCase]:
    import tests.e2e.cases as pkg

    cases: list[WriteCase] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        cases.extend(importlib.import_module(f"{pkg.__name__}.{info.name}").CASES)
    return cases


def create(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict:
    """POST a prerequisite record and return its JSON (fails loudly when it is refused)."""
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 201, f"setup {path}: {r.status_code} {r.text}"
    return r.json()
