"""Real processes on real servers: helpers to start Lumbung the way production does."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from shared.auth import Role, mint_token

SECRET = "integration-secret-" + "s" * 24


def distributed_env(kafka: str, mongo: str, unique: str) -> dict[str, str]:
    return {
        "LUMBUNG_MODE": "distributed",
        "LUMBUNG_KAFKA_BOOTSTRAP": kafka,
        "LUMBUNG_MONGO_URL": mongo,
        "LUMBUNG_MONGO_DB": f"it_{unique}",
        "LUMBUNG_CONSUMER_GROUP": f"agg-{unique}",
        "LUMBUNG_SECRET": SECRET,
        "LUMBUNG_PII_KEY": "integration-pii-key-" + "p" * 24,
        "LUMBUNG_SESSION_TIMEOUT_MS": "6000",
        "LUMBUNG_KAFKA_PARTITIONS": "3",
        # a fresh aggregator replays the shared test log first: keep its view work small
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
