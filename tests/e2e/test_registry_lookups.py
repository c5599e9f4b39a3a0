"""NIK/KK lookups are recorded for the district admin: who asked, when, where, how and
whether a household was found (refused ones too), never the number; only the district's
admin reads the record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.main import embedded_app
from services.registry.lookups import LOOKUPS
from shared.auth import Role
from shared.pii import PiiVault
from shared.ports.store import scan
from shared.settings import Settings
from tests.conftest import DISTRICT, OTHER_VILLAGE, VILLAGE, token
from tests.e2e.test_registry_http import register_village
from tests.pii_scan import Findings, dumps

NIK = "3204054101900002"
OTHER_NIK = "3204051203880001"
UNKNOWN_NIK = "3204056508950003"
KK = "3204050101094444"
UNKNOWN_KK = "3204050101098888"
NUMBERS = (NIK, OTHER_NIK, UNKNOWN_NIK, KK, UNKNOWN_KK)


def client_with(tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(embedded_app(Settings(data_dir=tmp_path / "data", **overrides)))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """Two villages of district 3204, a household with a KK number and two NIKs in the
    first; the district admin's headers."""
    with client_with(tmp_path, lookup_rate="50/hour") as client:
        admin = token(client.app.state.runtime.settings)
        register_village(client, admin)
        register_village(client, admin, OTHER_VILLAGE)
        household = {
            "village_code": VILLAGE,
            "members": 2,
            "kk_number": KK,
            "member_niks": [NIK, OTHER_NIK],
        }
        client.post("/registry/households", json=household, headers=admin).raise_for_status()
        yield client, admin


def look_up(client: TestClient, headers: dict[str, str], village: str = VILLAGE, **number: str):
    return client.post(
        "/registry/households/match", json={"village_code": village, **number}, headers=headers
    )


def lookups(client: TestClient, headers: dict[str, str], **query: str) -> Any:
    return client.get("/registry/lookups", params=query or None, headers=headers)


def stored_records(client: TestClient) -> list[dict[str, Any]]:
    return list(scan(client.app.state.runtime.store, LOOKUPS, {}))


def personal_needles(client: TestClient) -> list[str]:
    """Each number, its keyed hash, and its digits after the region (the date of birth and
    the serial): none of them may be in a lookup record."""
    vault = PiiVault(client.app.state.runtime.settings.pii_key)
    return [n for number in NUMBERS for n in (number, vault.match_hash(number), number[6:])]


def test_every_lookup_is_recorded_with_who_and_the_outcome_and_never_the_number(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = world
    settings = client.app.state.runtime.settings
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    assert look_up(client, operator, nik=NIK).status_code == 200
    assert look_up(client, operator, nik=UNKNOWN_NIK).status_code == 404
    assert look_up(client, admin, kk_number=KK, member_niks=[NIK, OTHER_NIK]).status_code == 200
    assert look_up(client, admin, kk_number=UNKNOWN_KK).status_code == 404

    listed = lookups(client, admin, village_code=VILLAGE)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    outcome = [(i["sub"], i["role"], i["by"], i["found"], i["refused"]) for i in items]
    assert outcome == [  # newest first
        ("district_admin-test", "district_admin", "kk", False, None),
        ("district_admin-test", "district_admin", "kk", True, None),
        ("village_operator-test", "village_operator", "nik", False, None),
        ("village_operator-test", "village_operator", "nik", True, None),
    ]
    for item in items:
        assert item["village_code"] == VILLAGE and item["district_code"] == DISTRICT
        assert item["attempts"] == 1
        assert datetime.fromisoformat(item["at"]).tzinfo is not None

    records = stored_records(client)
    assert len(records) == 4
    found = Findings()
    for record in records:
        found.check(f"lookup:{record['_id']}", dumps(record), personal_needles(client))
    assert found.hits == []
    assert all(n not in listed.text for n in personal_needles(client))
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("*.sqlite3*"))
    assert not any(number.encode() in raw for number in NUMBERS)


def test_lookups_refused_by_the_limit_are_recorded_with_their_attempts(tmp_path: Path) -> None:
    with client_with(tmp_path, lookup_rate="2/hour") as client:
        admin = token(client.app.state.runtime.settings)
        register_village(client, admin)
        statuses = [look_up(client, admin, nik=UNKNOWN_NIK).status_code for _ in range(5)]
        assert statuses == [404, 404, 429, 429, 429]
        items = lookups(client, admin).json()["items"]
        answered = [i for i in items if i["refused"] is None]
        refused = [i for i in items if i["refused"] is not None]
        assert [i["found"] for i in answered] == [False, False]
        # one record per token, village, kind and minute: a flood cannot flood the store
        assert 1 <= len(refused) <= 2
        assert sum(i["attempts"] for i in refused) == 3
        for item in refused:
            assert item["found"] is None and item["refused"] == "rate_limit"
            assert item["by"] == "nik" and item["sub"] == "district_admin-test"
            assert item["last_at"] >= item["at"]
        found = Findings()
        for record in stored_records(client):
            found.check("lookup", dumps(record), personal_needles(client))
        assert found.hits == []


