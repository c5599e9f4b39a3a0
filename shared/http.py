"""The FastAPI app factory every service (and the embedded process) is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from shared.errors import install_error_handlers
from shared.observability import MetricsMiddleware, health_router
from shared.runtime import Runtime

DESCRIPTION = (
    "Lumbung — Ekonomi Hijau dari Desa. Every write answers 201 only once the fact and its "
    "event are stored together; repeat a write safely with an `Idempotency-Key` header. "
    "Errors are RFC 9457 problem+json."
)


def create_app(runtime: Runtime, *, title: str, background: bool = True) -> FastAPI:
    """One app serving the given services' routers, sharing one runtime (store, bus, relay)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not runtime.started:
            runtime.start(background=background)
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title=title, version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(health_router(lambda: _checks(runtime)))
    for svc in runtime.services:
        app.include_router(svc.router)
    app.add_middleware(
        MetricsMiddleware, service=runtime.label, max_body_bytes=runtime.settings.max_body_bytes
    )
    return app


def _checks(runtime: Runtime) -> dict[str, object]:
    return {"store": runtime.store.ping, "bus": runtime.bus.ping}


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app really serves, included routers flattened."""
    return sorted(
        (method, ctx.path)
        for ctx in iter_route_contexts(app.routes)
        for method in (ctx.methods or ())
        if method != "HEAD"
    )
