"""The aggregator as a mountable unit: its routes, read-model collections and consumer."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import COLLECTIONS
from services.aggregator.routes import router as resilience_router
from services.dashboard.routes import router as dashboard_router
from services.dashboard.signin import COLLECTIONS as SIGN_IN_COLLECTIONS
from shared.consumer import ConsumerWorker
from shared.events.catalogue import SERVICES
from shared.events.envelope import topic_for
from shared.runtime import Runtime, ServiceSpec

TOPICS = tuple(topic_for(s) for s in SERVICES)


def consumer_worker(runtime: Runtime) -> ConsumerWorker:
    settings = runtime.settings
    return ConsumerWorker(
        runtime.bus,
        settings.consumer_group,
        TOPICS,
        aggregator_of(runtime).projector,
        batch=settings.consumer_batch,
        prefetch=settings.consumer_prefetch,
    )


def _workers(runtime: Runtime) -> Sequence[ConsumerWorker]:
    return [consumer_worker(runtime)]


# The aggregator serves both the resilience API and the dashboard built on it.
router = APIRouter()
router.include_router(resilience_router)
router.include_router(dashboard_router)

SERVICE = ServiceSpec(
    name="aggregator",
    router=router,
    collections=(*COLLECTIONS, *SIGN_IN_COLLECTIONS),
    publishes=False,
    workers=_workers,
    title="Lumbung Aggregator",
)