def test_lookups_refused_for_scope_or_shape_are_neither_counted_nor_recorded(
    tmp_path: Path,
) -> None:
    with client_with(tmp_path, lookup_rate="1/hour") as client:
        settings = client.app.state.runtime.settings
        admin = token(settings)
        register_village(client, admin)
        elsewhere = token(settings, Role.VILLAGE_OPERATOR, villages=[OTHER_VILLAGE])
        viewer = token(settings, Role.VIEWER, district=DISTRICT)
        assert look_up(client, elsewhere, nik=NIK).status_code == 403
        assert look_up(client, viewer, nik=NIK).status_code == 403
        assert look_up(client, admin, nik=NIK, kk_number=KK).status_code == 422
        assert look_up(client, admin).status_code == 422
        assert stored_records(client) == []
        assert look_up(client, admin, nik=NIK).status_code == 404  # the one allowed
        assert look_up(client, admin, nik=NIK).status_code == 429


def test_a_lookup_whose_record_cannot_be_written_is_a_503_and_not_answered(
    world: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, admin = world
    store = client.app.state.runtime.store
    real_replace = store.replace

    def failing_replace(collection: str, doc: dict[str, Any]) -> None:
        if collection == LOOKUPS:
            raise RuntimeError("disk full")
        real_replace(collection, doc)

    monkeypatch.setattr(store, "replace", failing_replace)
    for number in ({"nik": NIK}, {"nik": UNKNOWN_NIK}):
        r = look_up(client, admin, **number)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) >= 1
        assert "household_id" not in r.text
        assert "tidak dapat dicatat" in r.json()["detail"]
    assert stored_records(client) == []
    monkeypatch.undo()
    assert look_up(client, admin, nik=NIK).status_code == 200


def test_a_refusal_whose_record_cannot_be_written_is_still_a_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with client_with(tmp_path, lookup_rate="1/hour") as client:
        admin = token(client.app.state.runtime.settings)
        register_village(client, admin)
        assert look_up(client, admin, nik=NIK).status_code == 404
        store = client.app.state.runtime.store

        def unreachable(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("store gone")

        monkeypatch.setattr(store, "put_if_absent", unreachable)
        assert look_up(client, admin, nik=NIK).status_code == 429


def test_only_the_districts_admin_reads_the_lookups(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = world
    settings = client.app.state.runtime.settings
    assert look_up(client, admin, nik=NIK).status_code == 200
    assert look_up(client, admin, OTHER_VILLAGE, nik=NIK).status_code == 404
    whole = lookups(client, admin).json()["items"]
    assert sorted(i["village_code"] for i in whole) == sorted([VILLAGE, OTHER_VILLAGE])
    one = lookups(client, admin, village_code=OTHER_VILLAGE).json()["items"]
    assert [i["village_code"] for i in one] == [OTHER_VILLAGE]

    refused = {
        "village operator": token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE]),
        "extension worker": token(settings, Role.EXTENSION_WORKER, villages=[VILLAGE]),
        "viewer of the district": token(settings, Role.VIEWER, district=DISTRICT),
        "admin of another district": token(settings, district="3301"),
    }
    for who, headers in refused.items():
        for query in ({"village_code": VILLAGE}, {}):
            r = lookups(client, {**headers, "Accept-Language": "en"}, **query)
            if who == "admin of another district" and not query:
                assert r.json() == {"items": [], "next_cursor": None}, who  # its own district
                continue
            assert r.status_code == 403, (who, query, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "only the district admin" in r.json()["detail"]
            assert VILLAGE not in r.text
    assert lookups(client, admin, village_code="32040520").status_code == 422


def test_the_lookups_list_pages_with_a_cursor(world: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = world
    for _ in range(5):
        look_up(client, admin, nik=UNKNOWN_NIK)
    first = lookups(client, admin, limit="2").json()
    second = lookups(client, admin, limit="2", cursor=first["next_cursor"]).json()
    third = lookups(client, admin, limit="2", cursor=second["next_cursor"]).json()
    ids = [i["lookup_id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    assert ids == sorted(ids)  # ids count down in time: newest first
    assert lookups(client, admin, cursor="%%%").status_code == 422
    assert lookups(client, admin, limit="501").status_code == 422
