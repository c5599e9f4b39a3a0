"""The one place that reads the environment (prefix ``LUMBUNG_``)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "lumbung-embedded-dev-secret-change-me-please"


def dedicated_view_workers() -> int:
    """View workers for a process that does nothing else: one per core, at most 4."""
    return min(os.cpu_count() or 1, 4)


class Mode(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class Settings(BaseSettings):
    """Runtime configuration. Embedded mode needs nothing; distributed mode needs real secrets."""

    model_config = SettingsConfigDict(env_prefix="LUMBUNG_", env_file=None, extra="ignore")

    mode: Mode = Mode.EMBEDDED
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    # One log line per HTTP request (uvicorn's access log). Off by default: the Prometheus
    # metrics count and time every request by route and status already, and the line cost
    # ~0.3-0.8 ms of the ~3.5 ms of CPU an embedded write takes (bench/FINDINGS.md).
    access_log: bool = False

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(6, ge=1)
    kafka_client_id: str = "lumbung"
    consumer_group: str = "lumbung-aggregator"
    # each domain service keeps its copy of household -> village with the consumer group
    # "<households_group>-<service>" (shared/households.py)
    households_group: str = "lumbung-households"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = "lumbung"

    secret: str = DEFAULT_SECRET
    pii_key: str = DEFAULT_SECRET
    token_ttl_hours: int = Field(24 * 30, ge=1)

    relay_interval_s: float = Field(0.2, gt=0)
    relay_batch: int = Field(500, ge=1)
    consumer_batch: int = Field(1000, ge=1)
    # The aggregator's Kafka consumer fetches in a child process of its own, the next batch
    # of a backlog while it folds the last (shared/adapters/kafka_prefetch.py); no effect in
    # embedded mode.
    consumer_prefetch: bool = True
    session_timeout_ms: int = Field(10_000, ge=1000)
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    write_rate: str = Field("6000/minute", pattern=r"^[0-9]+ ?(/|per) ?[0-9]* ?[a-z]+$")
    # NIK/KK lookups (POST /registry/households/match) per token: a NIK's digits are the
    # region and the date of birth, so the lookup is an oracle. One a second on average
    # lets an importer match a village's 1,000-2,000 households one by one in 17-33
    # minutes (it waits for Retry-After), while an enumerator gets at most 86,400 guesses
    # a day per token, each one recorded for the district admin (GET /registry/lookups).
    lookup_rate: str = Field("60/minute", pattern=r"^[0-9]+ ?(/|per) ?[0-9]* ?[a-z]+$")
    demo: str = "on"
    # The language of the command line: its help, usage errors and the API refusals its
    # imports report (Bahasa Indonesia, or English). The API follows each request's
    # Accept-Language, the dashboard its own switch.
    lang: Literal["id", "en"] = "id"
    rules_file: Path | None = None
    view_months: int = Field(24, ge=12, le=120)
    # Processes that share a large view rebuild (catching up, a new month); 1: none. Unset:
    # none in embedded mode, whose one process also serves every write (measured: worker
    # processes there took the cores from it and doubled the freshness p50 at 200 writes/s),
    # else dedicated_view_workers().
    view_workers: int | None = Field(None, ge=1, le=64)
    # The outbound feed and its webhooks: one feed builder and dispatcher per deployment
    # (services/agriculture/feed.py). On by default for the embedded app and a single
    # agriculture process; deploy/k8s turns it off in the scaled API replicas and on in the
    # one-replica agriculture-feed Deployment.
    feed_builder: bool = True
    feed_group: str = "lumbung-feed"
    webhook_max_failures: int = Field(8, ge=1, le=100)
    webhook_backoff_s: float = Field(2.0, gt=0)
    webhook_backoff_max_s: float = Field(600.0, gt=0)
    webhook_timeout_s: float = Field(10.0, gt=0, le=120)
    # Webhooks may post to private, loopback and link-local addresses (off: SSRF guard)
    webhook_private_targets: bool = False

    @property
    def views_in_workers(self) -> int:
        """The ``view_workers`` to use (see there)."""
        if self.view_workers is not None:
            return self.view_workers
        return 1 if self.mode is Mode.EMBEDDED else dedicated_view_workers()

    @field_validator("lang", mode="before")
    @classmethod
    def _lang_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.mode is Mode.DISTRIBUTED:
            weak = [
                name
                for name in ("secret", "pii_key")
                if getattr(self, name) == DEFAULT_SECRET or len(getattr(self, name)) < 32
            ]
            if weak:
                raise ValueError(
                    "distributed mode refuses default or short secrets: set "
                    + ", ".join(f"LUMBUNG_{n.upper()} (>= 32 chars)" for n in weak)
                )
        return self

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "lumbung.sqlite3"
