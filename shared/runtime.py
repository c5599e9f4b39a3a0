"""Bootstrap: builds the adapters the settings ask for and wires services to them.

The only place that decides embedded versus distributed; everything else sees ports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from fastapi import APIRouter

from shared.commands import IDEMPOTENCY_COLLECTION
from shared.gc_tuning import tune_gc as tune_gc  # re-exported: the services import it here
from shared.ports.bus import Bus
from shared.ports.store import CollectionSpec, Store
from shared.relay import OutboxRelay
from shared.settings import Mode, Settings

log = logging.getLogger(__name__)


class Worker(Protocol):
    """A background worker a service brings (a consumer, the webhook dispatcher)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def refresh_lag(self) -> None: ...

    def run_until_idle(self, idle_polls: int = 2) -> int: ...


@dataclass(frozen=True)
class ServiceSpec:
    """What one service brings: its routes, its collections and its background workers."""

    name: str
    router: APIRouter
    collections: tuple[CollectionSpec, ...] = ()
    publishes: bool = True
    workers: Callable[[Runtime], Sequence[Worker]] | None = None
    title: str = ""


@dataclass
class Runtime:
    settings: Settings
    store: Store
    bus: Bus
    label: str
    services: Sequence[ServiceSpec]
    relay: OutboxRelay | None = None
    workers: list[Worker] = field(default_factory=list)
    started: bool = False
    clock: Callable[[], date] = date.today
    extras: dict[str, Any] = field(default_factory=dict)
    # called by stop(), after the workers: what a service's parts hold (e.g. processes)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def start(self, *, background: bool = True) -> None:
        specs = [CollectionSpec(IDEMPOTENCY_COLLECTION)]
        for svc in self.services:
            specs.extend(svc.collections)
        self.store.ensure(specs)
        if any(svc.publishes for svc in self.services):
            self.relay = OutboxRelay(
                self.store,
                self.bus,
                label=self.label,
                batch=self.settings.relay_batch,
                interval_s=self.settings.relay_interval_s,
            )
        for svc in self.services:
            if svc.workers is not None:
                self.workers.extend(svc.workers(self))
        if background:
            if self.relay is not None:
                self.relay.start()
            for worker in self.workers:
                worker.start()
        self.started = True

    def after_write(self) -> None:
        """Nudge the relay so a fresh event is published without waiting for its tick."""
        if self.relay is not None:
            self.relay.wake()

    def refresh_gauges(self) -> None:
        if self.relay is not None:
            self.relay.refresh_backlog()
        for worker in self.workers:
            worker.refresh_lag()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.relay is not None:
            self.relay.stop()
        self.workers.clear()
        for close in self.closers:
            close()
        self.started = False

    def close(self) -> None:
        self.stop()
        self.store.close()
        self.bus.close()


def build_store(settings: Settings, label: str) -> Store:
    if settings.mode is Mode.EMBEDDED:
        from shared.adapters.sqlite_store import SqliteStore

        return SqliteStore(settings.sqlite_path)
    from shared.adapters.mongo_store import MongoStore

    return MongoStore(settings.mongo_url, f"{settings.mongo_db}_{label}")


def build_bus(settings: Settings) -> Bus:
    if settings.mode is Mode.EMBEDDED:
        from shared.adapters.inproc_bus import InProcessBus

        return InProcessBus(settings.data_dir / "bus.sqlite3", partitions=settings.kafka_partitions)
    from shared.adapters.kafka_bus import KafkaBus

    return KafkaBus(
        settings.kafka_bootstrap,
        partitions=settings.kafka_partitions,
        client_id=settings.kafka_client_id,
        session_timeout_ms=settings.session_timeout_ms,
    )


def bootstrap(
    settings: Settings,
    services: Sequence[ServiceSpec],
    *,
    label: str,
    store: Store | None = None,
    bus: Bus | None = None,
    clock: Callable[[], date] = date.today,
) -> Runtime:
    return Runtime(
        settings=settings,
        store=store or build_store(settings, label),
        bus=bus or build_bus(settings),
        label=label,
        services=services,
        clock=clock,
    )
