"""The registry over HTTP in the embedded app: validation, scope, idempotency, privacy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.registry.routes import HOUSEHOLDS
from shared.adapters.inproc_bus import InProcessBus
from shared.auth import Role
from shared.ports.store import CollectionSpec, Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, FOREIGN_VILLAGE, OTHER_VILLAGE, VILLAGE, token

VILLAGE_BODY = {
    "village_code": VILLAGE,
    "name": "Cibiru Wetan",
    "district_code": DISTRICT,
    "district_name": "Kabupaten Bandung",
}


def register_village(client: TestClient, headers: dict[str, str], code: str = VILLAGE) -> None:
    body = {**VILLAGE_BODY, "village_code": code, "district_code": code[:4]}
    assert client.post("/registry/villages", json=body, headers=headers).status_code == 201


def test_no_token_is_401_and_a_bad_token_is_401(embedded: TestClient) -> None:
    r = embedded.get(f"/registry/villages/{VILLAGE}")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    forged = embedded.get("/registry/villages", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401


def test_token_signed_with_another_secret_is_401(embedded: TestClient, tmp_path: Path) -> None:
    other = Settings(data_dir=tmp_path, secret="x" * 40)
    r = embedded.get("/registry/villages", headers=token(other))
    assert r.status_code == 401


def test_another_villages_token_gets_403_and_no_data(
    embedded: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    register_village(embedded, admin)
    hh = embedded.post(
        "/registry/households", json={"village_code": VILLAGE, "members": 3}, headers=admin
    ).json()
    other = token(settings, Role.VILLAGE_OPERATOR, villages=[OTHER_VILLAGE])
    for r in (
        embedded.get(f"/registry/villages/{VILLAGE}", headers=other),
        embedded.get(f"/registry/households/{hh['household_id']}", headers=other),
        embedded.get(f"/registry/households?village_code={VILLAGE}", headers=other),
        embedded.post(
            "/registry/households", json={"village_code": VILLAGE, "members": 2}, headers=other
        ),
        embedded.patch(
            f"/registry/households/{hh['household_id']}", json={"members": 9}, headers=other
        ),
    ):
        assert r.status_code == 403, r.text
        assert hh["household_id"] not in r.text and "Cibiru" not in r.text
    listed = embedded.get("/registry/households", headers=other).json()
    assert listed == {"items": [], "next_cursor": None}
    assert (
        embedded.get(f"/registry/households/{hh['household_id']}", headers=admin).json()["members"]
        == 3
    )


def test_only_the_districts_admin_registers_its_villages(
    embedded: TestClient, settings: Settings
) -> None:
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    assert (
        embedded.post("/registry/villages", json=VILLAGE_BODY, headers=operator).status_code == 403
    )
    foreign = {**VILLAGE_BODY, "village_code": FOREIGN_VILLAGE, "district_code": "3301"}
    assert (
        embedded.post("/registry/villages", json=foreign, headers=token(settings)).status_code
        == 403
    )


def test_viewer_reads_but_cannot_write(
    embedded: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    register_village(embedded, admin)
    viewer = token(settings, Role.VIEWER, district=DISTRICT)
    assert embedded.get(f"/registry/villages/{VILLAGE}", headers=viewer).status_code == 200
    r = embedded.post(
        "/registry/households", json={"village_code": VILLAGE, "members": 1}, headers=viewer
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"village_code": "32040520", "members": 3}, "village_code"),
        ({"village_code": VILLAGE, "members": -1}, "members"),
        ({"village_code": VILLAGE}, "members"),
        ({"village_code": VILLAGE, "members": 2, "occurred_on": "2026-13-45"}, "occurred_on"),
        ({"village_code": VILLAGE, "members": 2, "occurred_on": "2999-01-01"}, "occurred_on"),
        ({"village_code": VILLAGE, "members": 2, "kk_number": "12ab"}, "kk_number"),
        ({"village_code": VILLAGE, "members": 2, "nik": "3204"}, "nik"),
        ({"village_code": "3204052009", "members": 2}, "village_code"),
    ],
)
def test_bad_household_input_is_422_naming_the_field_and_records_nothing(
    embedded: TestClient, admin: dict[str, str], body: dict, field: str
) -> None:
    register_village(embedded, admin)
    r = embedded.post("/registry/households", json=body, headers=admin)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in problem["detail"]
    assert any(e["loc"][-1] == field for e in problem["errors"])
    assert embedded.get("/registry/households", headers=admin).json()["items"] == []


def test_district_code_must_match_the_village_code(
    embedded: TestClient, admin: dict[str, str]
) -> None:
    r = embedded.post(
        "/registry/villages", json={**VILLAGE_BODY, "district_code": "3205"}, headers=admin
    )
    assert r.status_code == 422
    assert "district_code" in r.json()["detail"]


def test_malformed_json_is_a_4xx_problem(embedded: TestClient, admin: dict[str, str]) -> None:
    r = embedded.post(
        "/registry/households",
        content=b'{"village_code": ',
        headers={**admin, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_oversized_body_is_413(embedded: TestClient, admin: dict[str, str]) -> None:
    r = embedded.post(
        "/registry/households",
        content=b"x" * 300_000,
        headers={**admin, "content-type": "application/json"},
    )
    assert r.status_code == 413


def test_kk_number_is_never_stored_or_shown_in_clear(
    embedded: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    register_village(embedded, admin)
    kk = "3204050101097777"
    r = embedded.post(
        "/registry/households",
        json={"village_code": VILLAGE, "members": 4, "kk_number": kk, "head_name": "Ibu Sumarni"},
        headers={**admin, "Idempotency-Key": "privacy-check"},
    )
    assert r.status_code == 201
    assert r.json()["kk_last4"] == "7777" and kk not in r.text
    time.sleep(0.5)
    embedded.app.state.runtime.relay.drain()
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("*.sqlite3*"))
    assert kk.encode() not in raw
    assert b"Sumarni" not in raw


def test_patch_updates_members_once_per_idempotency_key(
    embedded: TestClient, admin: dict[str, str]
) -> None:
    register_village(embedded, admin)
    hh = embedded.post(
        "/registry/households", json={"village_code": VILLAGE, "members": 3}, headers=admin
    ).json()["household_id"]
    headers = {**admin, "Idempotency-Key": "patch-1"}
    first = embedded.patch(f"/registry/households/{hh}", json={"members": 5}, headers=headers)
    again = embedded.patch(f"/registry/households/{hh}", json={"members": 5}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert (
        embedded.patch(
            "/registry/households/hh-missing", json={"members": 5}, headers=admin
        ).status_code
        == 404
    )


def test_list_pages_with_a_cursor(embedded: TestClient, admin: dict[str, str]) -> None:
    register_village(embedded, admin)
    for _ in range(5):
        embedded.post(
            "/registry/households", json={"village_code": VILLAGE, "members": 1}, headers=admin
        )
    first = embedded.get("/registry/households?limit=2", headers=admin).json()
    second = embedded.get(
        f"/registry/households?limit=2&cursor={first['next_cursor']}", headers=admin
    ).json()
    third = embedded.get(
        f"/registry/households?limit=2&cursor={second['next_cursor']}", headers=admin
    ).json()
    ids = [h["household_id"] for p in (first, second, third) for h in p["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    bad = embedded.get("/registry/households?cursor=%%%", headers=admin)
    assert bad.status_code == 422
    assert embedded.get("/registry/households?limit=501", headers=admin).status_code == 422


@pytest.fixture
def app_on_store(store: Store, tmp_path: Path, settings: Settings) -> Iterator[TestClient]:
    """The registry and aggregator on each store adapter (relay not running: we inspect it)."""
    from services.catalog import SERVICES
    from shared.http import create_app

    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="t",
        store=store,
        bus=InProcessBus(tmp_path / "bus.sqlite3"),
    )
    with TestClient(create_app(runtime, title="t", background=False)) as client:
        yield client


def test_idempotency_key_repeat_records_nothing_new_and_other_body_is_409(
    app_on_store: TestClient, admin: dict[str, str]
) -> None:
    client = app_on_store
    store = client.app.state.runtime.store
    register_village(client, admin)
    headers = {**admin, "Idempotency-Key": "import-row-17"}
    body = {"village_code": VILLAGE, "members": 4}
    first = client.post("/registry/households", json=body, headers=headers)
    backlog = store.outbox_backlog()
    again = client.post("/registry/households", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert store.count(HOUSEHOLDS) == 1
    assert store.outbox_backlog() == backlog == 2  # village + one household
    conflict = client.post("/registry/households", json={**body, "members": 5}, headers=headers)
    assert conflict.status_code == 409
    assert store.count(HOUSEHOLDS) == 1
    assert (
        client.post(
            "/registry/households", json=body, headers={**admin, "Idempotency-Key": "x" * 101}
        ).status_code
        == 422
    )


def test_a_retry_after_a_crash_mid_request_does_not_write_twice(
    app_on_store: TestClient, admin: dict[str, str]
) -> None:
    """The claim was taken and the write done, but the answer was never stored (crash)."""
    client = app_on_store
    store = client.app.state.runtime.store
    register_village(client, admin)
    headers = {**admin, "Idempotency-Key": "flaky-signal"}
    body = {"village_code": VILLAGE, "members": 2}
    first = client.post("/registry/households", json=body, headers=headers).json()
    claim = store.find("idempotency", {"state": "done"}).items[0]
    store.replace(
        "idempotency",
        {
            "_id": claim["_id"],
            "fingerprint": claim["fingerprint"],
            "state": "pending",
            "at": claim["at"],
        },
    )
    retried = client.post("/registry/households", json=body, headers=headers)
    assert retried.status_code == 201
    assert retried.json()["household_id"] == first["household_id"]
    assert store.count(HOUSEHOLDS) == 1
    assert store.outbox_backlog() == 2


def test_client_chosen_id_reused_for_another_household_is_409(
    app_on_store: TestClient, admin: dict[str, str]
) -> None:
    client = app_on_store
    register_village(client, admin)
    body = {"village_code": VILLAGE, "members": 2, "household_id": "opensid-0042"}
    assert client.post("/registry/households", json=body, headers=admin).status_code == 201
    r = client.post("/registry/households", json={**body, "members": 3}, headers=admin)
    assert r.status_code == 409


def test_one_household_per_kk_number_in_a_village(
    app_on_store: TestClient, admin: dict[str, str], store: Store
) -> None:
    client = app_on_store
    register_village(client, admin)
    register_village(client, admin, OTHER_VILLAGE)
    kk = "3204050101095555"
    body = {"village_code": VILLAGE, "members": 2, "kk_number": kk}
    first = client.post("/registry/households", json=body, headers=admin)
    assert first.status_code == 201
    holder = first.json()["household_id"]
    again = client.post("/registry/households", json={**body, "members": 5}, headers=admin)
    assert again.status_code == 409
    assert again.json()["errors"][0]["loc"] == ["body", "kk_number"]
    assert holder in again.json()["detail"] and kk not in again.text
    elsewhere = client.post(
        "/registry/households", json={**body, "village_code": OTHER_VILLAGE}, headers=admin
    )
    assert elsewhere.status_code == 201
    keyed = {**admin, "Idempotency-Key": "kk-retry-1"}
    other = {**body, "kk_number": "3204050101096666"}
    made = client.post("/registry/households", json=other, headers=keyed)
    retried = client.post("/registry/households", json=other, headers=keyed)
    assert made.status_code == retried.status_code == 201
    assert retried.json()["household_id"] == made.json()["household_id"]
    assert store.count(HOUSEHOLDS) == 3
    match = client.post(
        "/registry/households/match", json={"village_code": VILLAGE, "kk_number": kk}, headers=admin
    )
    assert match.status_code == 200 and match.json()["household_id"] == holder


def test_a_stale_kk_claim_is_taken_over_and_claims_are_atomic(store: Store) -> None:
    """A claim whose household was never written (a write cut off half-way, long ago) does
    not block the KK number; of many concurrent claims of one KK number exactly one wins."""
    from concurrent.futures import ThreadPoolExecutor

    from services.registry.routes import KK_INDEX, STALE_KK_CLAIM_S, _claim_kk
    from shared.errors import Problem

    store.ensure([CollectionSpec(KK_INDEX), CollectionSpec(HOUSEHOLDS)])
    old = time.time() - STALE_KK_CLAIM_S - 1
    store.replace(KK_INDEX, {"_id": f"{VILLAGE}:kk-a", "household_id": "cut-off", "at": old})
    _claim_kk(store, VILLAGE, "kk-a", "hh-new")
    assert store.get(KK_INDEX, f"{VILLAGE}:kk-a")["household_id"] == "hh-new"

    def claim(i: int) -> str:
        try:
            _claim_kk(store, VILLAGE, "kk-b", f"hh-{i}")
        except Problem as exc:
            return f"refused {exc.status}"
        store.replace(HOUSEHOLDS, {"_id": f"hh-{i}", "village_code": VILLAGE, "kk_hash": "kk-b"})
        return "claimed"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(claim, range(24)))
    assert outcomes == ["claimed"] + ["refused 409"] * 23
    winner = store.get(KK_INDEX, f"{VILLAGE}:kk-b")["household_id"]
    assert store.get(HOUSEHOLDS, winner) is not None
    assert store.count(HOUSEHOLDS) == 1


def test_embedded_view_counts_households_through_the_bus(
    embedded: TestClient, admin: dict[str, str]
) -> None:
    register_village(embedded, admin)
    for _ in range(3):
        embedded.post(
            "/registry/households", json={"village_code": VILLAGE, "members": 2}, headers=admin
        )
    deadline = time.monotonic() + 20
    count = None
    while time.monotonic() < deadline:
        r = embedded.get(f"/resilience/villages/{VILLAGE}", headers=admin)
        count = r.json().get("households_registered") if r.status_code == 200 else None
        if count == 3:
            break
        time.sleep(0.1)
    assert count == 3


def test_service_metrics_are_exposed(embedded: TestClient, admin: dict[str, str]) -> None:
    register_village(embedded, admin)
    text = embedded.get("/metrics").text
    assert 'lumbung_http_requests_total{method="POST",route="/registry/villages"' in text
    assert "lumbung_http_request_duration_seconds_bucket" in text
    assert 'lumbung_events_written_total{service="registry",' in text
    assert "lumbung_outbox_backlog" in text
