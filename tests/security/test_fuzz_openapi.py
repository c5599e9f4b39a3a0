"""Schemathesis against every service's OpenAPI, in-process over ASGI, as a district admin.

Each operation of each service gets positive (schema-valid) and negative (schema-violating)
generated requests. Every answer must be no 5xx, have a documented status code and content
type, and match the documented schema; negative requests must be refused with a 4xx.

A schema-valid request would almost never name a village of the token's district or an id
that exists, and would stop at the 403 or the 404. So each service is seeded with a parent
record of every kind in village 3204052001, and positive cases are pointed at them: village
codes, district codes and path ids are replaced with the seeded ones; everything else (the
numbers, strings, dates, lists) stays as generated. Generation is derandomized, so CI sees the
same cases every run.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.aggregator.readmodel import LEDGERS, PROGRAMS
from services.catalog import SERVICES
from services.main import service_app
from shared.auth import Role, mint_token
from shared.commands import build_event
from shared.events import catalogue as ev
from shared.events.envelope import topic_for
from shared.ports.bus import Message
from shared.settings import Settings
from tests.servers import wait_for

# Per operation and generation mode; LUMBUNG_FUZZ_EXAMPLES raises it for a longer hunt, and
# LUMBUNG_FUZZ_RANDOM=1 lets Hypothesis pick new cases each run.
EXAMPLES_PER_MODE = int(os.environ.get("LUMBUNG_FUZZ_EXAMPLES", "12"))
DERANDOMIZE = os.environ.get("LUMBUNG_FUZZ_RANDOM") != "1"
MIN_CASES = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

VILLAGE = "3204052001"
DISTRICT = "3204"
HOUSEHOLD = "hh-fuzz-0001"
TOKEN = mint_token(Settings().secret, role=Role.DISTRICT_ADMIN, sub="fuzzer", district=DISTRICT)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _seed(name: str, app: Any) -> dict[str, str]:
    """A parent record of every kind the service's sub-routes need, in VILLAGE."""
    ids = {"village_code": VILLAGE, "district_code": DISTRICT, "household_id": HOUSEHOLD}
    with asgi.get_client(app) as client:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = client.post(path, json=body, headers=HEADERS)
            assert r.status_code == 201, (path, r.status_code, r.text)
            return r.json()

        if name == "registry":
            post(
                "/registry/villages",
                {
                    "village_code": VILLAGE,
                    "name": "Desa",
                    "district_code": DISTRICT,
                    "district_name": "Kabupaten",
                },
            )
            post(
                "/registry/households",
                {"village_code": VILLAGE, "members": 4, "household_id": HOUSEHOLD},
            )
        elif name == "training":
            program = post(
                "/training/programs",
                {
                    "title": "T",
                    "organizer": "O",
                    "village_codes": [VILLAGE],
                    "start_on": "2025-01-01",
                    "end_on": "2025-12-31",
                    "topics": ["t"],
                },
            )
            ids["program_id"] = program["program_id"]
            post(
                f"/training/programs/{ids['program_id']}/enrolments",
                {"household_id": HOUSEHOLD, "village_code": VILLAGE},
            )
        elif name == "commerce":
            biz = post(
                "/commerce/businesses",
                {
                    "household_id": HOUSEHOLD,
                    "village_code": VILLAGE,
                    "name": "Warung",
                    "category": "pangan",
                },
            )
            ids["business_id"] = biz["business_id"]
            product = post(
                f"/commerce/businesses/{ids['business_id']}/products",
                {"name": "Keripik", "unit": "bungkus", "price": 1000, "packaging_score": 3},
            )
            ids["product_id"] = product["product_id"]
        elif name == "agriculture":
            plot = post(
                "/agriculture/plots",
                {
                    "household_id": HOUSEHOLD,
                    "village_code": VILLAGE,
                    "area_ha": 2.0,
                    "land_status": "owned",
                },
            )
            ids["plot_id"] = plot["plot_id"]
            fact = post(
                "/agriculture/practices",
                {"household_id": HOUSEHOLD, "village_code": VILLAGE, "practice": "manure_compost"},
            )
            ids["fact_id"] = fact["fact_id"]
        elif name == "livestock":
            herd = post(
                "/livestock/herds",
                {"household_id": HOUSEHOLD, "village_code": VILLAGE, "species": "goat", "count": 5},
            )
            ids["herd_id"] = herd["herd_id"]
            fact = post(f"/livestock/herds/{ids['herd_id']}/births", {"count": 1})
            ids["fact_id"] = fact["fact_id"]
        elif name == "aggregator":
            ids["program_id"] = _feed_aggregator(app)
    return ids


