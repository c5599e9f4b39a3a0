"""The agriculture service as a unit the app factory can mount: its routes, the outbound
feed and webhooks for extension systems, and (in one process per deployment) the feed
builder and webhook dispatcher."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from services.agriculture import feed, webhooks
from services.agriculture.integrations import router as integrations_router
from services.agriculture.routes import COLLECTIONS, HOUSEHOLDS
from services.agriculture.routes import router as records_router
from shared.runtime import Runtime, ServiceSpec, Worker


def _workers(runtime: Runtime) -> Sequence[Worker]:
    copy = HOUSEHOLDS.worker(runtime)
    if not runtime.settings.feed_builder:
        return [copy]
    return [copy, feed.feed_worker(runtime, HOUSEHOLDS), webhooks.dispatcher_of(runtime)]


router = APIRouter()
router.include_router(records_router)
router.include_router(integrations_router)

SERVICE = ServiceSpec(
    name="agriculture",
    router=router,
    collections=(*COLLECTIONS, *feed.COLLECTIONS, *webhooks.COLLECTIONS),
    workers=_workers,
    title="Lumbung Agriculture",
)
