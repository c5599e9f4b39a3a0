"""Real processes on real servers: helpers to start Lumbung the way production does."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pytest

from shared.auth import Role, mint_token

SECRET = "integration-secret-" + "s" * 24


def start_groups_at_log_end(kafka: str, groups: list[str]) -> None:
    """Commit the end of every domain topic for ``groups`` before their first member joins.

    Tests share one broker, so the topics hold every earlier test's events; a test's fresh
    aggregator and feed builder would otherwise fold all of them (into FerretDB, slowly)
    before the test's own. Each test writes its own villages after this, so it loses nothing.
    """
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import OffsetSpec
    from kafka.errors import KafkaError

    from services.aggregator.service import TOPICS
    from shared.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(kafka, partitions=3)
    try:
        bus.ensure_topics(TOPICS)
    finally:
        bus.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    try:
        described = admin.describe_topics(list(TOPICS))
        parts = [
            TopicPartition(t["name"], p["partition_index"])
            for t in described
            for p in t["partitions"]
        ]
        for group in groups:
            for attempt in range(60):  # a broker just started has no group coordinator yet
                try:
                    admin.reset_group_offsets(group, dict.fromkeys(parts, OffsetSpec.LATEST))
                    break
                except KafkaError as exc:
                    if not exc.retriable or attempt == 59:
                        raise
                    time.sleep(0.5)
    finally:
        admin.close()


def distributed_env(kafka: str, mongo: str, unique: str) -> dict[str, str]:
    """The environment of a distributed test's processes: its own database and consumer
    groups, which start at the end of the shared log (see start_groups_at_log_end)."""
    directories = [f"hh-{unique}-{s}" for s in ("training", "commerce", "agriculture", "livestock")]
    start_groups_at_log_end(kafka, [f"agg-{unique}", f"feed-{unique}", *directories])
    return {
        "LUMBUNG_MODE": "distributed",
        "LUMBUNG_KAFKA_BOOTSTRAP": kafka,
        "LUMBUNG_MONGO_URL": mongo,
        "LUMBUNG_MONGO_DB": f"it_{unique}",
        "LUMBUNG_CONSUMER_GROUP": f"agg-{unique}",
        "LUMBUNG_FEED_GROUP": f"feed-{unique}",
        "LUMBUNG_HOUSEHOLDS_GROUP": f"hh-{unique}",
        "LUMBUNG_SECRET": SECRET,
        "LUMBUNG_PII_KEY": "integration-pii-key-" + "p" * 24,
        "LUMBUNG_SESSION_TIMEOUT_MS": "6000",
        "LUMBUNG_KAFKA_PARTITIONS": "3",
        "LUMBUNG_VIEW_MONTHS": "12",
    }


def embedded_env(data_dir: Path) -> dict[str, str]:
    return {
        "LUMBUNG_MODE": "embedded",
        "LUMBUNG_DATA_DIR": str(data_dir),
        "LUMBUNG_SECRET": SECRET,
        "LUMBUNG_PII_KEY": SECRET,
    }


def fresh_village() -> str:
    return f"3204{random.randint(0, 999_999):06d}"


def admin_headers() -> dict[str, str]:
    tok = mint_token(SECRET, role=Role.DISTRICT_ADMIN, sub="it-admin", district="3204")
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
