"""The FastAPI app factory every service (and the embedded process) is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette._utils import get_route_path
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

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

    app = FastAPI(
        title=title,
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,  # Starlette's redirect names the Host header's host
    )
    app.router.default = SlashRedirect(app.router, app.router.default)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(health_router(lambda: _checks(runtime)))
    for svc in runtime.services:
        app.include_router(svc.router)
    app.add_middleware(
        MetricsMiddleware, service=runtime.label, max_body_bytes=runtime.settings.max_body_bytes
    )
    return app


class SlashRedirect:
    """``/path/`` to ``/path`` (and back) when only the other one is a route, as Starlette
    does, but to a path: Starlette's Location is an absolute URL built from the request's
    ``Host`` header, which the client chooses (``Host: evil.example`` gave a 307 to
    ``http://evil.example/...``). Anything else goes on to ``not_found``."""

    def __init__(self, router: Router, not_found: ASGIApp) -> None:
        self.router = router
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = self.location(scope) if scope["type"] == "http" else None
        if location is None:
            await self.not_found(scope, receive, send)
        else:
            await RedirectResponse(location, status_code=307)(scope, receive, send)

    def location(self, scope: Scope) -> str | None:
        route_path = get_route_path(scope)
        if route_path in ("", "/"):
            return None
        path = scope["path"].rstrip("/") if route_path.endswith("/") else scope["path"] + "/"
        other = {**scope, "path": path}
        if not any(route.matches(other)[0] is not Match.NONE for route in self.router.routes):
            return None
        # one leading slash: "//host/..." or "/\\host/..." would name another host
        path = "/" + path.lstrip("/").replace("\\", "%5C").replace("?", "%3F").replace("#", "%23")
        query = scope.get("query_string", b"").decode("latin-1")
        return f"{path}?{query}" if query else path


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
