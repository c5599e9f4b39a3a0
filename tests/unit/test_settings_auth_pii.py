"""Settings refuse weak secrets in production; tokens carry scope; PII never in clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared.auth import Principal, Role, decode_token, mint_token
from shared.errors import Problem
from shared.pii import PiiVault
from shared.settings import DEFAULT_SECRET, Mode, Settings

STRONG = "k" * 40


def test_distributed_mode_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMBUNG_MODE", "distributed")
    with pytest.raises(ValidationError, match="LUMBUNG_SECRET"):
        Settings()
    monkeypatch.setenv("LUMBUNG_SECRET", STRONG)
    monkeypatch.setenv("LUMBUNG_PII_KEY", "short")
    with pytest.raises(ValidationError, match="LUMBUNG_PII_KEY"):
        Settings()
    monkeypatch.setenv("LUMBUNG_PII_KEY", STRONG)
    assert Settings().mode is Mode.DISTRIBUTED


def test_embedded_mode_runs_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMBUNG_MODE", raising=False)
    settings = Settings()
    assert settings.mode is Mode.EMBEDDED and settings.secret == DEFAULT_SECRET
    assert settings.port == 8000


def test_view_workers_default_to_none_in_embedded_mode_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The embedded process serves every write itself, so a large rebuild stays in it; an
    aggregator process of its own uses one worker per core, at most 4."""
    monkeypatch.delenv("LUMBUNG_VIEW_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings(mode=Mode.EMBEDDED).views_in_workers == 1
    distributed = Settings(mode=Mode.DISTRIBUTED, secret=STRONG, pii_key=STRONG)
    assert distributed.views_in_workers == 4
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert distributed.views_in_workers == 2
    monkeypatch.setenv("LUMBUNG_VIEW_WORKERS", "3")
    assert Settings(mode=Mode.EMBEDDED).views_in_workers == 3


@pytest.mark.parametrize("value, logged", [(None, False), ("true", True), ("0", False)])
def test_the_access_log_is_off_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, value: str | None, logged: bool
) -> None:
    """uvicorn writes a line per request only with LUMBUNG_ACCESS_LOG (metrics count them)."""
    import services.main as entry

    if value is None:
        monkeypatch.delenv("LUMBUNG_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("LUMBUNG_ACCESS_LOG", value)
    served: dict[str, object] = {}
    monkeypatch.setattr(entry, "embedded_app", lambda settings: "app")
    monkeypatch.setattr(entry, "tune_gc", lambda: None)
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    entry.serve()
    assert served["app"] == "app"
    assert served["access_log"] is logged


def test_token_round_trip_and_scope() -> None:
    tok = mint_token(STRONG, role=Role.VILLAGE_OPERATOR, sub="op", villages=["3204052001"])
    who = decode_token(STRONG, tok)
    assert who.covers_village("3204052001") and not who.covers_village("3204052002")
    district = Principal(sub="d", role=Role.DISTRICT_ADMIN, district="3204")
    assert district.covers_village("3204052002") and not district.covers_village("3301010001")


def test_expired_or_foreign_tokens_are_refused() -> None:
    expired = mint_token(
        STRONG, role=Role.VIEWER, sub="v", district="3204", ttl=timedelta(seconds=-1)
    )
    with pytest.raises(Problem) as err:
        decode_token(STRONG, expired)
    assert err.value.status == 401
    with pytest.raises(Problem):
        decode_token("other" * 10, mint_token(STRONG, role=Role.VIEWER, sub="v", district="3204"))


def test_token_needs_a_scope() -> None:
    with pytest.raises(ValueError) as refused:
        mint_token(STRONG, role=Role.VIEWER, sub="v")
    assert str(refused.value) == (
        "token memerlukan kabupaten atau paling sedikit satu desa. "
        "(a token needs a district or at least one village)"
    )


def test_extension_workers_write_only_farming_and_livestock() -> None:
    from shared.auth import Sector

    worker = Principal(sub="w", role=Role.EXTENSION_WORKER, villages=["3204052001"])
    assert worker.can_write(Sector.AGRICULTURE) and worker.can_write(Sector.LIVESTOCK)
    assert not worker.can_write(Sector.COMMERCE) and not worker.can_write(Sector.REGISTRY)


def test_pii_hash_is_keyed_and_names_are_sealed() -> None:
    a, b = PiiVault("key-a" * 8), PiiVault("key-b" * 8)
    kk = "3204050101090001"
    assert a.match_hash(kk) == a.match_hash("3204 0501 0109 0001")
    assert a.match_hash(kk) != b.match_hash(kk) and kk not in a.match_hash(kk)
    assert a.last4(kk) == "0001"
    sealed = a.seal("Ibu Siti")
    assert "Siti" not in sealed and a.open(sealed) == "Ibu Siti" and b.open(sealed) is None
