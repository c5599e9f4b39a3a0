"""Entry points: the embedded platform (one process) or one service (distributed mode)."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from services.catalog import SERVICES
from shared.http import create_app
from shared.runtime import bootstrap, tune_gc
from shared.settings import Mode, Settings


def embedded_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = bootstrap(settings, list(SERVICES.values()), label="embedded")
    return create_app(runtime, title="Lumbung")


def service_app(name: str, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    spec = SERVICES[name]
    runtime = bootstrap(settings, [spec], label=name)
    return create_app(runtime, title=spec.title or name)


def serve(name: str | None = None) -> None:
    """Run the embedded platform, or (with a name, distributed mode) one service."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # kafka-python logs every reconnect attempt at ERROR while a broker is down; the
    # relay and consumer already report outages once per back-off round.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    settings = Settings()
    if name is None:
        app = embedded_app(settings)
    else:
        if settings.mode is not Mode.DISTRIBUTED:
            logging.getLogger(__name__).warning(
                "running service %s alone in embedded mode (LUMBUNG_MODE=distributed for Kafka "
                "and MongoDB)",
                name,
            )
        app = service_app(name, settings)
    tune_gc()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
    )