def _feed_aggregator(app: Any) -> str:
    """Events on the aggregator's own bus; wait (bounded) until its consumer applied them."""
    runtime = app.state.runtime
    program = "prog-fuzz-0001"
    day = date(2026, 1, 10)
    payloads = [
        ev.VillageRegistered(
            occurred_on=day,
            village_code=VILLAGE,
            name="Desa",
            district_code=DISTRICT,
            district_name="Kabupaten",
        ),
        ev.HouseholdRegistered(
            occurred_on=day, household_id=HOUSEHOLD, village_code=VILLAGE, members=4
        ),
        ev.ProgramCreated(
            occurred_on=day,
            program_id=program,
            title="T",
            organizer="O",
            village_codes=[VILLAGE],
            start_on=day,
            end_on=date(2026, 3, 31),
            topics=["t"],
        ),
        ev.ParticipantEnrolled(occurred_on=day, program_id=program, household_id=HOUSEHOLD),
        ev.SaleRecorded(
            occurred_on=day,
            business_id="biz-fuzz",
            household_id=HOUSEHOLD,
            channel="shopee",
            quantity=2,
            unit_price=15000,
            amount=30000,
        ),
    ]
    events = [
        build_event(p, village_code=VILLAGE, subject=HOUSEHOLD, event_id=f"ev-fuzz-{i}")
        for i, p in enumerate(payloads)
    ]
    runtime.bus.publish(
        [
            Message(topic_for(e["type"].split(".")[1]), VILLAGE, json.dumps(e).encode())
            for e in events
        ]
    )
    wait_for(
        lambda: runtime.store.get(LEDGERS, HOUSEHOLD) and runtime.store.get(PROGRAMS, program),
        timeout_s=60,
        what="the aggregator to apply the seed events",
    )
    return program


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, dict]]]:
    base = tmp_path_factory.mktemp("fuzz")
    loaded = {}
    for name in SERVICES:
        app = service_app(name, Settings(data_dir=base / name))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        loaded[name] = (schema, _seed(name, app))
    yield loaded
    asgi.shutdown_lifespans()  # stops each app's runtime (relay, consumer)


def _in_scope(value: Any, ids: dict[str, str]) -> Any:
    """Point a generated body (or query) at the seeded village and records."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ids and isinstance(item, str):
                out[key] = ids[key]
            elif key == "village_codes" and isinstance(item, list) and item:
                out[key] = [VILLAGE]
            else:
                out[key] = _in_scope(item, ids)
        return out
    if isinstance(value, list):
        return [_in_scope(item, ids) for item in value]
    return value


def _fuzz(operation: Any, mode: GenerationMode, ids: dict[str, str], seen: Counter) -> None:
    checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        seen[mode] += 1
        if mode is GenerationMode.POSITIVE:
            if case.path_parameters:
                case.path_parameters = {k: ids.get(k, v) for k, v in case.path_parameters.items()}
            if isinstance(case.body, dict):
                case.body = _in_scope(case.body, ids)
            if case.query:
                case.query = _in_scope(case.query, ids)
        case.call_and_validate(headers=HEADERS, checks=checks)

    run()


def test_every_operation_of_every_service_survives_generated_input(
    services: dict[str, tuple[Any, dict]], capsys: pytest.CaptureFixture[str]
) -> None:
    seen: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    operations = 0
    for name, (schema, ids) in services.items():
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _fuzz(operation, mode, ids, seen)
                except Unsatisfiable:
                    continue  # nothing to violate (no parameters, or only free strings)
                except (Exception, BaseExceptionGroup) as exc:  # collect them all, then report
                    failures.append(f"[{name}] {operation.label} ({mode}): {exc}")
    total = sum(seen.values())
    with capsys.disabled():
        print(
            f"\nschemathesis: {total} generated cases ({seen[GenerationMode.POSITIVE]} positive, "
            f"{seen[GenerationMode.NEGATIVE]} negative) over {operations} operations of "
            f"{len(services)} services in {time.perf_counter() - started:.1f}s; "
            f"{len(failures)} failing operation/mode pairs"
        )
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_CASES
