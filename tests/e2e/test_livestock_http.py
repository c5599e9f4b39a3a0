"""The livestock service over HTTP: head counts, derived amounts, reads, scope and roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.livestock.routes import HERDS, RECORDS
from services.livestock.service import SERVICE
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.http import create_app
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, OTHER_VILLAGE, VILLAGE, token

Headers = dict[str, str]


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    """The livestock service alone on SQLite; the relay is off, so the outbox can be read."""
    store = SqliteStore(tmp_path / "s.sqlite3")
    runtime = bootstrap(
        settings, [SERVICE], label="t", store=store, bus=InProcessBus(tmp_path / "b.sqlite3")
    )
    with TestClient(create_app(runtime, title="t", background=False)) as client:
        yield client, store


def herd(
    client: TestClient,
    headers: Headers,
    *,
    village: str = VILLAGE,
    household: str = "hh-001",
    species: str = "goat",
    count: int = 6,
) -> str:
    body = {"household_id": household, "village_code": village, "species": species, "count": count}
    r = client.post("/livestock/herds", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["herd_id"]


def fact(
    client: TestClient, headers: Headers, herd_id: str, path: str, body: dict[str, Any]
) -> Any:
    return client.post(f"/livestock/herds/{herd_id}/{path}", json=body, headers=headers)


def recorded(client: TestClient, headers: Headers, herd_id: str, path: str, **body: Any) -> dict:
    r = fact(client, headers, herd_id, path, body)
    assert r.status_code == 201, r.text
    return r.json()


def events(store: Store) -> list[dict]:
    return [e for entry in store.outbox_pending(10_000) for e in entry.events]


def head_count(client: TestClient, headers: Headers, herd_id: str) -> int:
    r = client.get(f"/livestock/herds/{herd_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["head_count"]


def test_sale_amount_is_count_times_price_per_head_in_answer_document_and_event(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    herd_id = herd(client, admin, household="hh-sale", species="sheep")
    sale = recorded(
        client, admin, herd_id, "sales", count=3, price_per_head=2_150_000, channel="market"
    )
    assert sale["amount"] == 6_450_000
    assert sale["kind"] == "sale" and sale["fact_id"].startswith("fact-")
    assert store.get(RECORDS, sale["fact_id"])["amount"] == 6_450_000
    event = events(store)[-1]
    assert event["type"] == "lumbung.livestock.livestock_sold.v1"
    assert event["data"]["amount"] == 6_450_000
    assert event["data"]["species"] == "sheep"


def test_a_fact_takes_village_household_and_species_from_its_herd(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    herd_id = herd(client, admin, village=OTHER_VILLAGE, household="hh-buffalo", species="buffalo")
    birth = recorded(client, admin, herd_id, "births", count=1, occurred_on="2026-01-15")
    assert birth["village_code"] == OTHER_VILLAGE and birth["district_code"] == DISTRICT
    assert (birth["household_id"], birth["species"]) == ("hh-buffalo", "buffalo")
    assert birth["occurred_on"] == "2026-01-15"
    event = events(store)[-1]
    assert event["villagecode"] == OTHER_VILLAGE
    assert event["subject"] == "hh-buffalo"
    assert event["data"] == {
        "occurred_on": "2026-01-15",
        "herd_id": herd_id,
        "household_id": "hh-buffalo",
        "species": "buffalo",
        "count": 1,
    }
    assert event["id"] == birth["event_id"]


def test_head_count_adds_births_and_subtracts_deaths_and_sales_only(
    api: tuple, admin: Headers
) -> None:
    client, _ = api
    herd_id = herd(client, admin, count=6)
    recorded(client, admin, herd_id, "births", count=2)
    recorded(client, admin, herd_id, "deaths", count=1, cause="old_age")
    recorded(client, admin, herd_id, "sales", count=2, price_per_head=1_800_000, channel="direct")
    recorded(client, admin, herd_id, "vaccinations", vaccine="Vaksin PMK", count=5)
    recorded(client, admin, herd_id, "disease-reports", disease="Scabies", cases=3)
    recorded(client, admin, herd_id, "compost", kg=40)
    detail = client.get(f"/livestock/herds/{herd_id}", headers=admin).json()
    assert {k: detail[k] for k in ("count", "born", "died", "sold", "head_count")} == {
        "count": 6,
        "born": 2,
        "died": 1,
        "sold": 2,
        "head_count": 5,
    }


def test_head_count_covers_a_herd_with_more_facts_than_one_store_page(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    herd_id = herd(client, admin, count=0)
    ids = [f"fact-{n:04d}" for n in range(501)]
    template = {**recorded(client, admin, herd_id, "births", count=1)}
    for fact_id in ids:
        doc = {**template, "_id": fact_id, "fact_id": fact_id}
        store.insert(RECORDS, doc, command_id=fact_id)
    assert head_count(client, admin, herd_id) == 502


def test_deaths_and_sales_beyond_the_head_count_are_accepted_and_the_count_clamps_at_zero(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    herd_id = herd(client, admin, count=2)
    died = fact(client, admin, herd_id, "deaths", {"count": 3, "cause": "disaster"})
    assert died.status_code == 201, died.text
    assert head_count(client, admin, herd_id) == 0
    # The birth that explains the death reaches the system late; the count catches up.
    late = {"count": 4, "occurred_on": "2025-12-01"}
    assert fact(client, admin, herd_id, "births", late).status_code == 201
    assert head_count(client, admin, herd_id) == 3
    sold = {"count": 10, "price_per_head": 500_000, "channel": "middleman"}
    assert fact(client, admin, herd_id, "sales", sold).status_code == 201
    assert head_count(client, admin, herd_id) == 0
    assert store.count(RECORDS, {"herd_id": herd_id}) == 3


def test_unknown_herd_is_404_for_reads_and_writes_and_records_nothing(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    for r in (
        client.get("/livestock/herds/herd-missing", headers=admin),
        client.get("/livestock/herds/herd-missing/records", headers=admin),
        client.get("/livestock/records/fact-missing", headers=admin),
        fact(client, admin, "herd-missing", "births", {"count": 1}),
        fact(client, admin, "herd-missing", "compost", {"kg": 3}),
    ):
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert store.outbox_backlog() == 0


def test_another_villages_operator_gets_403_and_no_data(
    api: tuple, admin: Headers, settings: Settings
) -> None:
    client, store = api
    herd_id = herd(client, admin, household="hh-secret")
    disease = recorded(client, admin, herd_id, "disease-reports", disease="Antraks", cases=1)
    other = token(settings, Role.VILLAGE_OPERATOR, villages=[OTHER_VILLAGE])
    backlog = store.outbox_backlog()
    for r in (
        client.get(f"/livestock/herds/{herd_id}", headers=other),
        client.get(f"/livestock/herds/{herd_id}/records", headers=other),
        client.get(f"/livestock/records/{disease['fact_id']}", headers=other),
        client.get(f"/livestock/herds?village_code={VILLAGE}", headers=other),
        client.get(f"/livestock/records?village_code={VILLAGE}", headers=other),
        fact(client, other, herd_id, "deaths", {"count": 1, "cause": "unknown"}),
    ):
        assert r.status_code == 403, r.text
        assert "hh-secret" not in r.text and "Antraks" not in r.text
    assert store.outbox_backlog() == backlog
    empty = {"items": [], "next_cursor": None}
    assert client.get("/livestock/herds", headers=other).json() == empty
    assert client.get("/livestock/records", headers=other).json() == empty


def test_extension_worker_writes_livestock_only_in_assigned_villages(
    api: tuple, admin: Headers, settings: Settings
) -> None:
    client, store = api
    worker = token(settings, Role.EXTENSION_WORKER, villages=[VILLAGE])
    own = herd(client, worker)
    assert (
        fact(client, worker, own, "vaccinations", {"vaccine": "SE", "count": 6}).status_code == 201
    )
    elsewhere = herd(client, admin, village=OTHER_VILLAGE)
    backlog = store.outbox_backlog()
    body = {"household_id": "hh-9", "village_code": OTHER_VILLAGE, "species": "duck", "count": 9}
    assert client.post("/livestock/herds", json=body, headers=worker).status_code == 403
    assert fact(client, worker, elsewhere, "births", {"count": 1}).status_code == 403
    assert store.outbox_backlog() == backlog


def test_viewer_reads_herds_but_cannot_write(
    api: tuple, admin: Headers, settings: Settings
) -> None:
    client, store = api
    herd_id = herd(client, admin)
    viewer = token(settings, Role.VIEWER, district=DISTRICT)
    assert client.get(f"/livestock/herds/{herd_id}", headers=viewer).status_code == 200
    backlog = store.outbox_backlog()
    body = {"household_id": "hh-2", "village_code": VILLAGE, "species": "pig", "count": 2}
    refused = client.post("/livestock/herds", json=body, headers=viewer)
    assert refused.status_code == 403
    assert "tidak berwenang mencatat" in refused.json()["detail"]
    assert fact(client, viewer, herd_id, "births", {"count": 1}).status_code == 403
    assert store.outbox_backlog() == backlog
    assert store.count(HERDS) == 1


def test_herd_list_is_scoped_filtered_and_paged_with_a_cursor(api: tuple, admin: Headers) -> None:
    client, _ = api
    mine = {herd(client, admin, household=f"hh-{n}", species="chicken") for n in range(4)}
    mine.add(herd(client, admin, household="hh-0", species="duck"))
    herd(client, admin, village=OTHER_VILLAGE)
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        page = client.get(
            f"/livestock/herds?village_code={VILLAGE}&limit=2{cursor}", headers=admin
        ).json()
        seen += [h["herd_id"] for h in page["items"]]
        cursor = f"&cursor={page['next_cursor']}"
    assert page["next_cursor"] is None
    assert sorted(seen) == sorted(mine)
    by_household = client.get("/livestock/herds?household_id=hh-0", headers=admin).json()
    assert {h["species"] for h in by_household["items"]} == {"chicken", "duck"}
    ducks = client.get("/livestock/herds?species=duck", headers=admin).json()["items"]
    assert [h["household_id"] for h in ducks] == ["hh-0"]
    for bad in ("village_code=3204", "species=horse", "cursor=%%%", "limit=501"):
        assert client.get(f"/livestock/herds?{bad}", headers=admin).status_code == 422, bad


def test_herd_records_list_only_that_herds_facts_paged_and_filtered_by_kind(
    api: tuple, admin: Headers
) -> None:
    client, _ = api
    herd_id, neighbour = herd(client, admin), herd(client, admin, household="hh-002")
    recorded(client, admin, herd_id, "births", count=2)
    recorded(client, admin, herd_id, "deaths", count=1, cause="accident")
    recorded(client, admin, herd_id, "compost", kg=12.5)
    recorded(client, admin, neighbour, "births", count=1)
    first = client.get(f"/livestock/herds/{herd_id}/records?limit=2", headers=admin).json()
    second = client.get(
        f"/livestock/herds/{herd_id}/records?limit=2&cursor={first['next_cursor']}",
        headers=admin,
    ).json()
    items = first["items"] + second["items"]
    assert second["next_cursor"] is None
    assert sorted(i["kind"] for i in items) == ["birth", "compost", "death"]
    assert {i["herd_id"] for i in items} == {herd_id}
    compost = next(i for i in items if i["kind"] == "compost")
    assert compost["kg"] == 12.5 and compost["amount"] is None and compost["count"] is None
    deaths = client.get(f"/livestock/herds/{herd_id}/records?kind=death", headers=admin).json()
    assert [(d["count"], d["cause"]) for d in deaths["items"]] == [(1, "accident")]


def test_village_records_list_finds_disease_reports_across_herds(
    api: tuple, admin: Headers
) -> None:
    client, _ = api
    goats, cattle = herd(client, admin), herd(client, admin, household="hh-7", species="cattle")
    elsewhere = herd(client, admin, village=OTHER_VILLAGE)
    recorded(client, admin, goats, "disease-reports", disease="Orf", cases=2)
    recorded(client, admin, cattle, "disease-reports", disease="PMK", cases=4)
    recorded(client, admin, cattle, "vaccinations", vaccine="PMK", count=4)
    recorded(client, admin, elsewhere, "disease-reports", disease="Orf", cases=1)
    found = client.get(
        f"/livestock/records?village_code={VILLAGE}&kind=disease_report", headers=admin
    ).json()["items"]
    assert sorted((r["disease"], r["cases"]) for r in found) == [("Orf", 2), ("PMK", 4)]
    one = client.get(f"/livestock/records/{found[0]['fact_id']}", headers=admin).json()
    assert one == found[0]


def test_client_chosen_herd_id_reused_for_another_herd_is_409(api: tuple, admin: Headers) -> None:
    client, store = api
    body = {
        "household_id": "hh-1",
        "village_code": VILLAGE,
        "species": "cattle",
        "count": 2,
        "herd_id": "opensid-kandang-7",
    }
    created = client.post("/livestock/herds", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["herd_id"] == "opensid-kandang-7"
    again = client.post("/livestock/herds", json={**body, "count": 3}, headers=admin)
    assert again.status_code == 409
    assert store.outbox_backlog() == 1


def test_a_repeated_sale_with_its_idempotency_key_is_recorded_once(
    api: tuple, admin: Headers
) -> None:
    client, store = api
    herd_id = herd(client, admin)
    keyed = {**admin, "Idempotency-Key": "nota-2026-031"}
    body = {"count": 1, "price_per_head": 3_000_000, "channel": "bumdes"}
    first = fact(client, keyed, herd_id, "sales", body)
    again = fact(client, keyed, herd_id, "sales", body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert fact(client, keyed, herd_id, "sales", {**body, "count": 2}).status_code == 409
    assert store.count(RECORDS) == 1
    assert head_count(client, admin, herd_id) == 5


def test_every_livestock_route_is_documented_with_a_summary(api: tuple) -> None:
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    routes = {
        (method.upper(), path): op
        for path, ops in paths.items()
        if path.startswith("/livestock")
        for method, op in ops.items()
    }
    facts = ("births", "deaths", "vaccinations", "disease-reports", "sales", "compost")
    expected = {("POST", "/livestock/herds"), ("GET", "/livestock/herds")}
    expected |= {("POST", f"/livestock/herds/{{herd_id}}/{f}") for f in facts}
    assert expected <= set(routes)
    for key, op in routes.items():
        assert op.get("summary"), key
        assert "200" in op["responses"] or "201" in op["responses"], key
