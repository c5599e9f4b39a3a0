"""Catching up, the aggregator defers view rebuilds to durable markers and rebuilds once it
reaches the head of the log; the result equals rebuilding after every batch."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import DIRTY, VILLAGE_MONTHS, scan
from services.aggregator.service import SERVICE, TOPICS
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.consumer import ConsumerWorker
from shared.runtime import Runtime, bootstrap
from shared.settings import Settings
from tests.scenario import messages, scenario


def runtime(tmp_path: Path, name: str, batch: int, view_workers: int | None = None) -> Runtime:
    settings = Settings(
        data_dir=tmp_path / name, consumer_batch=batch, view_months=12, view_workers=view_workers
    )
    rt = bootstrap(
        settings,
        [SERVICE],
        label="aggregator",
        store=SqliteStore(tmp_path / f"{name}.sqlite3"),
        bus=InProcessBus(tmp_path / f"{name}-bus.sqlite3"),
        clock=lambda: date(2026, 11, 15),
    )
    rt.start(background=False)
    rt.bus.publish(messages(scenario(seed=5, facts=500)))
    return rt


def views(rt: Runtime) -> list[dict]:
    return sorted(scan(rt.store, VILLAGE_MONTHS, {}), key=lambda d: d["_id"])


def eager_views(tmp_path: Path) -> list[dict]:
    """The views after rebuilding with every batch (no batch is ever full)."""
    eager = runtime(tmp_path, "eager", batch=100_000)
    ConsumerWorker(
        eager.bus, "g", TOPICS, aggregator_of(eager).projector, batch=100
    ).run_until_idle()
    return views(eager)


def test_full_batches_defer_views_to_markers_and_idle_rebuilds_them(tmp_path: Path) -> None:
    eager = eager_views(tmp_path)

    lazy = runtime(tmp_path, "lazy", batch=100)
    worker = ConsumerWorker(
        lazy.bus, "g", TOPICS, aggregator_of(lazy).projector, batch=100, poll_timeout_s=0.05
    )
    assert worker.step() == 100  # a full batch: catching up
    assert views(lazy) == []
    marked = {d["_id"] for d in scan(lazy.store, DIRTY, {})}
    assert marked  # the pending rebuild is stored, so a crash cannot lose it
    worker.run_until_idle()
    assert list(scan(lazy.store, DIRTY, {})) == []
    assert views(lazy) == eager


def test_a_short_batch_with_a_full_batch_waiting_behind_it_still_defers(tmp_path: Path) -> None:
    """A poll may return less than a full batch in the middle of a backlog (Kafka hands out
    what its last fetches brought); the consumer's backlog says more is waiting, so the
    views wait for the head of the log instead of being rebuilt halfway."""
    eager = eager_views(tmp_path)

    lazy = runtime(tmp_path, "lazy", batch=100)
    worker = ConsumerWorker(
        lazy.bus, "g", TOPICS, aggregator_of(lazy).projector, batch=60, poll_timeout_s=0.05
    )
    assert worker.step() == 60  # less than a full batch of 100, but hundreds wait behind it
    consumer = worker._ensure_consumer()
    assert (consumer.backlog() or 0) >= 100
    assert views(lazy) == []
    assert list(scan(lazy.store, DIRTY, {}))
    worker.run_until_idle()
    assert list(scan(lazy.store, DIRTY, {})) == []
    assert views(lazy) == eager


def test_a_full_batch_a_little_behind_updates_its_villages_in_place(tmp_path: Path) -> None:
    """Once the views exist, a full batch with little behind it (a live consumer briefly
    behind) updates its villages in place: deferring would mark every village it touched
    for a rebuild of all their households."""
    later = [
        e
        for e in scenario(seed=9, households=12, facts=250, tag="late-")
        if e["type"].split(".")[1] in ("registry", "commerce", "agriculture", "livestock")
        and e["type"].split(".")[2] not in ("village_registered", "idm_recorded")
    ]
    assert len(later) > 100
    rt = runtime(tmp_path, "behind", batch=100)
    worker = ConsumerWorker(
        rt.bus, "g", TOPICS, aggregator_of(rt).projector, batch=100, poll_timeout_s=0.05
    )
    worker.run_until_idle()  # caught up: the views exist
    rt.bus.publish(messages(later))
    assert worker.step() == 100  # a full batch, with fewer than 10 full batches behind it
    assert list(scan(rt.store, DIRTY, {})) == []  # nothing left for a rebuild
    worker.run_until_idle()

    eager = runtime(tmp_path, "eager", batch=100_000)
    eager.bus.publish(messages(later))
    ConsumerWorker(
        eager.bus, "g", TOPICS, aggregator_of(eager).projector, batch=100_000
    ).run_until_idle()
    assert views(rt) == views(eager)


def worker_processes() -> set[int]:
    """The view workers: forked by the pool's forkserver, so not children of this process."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.ppid() != os.getpid()
    }


@pytest.mark.parametrize("threshold, started", [(2, True), (10_000, False)])
def test_a_catch_up_starts_the_view_workers_its_final_rebuild_will_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, started: bool
) -> None:
    """Catching up over villages enough for a rebuild in worker processes, the aggregator
    starts those processes with the first deferred batch, so the rebuild at the head of the
    log does not wait for them; over fewer villages it starts none."""
    from services.aggregator import views as views_module

    monkeypatch.setattr(views_module, "PARALLEL_MIN_VILLAGES", threshold)
    before = worker_processes()
    rt = runtime(tmp_path, "warm", batch=100, view_workers=2)
    try:
        worker = ConsumerWorker(
            rt.bus, "g", TOPICS, aggregator_of(rt).projector, batch=100, poll_timeout_s=0.05
        )
        assert worker.step() == 100  # catching up: views deferred
        assert views(rt) == []
        marked = {d["_id"] for d in scan(rt.store, DIRTY, {})}
        assert len(marked) >= 2
        deadline = time.monotonic() + 30
        while started and len(worker_processes() - before) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (len(worker_processes() - before) >= 2) is started
        worker.run_until_idle()
        assert views(rt)
    finally:
        rt.stop()
