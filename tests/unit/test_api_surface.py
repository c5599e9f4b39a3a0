"""The HTTP surface: every route of API.md exists in its service's own app, with models and
examples in OpenAPI. The list is read from the design contract, so the check stays true."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest

from services.catalog import DOMAIN_SERVICES, SERVICES
from services.main import service_app
from shared.http import route_table

ROUTE = re.compile(r"`(GET|POST|PATCH|PUT|DELETE)\s+(/[^`?\s]+)")


def design_dir() -> Path:
    here = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("LUMBUNG_DESIGN_DIR", here.parent / "shared" / "design"))


@cache
def contract_routes() -> list[tuple[str, str]]:
    api = design_dir() / "API.md"
    assert api.exists(), f"the design contract is missing: {api}"
    routes = []
    for line in api.read_text().splitlines():
        if line.lstrip().startswith("- `"):
            routes.extend(ROUTE.findall(line))
    return routes


def app_routes(service: str) -> set[tuple[str, str]]:
    return set(route_table(service_app(service)))


def test_the_contract_lists_the_routes_we_expect_to_check() -> None:
    routes = contract_routes()
    assert len(routes) >= 45
    assert ("PATCH", "/registry/households/{household_id}") in routes


@pytest.mark.parametrize("service", [*DOMAIN_SERVICES])
def test_every_contract_route_of_a_domain_service_exists_in_its_own_app(service: str) -> None:
    expected = {(m, p) for m, p in contract_routes() if p.startswith(f"/{service}/")}
    missing = sorted(expected - app_routes(service))
    assert expected and not missing, f"{service} lacks {missing}"


def test_every_service_answers_health_readiness_and_metrics() -> None:
    for service in SERVICES:
        paths = {p for _, p in app_routes(service)}
        assert {"/healthz", "/readyz", "/metrics"} <= paths, service


@pytest.mark.parametrize("service", [*DOMAIN_SERVICES])
def test_write_routes_document_models_and_examples(service: str) -> None:
    spec = service_app(service).openapi()
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, f"{method} {path} documents no success answer"
            if method in ("post", "patch"):
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                model = schemas[ref.rsplit("/", 1)[-1]]
                assert model.get("examples"), f"{method} {path}: request model has no example"
                success = op["responses"][ok[0]]["content"]["application/json"]["schema"]
                assert success, f"{method} {path}: no response model"
                assert {"401", "403", "422"} <= set(op["responses"]), f"{method} {path}"
