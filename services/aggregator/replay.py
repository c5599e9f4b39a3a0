"""Rebuild the read model from the beginning of the event log (`lumbung replay`).

The read model is emptied, then every topic is read from its start with a fresh consumer
group (Kafka in distributed mode, the stored in-process log in embedded mode). Views are
rebuilt once at the end instead of after every batch, by worker processes (one per core)
when the store can be opened again from another process. The live consumer group keeps its
offsets: whatever it redelivers afterwards is already in the ledgers and is skipped by id,
so nothing counts twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.aggregator.context import aggregator_of
from services.aggregator.projector import Projector
from services.aggregator.readmodel import READ_MODEL
from services.aggregator.service import TOPICS
from shared.consumer import ConsumerWorker
from shared.observability import REPLAY_EVENTS, REPLAY_PROGRESS
from shared.runtime import Runtime
from shared.settings import dedicated_view_workers

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayResult:
    events: int
    dead_letters: int
    villages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(
    runtime: Runtime,
    *,
    progress: Progress | None = None,
    batch: int = 5000,
    idle_polls: int = 3,
    view_workers: int | None = None,
) -> ReplayResult:
    """``view_workers``: processes that rebuild the villages' views at the end (default: the
    ``view_workers`` setting if set, else one per core, at most 4: a replay has the
    machine to itself)."""
    if view_workers is None:
        view_workers = runtime.settings.view_workers or dedicated_view_workers()
    started = time.perf_counter()
    agg = aggregator_of(runtime)
    for collection in READ_MODEL:
        runtime.store.drop(collection)
    projector = Projector(runtime.store, agg.views, defer_views=True)
    group = f"{runtime.settings.consumer_group}-replay-{uuid.uuid4().hex[:8]}"
    worker = ConsumerWorker(
        runtime.bus,
        group,
        TOPICS,
        projector,
        batch=batch,
        poll_timeout_s=1.0,
        publish_dead_letters=False,
    )
    done, idle = 0, 0
    try:
        while idle < idle_polls:
            n = worker.step()
            done += n
            REPLAY_EVENTS.inc(n)
            idle = idle + 1 if n == 0 else 0
            left = worker.lag()
            total = done + left
            REPLAY_PROGRESS.set(done / total if total else 1.0)
            if progress is not None:
                progress(done, total)
            if n and not left:
                break  # the consumer owns every partition and has read to the end of each
    finally:
        worker.stop()
    villages = projector.flush_views(workers=view_workers)
    agg.views.roll_over()
    return ReplayResult(done, worker.dead_letters, villages, time.perf_counter() - started)
