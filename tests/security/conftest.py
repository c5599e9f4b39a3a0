"""Helpers shared by the hostile-input and wrong-token tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from services.catalog import SERVICES
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.http import create_app
from shared.runtime import bootstrap
from shared.settings import Settings

OPS_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
)


@contextmanager
def quiet_client(tmp_path: Path, **overrides: object) -> Iterator[TestClient]:
    """Every service in one app on SQLite and the in-process bus, no background threads."""
    settings = Settings(data_dir=tmp_path, **overrides)
    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="sec",
        store=SqliteStore(tmp_path / "store.sqlite3"),
        bus=InProcessBus(tmp_path / "bus.sqlite3"),
    )
    app = create_app(runtime, title="sec", background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    runtime.close()
