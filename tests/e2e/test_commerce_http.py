"""Commerce over HTTP: reads, derived amounts, domain rules and roles the case table can't show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.catalog import SERVICES
from services.commerce import routes
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.http import create_app
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, OTHER_VILLAGE, VILLAGE, token

Api = tuple[TestClient, Store, dict[str, str], Settings]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """All services on SQLite with the relay off, so the outbox shows what was emitted."""
    settings = Settings(data_dir=tmp_path)
    store = SqliteStore(tmp_path / "s.sqlite3")
    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="t",
        store=store,
        bus=InProcessBus(tmp_path / "b.sqlite3"),
    )
    with TestClient(create_app(runtime, title="t", background=False)) as client:
        yield client, store, token(settings, Role.DISTRICT_ADMIN, district=DISTRICT), settings


def business(
    client: TestClient, headers: dict[str, str], village: str = VILLAGE, **extra: Any
) -> str:
    body = {
        "household_id": extra.pop("household_id", "hh-0001"),
        "village_code": village,
        "name": "Dodol Garut Bu Enok",
        "category": "makanan olahan",
        **extra,
    }
    r = client.post("/commerce/businesses", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["business_id"]


def post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/commerce/businesses/{path}", json=body, headers=headers)


def product(client: TestClient, headers: dict[str, str], biz: str, **extra: Any) -> str:
    body = {"name": "Dodol wijen", "unit": "kotak", "price": 25000, "packaging_score": 3, **extra}
    r = post(client, headers, f"{biz}/products", body)
    assert r.status_code == 201, r.text
    return r.json()["product_id"]


def events(store: Store, name: str) -> list[dict[str, Any]]:
    wanted = f"lumbung.commerce.{name}.v1"
    return [
        e for entry in store.outbox_pending(10_000) for e in entry.events if e["type"] == wanted
    ]


SALE = {"channel": "shopee", "quantity": 3, "unit_price": 12500}


def test_business_detail_shows_its_products_and_opened_channels(api: Api) -> None:
    client, _, admin, _ = api
    biz, other = business(client, admin), business(client, admin)
    mine = {product(client, admin, biz), product(client, admin, biz, name="Dodol durian")}
    product(client, admin, other)
    for channel in ("shopee", "market"):
        assert post(client, admin, f"{biz}/channels", {"channel": channel}).status_code == 201
    post(client, admin, f"{other}/channels", {"channel": "instagram"})

    detail = client.get(f"/commerce/businesses/{biz}", headers=admin).json()

    assert detail["business_id"] == biz and detail["name"] == "Dodol Garut Bu Enok"
    assert {p["product_id"] for p in detail["products"]} == mine
    assert detail["products_next_cursor"] is None
    assert sorted(c["channel"] for c in detail["channels"]) == ["market", "shopee"]
    assert "event_id" not in detail


def test_business_detail_bounds_products_and_points_to_the_rest(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, admin, _ = api
    monkeypatch.setattr(routes, "DETAIL_PRODUCTS", 2)
    biz = business(client, admin)
    listed = {product(client, admin, biz, name=f"Dodol {n}") for n in range(3)}

    detail = client.get(f"/commerce/businesses/{biz}", headers=admin).json()
    rest = client.get(
        f"/commerce/businesses/{biz}/products?cursor={detail['products_next_cursor']}",
        headers=admin,
    ).json()

    assert len(detail["products"]) == 2
    shown = {p["product_id"] for p in detail["products"] + rest["items"]}
    assert shown == listed and rest["next_cursor"] is None


def test_sub_resource_events_carry_the_business_village_and_household(api: Api) -> None:
    client, store, admin, _ = api
    biz = business(client, admin, OTHER_VILLAGE, household_id="hh-cibiru-17")
    product(client, admin, biz)
    post(client, admin, f"{biz}/channels", {"channel": "whatsapp"})
    post(client, admin, f"{biz}/sales", {**SALE, "channel": "whatsapp"})
    post(
        client, admin, f"{biz}/capital", {"source": "bumdes", "kind": "grant", "amount": 2_000_000}
    )

    for name in ("product_listed", "channel_opened", "sale_recorded", "capital_received"):
        [event] = events(store, name)
        assert event["villagecode"] == OTHER_VILLAGE, name
        assert event["subject"] == "hh-cibiru-17", name
        assert event["data"]["household_id"] == "hh-cibiru-17", name
        assert event["data"]["business_id"] == biz, name


@pytest.mark.parametrize(
    ("quantity", "unit_price", "amount"),
    [(3, 12500, 37500), (1.25, 999, 1249), (0.4, 2501, 1000), (7, 0, 0)],
)
def test_sale_amount_is_quantity_times_unit_price_rounded(
    api: Api, quantity: float, unit_price: int, amount: int
) -> None:
    client, store, admin, _ = api
    biz = business(client, admin)
    body = {"channel": "market", "quantity": quantity, "unit_price": unit_price}

    r = post(client, admin, f"{biz}/sales", body)

    assert r.status_code == 201, r.text
    assert r.json()["amount"] == amount and r.json()["fact_id"]
    assert events(store, "sale_recorded")[0]["data"]["amount"] == amount


def test_sale_without_a_product_stores_none_and_emits_no_product_id(api: Api) -> None:
    client, store, admin, _ = api
    biz = business(client, admin)

    answer = post(client, admin, f"{biz}/sales", SALE).json()

    assert answer["product_id"] is None
    assert "product_id" not in events(store, "sale_recorded")[0]["data"]


def test_sale_of_another_business_product_is_422_naming_product_id(api: Api) -> None:
    client, store, admin, _ = api
    biz, other = business(client, admin), business(client, admin)
    theirs = product(client, admin, other)
    backlog = store.outbox_backlog()

    r = post(client, admin, f"{biz}/sales", {**SALE, "product_id": theirs})

    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "product_id"]
    assert store.outbox_backlog() == backlog
    assert post(client, admin, f"{other}/sales", {**SALE, "product_id": theirs}).status_code == 201


def test_opening_the_same_channel_twice_is_409_and_recorded_once(api: Api) -> None:
    client, store, admin, _ = api
    biz = business(client, admin)

    first = post(client, admin, f"{biz}/channels", {"channel": "tokopedia"})
    again = post(client, admin, f"{biz}/channels", {"channel": "tokopedia", "occurred_on": None})

    assert first.status_code == 201 and again.status_code == 409
    assert len(events(store, "channel_opened")) == 1
    other = business(client, admin)
    assert post(client, admin, f"{other}/channels", {"channel": "tokopedia"}).status_code == 201


def test_client_chosen_ids_reused_for_another_record_are_409(api: Api) -> None:
    client, _, admin, _ = api
    biz = business(client, admin, business_id="umkm-cbr-01")
    product(client, admin, biz, product_id="sku-01")

    again = client.post(
        "/commerce/businesses",
        json={
            "business_id": "umkm-cbr-01",
            "household_id": "hh-0002",
            "village_code": VILLAGE,
            "name": "Warung Kopi",
            "category": "minuman",
        },
        headers=admin,
    )
    dup = post(
        client,
        admin,
        f"{biz}/products",
        {"name": "Lain", "unit": "kg", "price": 1, "packaging_score": 1, "product_id": "sku-01"},
    )

    assert again.status_code == 409 and dup.status_code == 409


@pytest.mark.parametrize("sub", ["products", "channels", "sales", "capital"])
def test_unknown_business_is_404_for_writes_and_reads(api: Api, sub: str) -> None:
    client, store, admin, _ = api
    bodies = {
        "products": {"name": "x", "unit": "kg", "price": 1, "packaging_score": 1},
        "channels": {"channel": "shop"},
        "sales": SALE,
        "capital": {"source": "kur", "kind": "loan", "amount": 1},
    }

    assert post(client, admin, f"biz-missing/{sub}", bodies[sub]).status_code == 404
    assert client.get(f"/commerce/businesses/biz-missing/{sub}", headers=admin).status_code == 404
    assert client.get("/commerce/businesses/biz-missing", headers=admin).status_code == 404
    assert store.outbox_backlog() == 0


def test_product_of_another_business_is_404_under_this_one(api: Api) -> None:
    client, _, admin, _ = api
    biz, other = business(client, admin), business(client, admin)
    prd = product(client, admin, biz)

    assert (
        client.get(f"/commerce/businesses/{biz}/products/{prd}", headers=admin).json()["product_id"]
        == prd
    )
    assert client.get(
        f"/commerce/businesses/{other}/products/{prd}", headers=admin
    ).status_code == (404)


def test_another_villages_operator_gets_403_and_no_data(api: Api) -> None:
    client, store, admin, settings = api
    biz = business(client, admin, OTHER_VILLAGE)
    prd = product(client, admin, biz)
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    backlog = store.outbox_backlog()

    refused = [
        client.get(f"/commerce/businesses/{biz}", headers=operator),
        client.get(f"/commerce/businesses/{biz}/products/{prd}", headers=operator),
        client.get(f"/commerce/businesses?village_code={OTHER_VILLAGE}", headers=operator),
        *(
            client.get(f"/commerce/businesses/{biz}/{sub}", headers=operator)
            for sub in ("products", "channels", "sales", "capital")
        ),
        post(client, operator, f"{biz}/sales", SALE),
        post(client, operator, f"{biz}/channels", {"channel": "shop"}),
    ]

    for r in refused:
        assert r.status_code == 403, r.text
        assert biz not in r.text and prd not in r.text
    assert client.get("/commerce/businesses", headers=operator).json()["items"] == []
    assert store.outbox_backlog() == backlog


def test_village_operator_writes_and_reads_in_its_own_village(api: Api) -> None:
    client, _, _, settings = api
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])

    biz = business(client, operator)
    sale = post(client, operator, f"{biz}/sales", SALE)

    assert sale.status_code == 201
    listed = client.get("/commerce/businesses", headers=operator).json()["items"]
    assert [b["business_id"] for b in listed] == [biz]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXTENSION_WORKER])
def test_viewer_and_extension_worker_read_but_may_not_write_commerce(api: Api, role: Role) -> None:
    client, store, admin, settings = api
    biz = business(client, admin)
    headers = token(settings, role, villages=[VILLAGE])
    backlog = store.outbox_backlog()

    assert client.get(f"/commerce/businesses/{biz}", headers=headers).status_code == 200
    new = {"household_id": "hh-9", "village_code": VILLAGE, "name": "Toko", "category": "ritel"}
    assert client.post("/commerce/businesses", json=new, headers=headers).status_code == 403
    capital = {"source": "kur", "kind": "loan", "amount": 5}
    for sub, body in (("sales", SALE), ("channels", {"channel": "shop"}), ("capital", capital)):
        r = post(client, headers, f"{biz}/{sub}", body)
        assert r.status_code == 403, r.text
        assert "tidak berwenang mencatat data commerce" in r.json()["detail"]
    english = {**headers, "Accept-Language": "en-GB,en;q=0.9"}
    r = post(client, english, f"{biz}/sales", SALE)
    assert r.status_code == 403 and "may not write commerce" in r.json()["detail"]
    assert store.outbox_backlog() == backlog


def test_business_list_filters_by_village_and_household(api: Api) -> None:
    client, _, admin, _ = api
    here = business(client, admin, VILLAGE, household_id="hh-a")
    there = business(client, admin, OTHER_VILLAGE, household_id="hh-b")
    also_a = business(client, admin, VILLAGE, household_id="hh-a")

    def ids(query: str) -> set[str]:
        r = client.get(f"/commerce/businesses?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return {b["business_id"] for b in r.json()["items"]}

    assert ids("") == {here, there, also_a}
    assert ids(f"village_code={OTHER_VILLAGE}") == {there}
    assert ids("household_id=hh-a") == {here, also_a}
    assert client.get("/commerce/businesses?village_code=32", headers=admin).status_code == 422


def test_sales_list_pages_with_a_cursor_and_holds_only_this_business(api: Api) -> None:
    client, _, admin, _ = api
    biz, other = business(client, admin), business(client, admin)
    for n in range(5):
        post(client, admin, f"{biz}/sales", {**SALE, "quantity": n + 1})
    post(client, admin, f"{other}/sales", SALE)

    seen: list[float] = []
    cursor = ""
    for _ in range(3):
        page = client.get(f"/commerce/businesses/{biz}/sales?limit=2{cursor}", headers=admin).json()
        seen += [s["quantity"] for s in page["items"]]
        cursor = f"&cursor={page['next_cursor']}"

    assert sorted(seen) == [1, 2, 3, 4, 5] and page["next_cursor"] is None


def test_capital_and_channels_are_listed_under_their_business(api: Api) -> None:
    client, _, admin, _ = api
    biz = business(client, admin)
    post(client, admin, f"{biz}/capital", {"source": "kur", "kind": "loan", "amount": 5_000_000})
    post(client, admin, f"{biz}/capital", {"source": "family", "kind": "grant", "amount": 750_000})
    post(client, admin, f"{biz}/channels", {"channel": "bumdes"})

    capital = client.get(f"/commerce/businesses/{biz}/capital", headers=admin).json()["items"]
    channels = client.get(f"/commerce/businesses/{biz}/channels", headers=admin).json()["items"]

    assert sorted((c["kind"], c["amount"]) for c in capital) == [
        ("grant", 750_000),
        ("loan", 5_000_000),
    ]
    assert [c["channel"] for c in channels] == ["bumdes"]
