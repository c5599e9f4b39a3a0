"""A Lumbung platform with the dashboard mounted and the seeded scenario consumed, for the
dashboard's HTTP and browser tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi import FastAPI

from services.aggregator.context import aggregator_of
from services.aggregator.service import TOPICS
from services.catalog import SERVICES
from services.dashboard.routes import router as dashboard_router
from shared.auth import Role, mint_token
from shared.commands import build_event
from shared.consumer import ConsumerWorker
from shared.events import catalogue as ev
from shared.http import create_app, route_table
from shared.runtime import Runtime, bootstrap
from shared.settings import Settings
from tests.scenario import VILLAGES, messages, scenario

TODAY = date(2026, 11, 15)
AS_OF = "2026-11"
EARLIER = "2026-05"
DISTRICT = "3204"
VILLAGE, OTHER_VILLAGE, THIRD_VILLAGE = VILLAGES
PROGRAM = "prog-1"


def dashboard_app(
    settings: Settings, *, background: bool, clock: Callable[[], date] = lambda: TODAY
) -> FastAPI:
    """The embedded platform (every service) plus the dashboard, if not already wired."""
    runtime = bootstrap(settings, list(SERVICES.values()), label="embedded", clock=clock)
    app = create_app(runtime, title="Lumbung", background=background)
    if ("GET", "/dashboard/villages/{village_code}") not in route_table(app):
        app.include_router(dashboard_router)
    return app


def thriving_households() -> list[dict]:
    """Facts that lift some households of the third village out of "rentan", so the pages
    show every band and every pillar with non-zero raw numbers."""
    events: list[dict] = []

    def add(payload: ev.Payload, household: str) -> None:
        event_id = f"thriving-{len(events) + 1}"
        events.append(
            build_event(payload, village_code=THIRD_VILLAGE, subject=household, event_id=event_id)
        )

    for rank, household in enumerate(f"hh-{i:03d}" for i in range(2, 24, 3)):
        strength = 3 - rank // 3  # 3, 3, 3, 2, 2, 2, 1, 1
        for m in range(3 + 3 * strength):
            day = date(2025, 12, 10) + timedelta(days=30 * m)
            channel = ("shopee", "tokopedia", "whatsapp")[m % 3]
            add(
                ev.SaleRecorded(
                    occurred_on=day,
                    business_id=f"biz-{household}",
                    household_id=household,
                    channel=channel,
                    quantity=10 * strength**2,
                    unit_price=60_000,
                    amount=600_000 * strength**2,
                ),
                household,
            )
        add(
            ev.HerdRegistered(
                occurred_on=date(2025, 7, 1),
                herd_id=f"herd-{household}-cattle",
                household_id=household,
                species="cattle",
                count=strength,
            ),
            household,
        )
        add(
            ev.PlotRegistered(
                occurred_on=date(2025, 7, 1),
                plot_id=f"plot-{household}",
                household_id=household,
                area_ha=0.4 * strength,
                land_status="owned",
            ),
            household,
        )
        add(
            ev.CapitalReceived(
                occurred_on=date(2026, 3, 5),
                business_id=f"biz-{household}",
                household_id=household,
                source="kur",
                kind="loan",
                amount=5_000_000,
            ),
            household,
        )
        for practice in ("organic_fertilizer", "crop_rotation", "biogas")[:strength]:
            add(
                ev.GreenPracticeAdopted(
                    occurred_on=date(2026, 2, 1), household_id=household, practice=practice
                ),
                household,
            )
        add(
            ev.InputApplied(
                occurred_on=date(2026, 4, 1),
                household_id=household,
                input_type="organic_fertilizer",
                kg=50 * strength,
            ),
            household,
        )
        add(
            ev.InputApplied(
                occurred_on=date(2026, 4, 1),
                household_id=household,
                input_type="chemical_fertilizer",
                kg=30,
            ),
            household,
        )
        add(
            ev.AssessmentRecorded(
                occurred_on=date(2025, 9, 29),
                program_id=PROGRAM,
                household_id=household,
                kind="post",
                score=60 + 10 * strength,
                max_score=100,
            ),
            household,
        )
        add(
            ev.ConfidenceRecorded(
                occurred_on=date(2026, 10, 1),
                program_id=PROGRAM,
                household_id=household,
                score=2 + strength,
            ),
            household,
        )
    return events


def publish_scenario(runtime: Runtime) -> int:
    """Publish the seeded history (and the thriving households) to the platform's bus; the
    number of events."""
    events = scenario() + thriving_households()
    runtime.bus.ensure_topics(list(TOPICS))
    runtime.bus.publish(messages(events))
    return len(events)


def consume(runtime: Runtime) -> None:
    """Apply everything on the bus now (for a runtime started without background workers)."""
    worker = ConsumerWorker(
        runtime.bus,
        runtime.settings.consumer_group,
        TOPICS,
        aggregator_of(runtime).projector,
        batch=500,
        poll_timeout_s=0.2,
    )
    worker.run_until_idle(idle_polls=2)
    worker.stop()


def bearer(settings: Settings, **scope: object) -> str:
    if not scope:
        scope = {"district": DISTRICT}
    return mint_token(settings.secret, role=Role.VIEWER, sub="dashboard-test", **scope)  # type: ignore[arg-type]
