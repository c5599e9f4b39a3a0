"""Fixtures: both adapters of each port, real servers, tokens and apps."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role, mint_token
from shared.ports.bus import Bus, Consumer
from shared.ports.store import Store
from shared.settings import Settings
from tests.servers import LumbungProcess, require_env

VILLAGE = "3204052001"
OTHER_VILLAGE = "3204052002"
FOREIGN_VILLAGE = "3301010001"
DISTRICT = "3204"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return require_env("LUMBUNG_TEST_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def mongo_url() -> str:
    return require_env("LUMBUNG_TEST_MONGO_URL")


def _mongo_store(url: str) -> tuple[Store, str]:
    from shared.adapters.mongo_store import MongoStore

    name = f"t_{uuid.uuid4().hex[:10]}"
    return MongoStore(url, name), name


def _drop_mongo(url: str, name: str) -> None:
    from pymongo import MongoClient

    client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=3000)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "mongo"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store adapter in turn: SQLite (embedded) and MongoDB wire (FerretDB)."""
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.sqlite3")
        yield s
        s.close()
        return
    url = request.getfixturevalue("mongo_url")
    s, name = _mongo_store(url)
    yield s
    s.close()
    _drop_mongo(url, name)


@pytest.fixture(params=["inproc", "kafka", "kafka-prefetch"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """Each bus adapter in turn: the durable in-process log, real Kafka, and real Kafka
    whose every consumer fetches in a child process (as the aggregator's does)."""
    if request.param == "inproc":
        b: Bus = InProcessBus(tmp_path / "bus.sqlite3", partitions=3)
    else:
        from shared.adapters.kafka_bus import KafkaBus

        class PrefetchingKafkaBus(KafkaBus):
            def consumer(self, group: str, topics: Sequence[str], **options: Any) -> Consumer:
                return super().consumer(group, topics, **{**options, "prefetch": True})

        kind = PrefetchingKafkaBus if request.param == "kafka-prefetch" else KafkaBus
        b = kind(request.getfixturevalue("kafka_bootstrap"), partitions=3, session_timeout_ms=6000)
    yield b
    b.close()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def token(
    settings: Settings,
    role: Role = Role.DISTRICT_ADMIN,
    *,
    district: str | None = None,
    villages: list[str] | None = None,
) -> dict[str, str]:
    if district is None and villages is None:
        district = DISTRICT
    tok = mint_token(
        settings.secret, role=role, sub=f"{role}-test", district=district, villages=villages
    )
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def admin(settings: Settings) -> dict[str, str]:
    return token(settings)


@pytest.fixture
def embedded(settings: Settings) -> Iterator[TestClient]:
    """The embedded platform in-process, background relay and aggregator running."""
    from services.main import embedded_app

    with TestClient(embedded_app(settings)) as client:
        yield client


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., LumbungProcess]]:
    """Start Lumbung processes; every one is stopped at the end of the test."""
    started: list[LumbungProcess] = []

    def start(module: str, env: dict[str, str], name: str | None = None) -> LumbungProcess:
        proc = LumbungProcess(module, env, tmp_path / f"{name or module}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Chaos tests run last: they fill the shared Kafka log with 100k events, and every later
    distributed test would start a fresh aggregator that replays all of them."""
    items.sort(key=lambda item: "/chaos/" in str(item.path))
