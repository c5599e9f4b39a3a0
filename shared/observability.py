"""Prometheus metrics, /healthz, /readyz and the ASGI middleware that measures requests.

Metric objects are process-wide (the Prometheus convention); every series carries the
``service`` label, so one embedded process and six distributed ones export the same names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem_response
from shared.language import lang_of_scope, say

HTTP_REQUESTS = Counter(
    "lumbung_http_requests_total",
    "HTTP requests by route and status",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "lumbung_http_request_duration_seconds",
    "HTTP request latency by route",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_WRITTEN = Counter(
    "lumbung_events_written_total", "Events stored in the outbox, by type", ["service", "type"]
)
EVENTS_PUBLISHED = Counter(
    "lumbung_events_published_total", "Events the relay published, by topic", ["topic"]
)
OUTBOX_BACKLOG = Gauge("lumbung_outbox_backlog", "Events stored but not yet published", ["service"])
RELAY_FAILURES = Counter(
    "lumbung_relay_failures_total", "Relay rounds that could not reach the bus", ["service"]
)
EVENTS_CONSUMED = Counter(
    "lumbung_events_consumed_total", "Events the aggregator applied, by type", ["type"]
)
EVENTS_DUPLICATE = Counter(
    "lumbung_events_duplicate_total", "Redelivered events the aggregator skipped", ["type"]
)
FACTS_SET_ASIDE = Counter(
    "lumbung_facts_set_aside_total",
    "Facts the aggregator set aside: they name another village than their household's, "
    "by the household's district",
    ["district"],
)
DEAD_LETTERS = Counter(
    "lumbung_deadletters_total", "Messages sent to the dead-letter topic", ["topic"]
)
CONSUMER_LAG = Gauge("lumbung_consumer_lag", "Records not yet consumed", ["topic", "partition"])
REPLAY_EVENTS = Counter("lumbung_replay_events_total", "Events applied by read-model rebuilds")
REPLAY_PROGRESS = Gauge(
    "lumbung_replay_progress_ratio", "Share of the log the running rebuild has applied"
)
DISTRICT_INDEX = Gauge(
    "lumbung_district_index_mean",
    "The district's mean resilience index for the current month",
    ["district"],
)
BATCH_SIZE = Histogram(
    "lumbung_consumer_batch_size",
    "Records per aggregator batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
BATCH_LATENCY = Histogram(
    "lumbung_consumer_batch_seconds",
    "Time to apply and commit one batch",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class MetricsMiddleware:
    """Counts and times every request by its route template, and refuses oversized bodies."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope)(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        seen = {"bytes": 0}
        refused = {"body": False, "answered": False}

        async def too_large() -> None:
            refused["answered"] = True
            status["code"] = 413
            await self._too_large(scope)(scope, receive, send)

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > self.max_body:
                    refused["body"] = True
                    raise _BodyTooLarge
            return message

        async def observed_send(message: Message) -> None:
            if refused["body"]:
                # FastAPI turns any error while reading the body into its own 400: answer 413
                # (once) instead of whatever the app says after the limit was hit.
                if not refused["answered"]:
                    await too_large()
                return
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, observed_send)
        except _BodyTooLarge:
            if not refused["answered"]:
                await too_large()
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status["code"])).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], template).observe(
                time.perf_counter() - start
            )

    def _too_large(self, scope: Scope) -> ASGIApp:
        detail = say(
            f"isi permintaan lebih besar dari {self.max_body} byte",
            f"request body is larger than {self.max_body} bytes",
        )
        return problem_response(413, detail, lang=lang_of_scope(scope))


class _BodyTooLarge(Exception):
    pass


def health_router(checks: Callable[[], dict[str, Callable[[], Any]]]) -> APIRouter:
    """/healthz (the process answers), /readyz (dependencies reachable), /metrics."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: which dependency is down and why")
    def readyz(request: Request) -> JSONResponse:
        runtime = request.app.state.runtime
        results: dict[str, str] = {}
        for name, check in checks().items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:  # a readiness probe reports every failure as text
                results[name] = f"down: {exc}"
        down = [n for n, r in results.items() if r != "ok"]
        # With only the bus down, writes still land in the outbox: degraded, not unready.
        unready = any(n != "bus" for n in down)
        status = "unready" if unready else ("degraded" if down else "ready")
        body = {"status": status, "mode": str(runtime.settings.mode), "checks": results}
        if down:
            body["down"] = down
        return JSONResponse(body, status_code=503 if unready else 200)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        request.app.state.runtime.refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
