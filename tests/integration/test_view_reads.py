"""Village and district answers come from precomputed documents: the store reads they
need do not grow with the number of events in the village's history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services.aggregator.service import SERVICE
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.http import create_app
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import token
from tests.scenario import VILLAGES, messages, scenario

READS = frozenset({"get", "get_many", "find", "count"})


class CountingStore:
    """Counts read calls on a real store (instrumentation, not a double: it delegates)."""

    def __init__(self, inner: SqliteStore) -> None:
        self.inner = inner
        self.reads: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in READS:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.reads[name] += 1
            return attr(*args, **kwargs)

        return counted


def reads_for(client: TestClient, store: CountingStore, path: str, headers: dict[str, str]) -> int:
    store.reads.clear()
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return sum(store.reads.values())


def test_view_reads_do_not_grow_with_history(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, view_months=12)
    store = CountingStore(SqliteStore(tmp_path / "s.sqlite3"))
    bus = InProcessBus(tmp_path / "b.sqlite3")
    clock: Callable[[], date] = lambda: date(2026, 11, 15)  # noqa: E731
    runtime = bootstrap(
        settings,
        [SERVICE],
        label="aggregator",
        store=store,  # type: ignore[arg-type]
        bus=bus,
        clock=clock,
    )
    headers = token(settings)
    with TestClient(create_app(runtime, title="t", background=False)) as client:
        worker = runtime.workers[0]
        village, district = VILLAGES[0], VILLAGES[0][:4]
        paths = [
            f"/resilience/villages/{village}?as_of=2026-10",
            f"/resilience/villages/{village}/follow-ups?as_of=2026-10",
            f"/resilience/districts/{district}?as_of=2026-10",
        ]

        bus.publish(messages(scenario(seed=1, facts=300)))
        worker.run_until_idle()
        small = [reads_for(client, store, p, headers) for p in paths]
        events_small = worker.processed

        bus.publish(messages(scenario(seed=2, facts=3000)))
        worker.run_until_idle()
        large = [reads_for(client, store, p, headers) for p in paths]
        assert worker.processed > 5 * events_small
        assert large == small, (small, large)
        assert max(large) <= 2
