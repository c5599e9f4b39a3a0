"""Agriculture over HTTP: reads, derived amounts, plot rules, crop names, roles and scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from services.agriculture.models import Kind
from services.agriculture.routes import KINDS, RECORDS
from services.catalog import SERVICES
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.events.catalogue import (
    CATALOGUE,
    FarmerGroupJoined,
    FarmerGroupRegistered,
    PlotRegistered,
)
from shared.http import create_app
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, OTHER_VILLAGE, VILLAGE, token

HH = "hh-petani-0001"
OTHER_HH = "hh-petani-0002"


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """All services on SQLite with the relay off, so emitted events stay in the outbox."""
    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="t",
        store=SqliteStore(tmp_path / "s.sqlite3"),
        bus=InProcessBus(tmp_path / "b.sqlite3"),
    )
    with TestClient(create_app(runtime, title="t", background=False)) as c:
        yield c


def store_of(client: TestClient) -> Store:
    return client.app.state.runtime.store


def events(client: TestClient, name: str) -> list[dict[str, Any]]:
    wanted = f"lumbung.agriculture.{name}.v1"
    pending = store_of(client).outbox_pending(100_000)
    return [e for entry in pending for e in entry.events if e["type"] == wanted]


def post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/agriculture{path}", json=body, headers=headers)


def made(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict:
    r = post(client, headers, path, body)
    assert r.status_code == 201, r.text
    return r.json()


def plot(
    client: TestClient,
    headers: dict[str, str],
    *,
    village: str = VILLAGE,
    household: str = HH,
    area_ha: float = 0.5,
) -> str:
    body = {
        "household_id": household,
        "village_code": village,
        "area_ha": area_ha,
        "land_status": "owned",
    }
    return made(client, headers, "/plots", body)["plot_id"]


def practice(
    client: TestClient, headers: dict[str, str], *, village: str = VILLAGE, household: str = HH
) -> dict:
    body = {"household_id": household, "village_code": village, "practice": "compost"}
    return made(client, headers, "/practices", body)


def sale_body(**fields: Any) -> dict[str, Any]:
    return {
        "household_id": HH,
        "village_code": VILLAGE,
        "crop": "tomat",
        "kg": 10,
        "price_per_kg": 6000,
        "channel": "market",
        **fields,
    }


def test_sale_amount_is_kg_times_price_rounded_to_whole_rupiah(
    client: TestClient, admin: dict[str, str]
) -> None:
    sale = made(client, admin, "/sales", sale_body(kg=0.75, price_per_kg=3333))
    assert sale["amount"] == 2500 and sale["kind"] == "sale"
    [event] = events(client, "produce_sold")
    assert event["data"]["amount"] == 2500
    assert event["data"]["kg"] == 0.75 and event["data"]["price_per_kg"] == 3333
    stored = client.get(f"/agriculture/records/{sale['fact_id']}", headers=admin).json()
    assert stored["amount"] == 2500


def test_crop_names_differing_in_case_and_spaces_are_one_crop(
    client: TestClient, admin: dict[str, str]
) -> None:
    plot_id = plot(client, admin)
    made(client, admin, f"/plots/{plot_id}/plantings", {"crop": " Padi  Sawah ", "area_ha": 0.5})
    made(client, admin, f"/plots/{plot_id}/harvests", {"crop": "padi sawah", "kg": 900})
    made(client, admin, "/sales", sale_body(crop="PADI SAWAH"))
    crops = {
        e["data"]["crop"]
        for n in ("crop_planted", "harvest_recorded", "produce_sold")
        for e in events(client, n)
    }
    assert crops == {"padi sawah"}
    listed = client.get("/agriculture/records", headers=admin).json()["items"]
    assert {r["crop"] for r in listed} == {"padi sawah"}


def test_plot_detail_has_its_own_plantings_and_harvests_oldest_first(
    client: TestClient, admin: dict[str, str]
) -> None:
    plot_id, other_id = plot(client, admin), plot(client, admin)
    seasons = (
        ("2026-03-01", "jagung"),
        ("2025-10-01", "padi"),
        ("2026-07-15", "kacang tanah"),
        ("2024-11-20", "singkong"),
    )
    for day, crop in seasons:
        body = {"crop": crop, "area_ha": 0.4, "occurred_on": day}
        made(client, admin, f"/plots/{plot_id}/plantings", body)
    made(client, admin, f"/plots/{plot_id}/harvests", {"crop": "padi", "kg": 1500})
    made(client, admin, f"/plots/{other_id}/plantings", {"crop": "kedelai", "area_ha": 0.1})
    made(client, admin, f"/plots/{other_id}/harvests", {"crop": "kedelai", "kg": 80})
    detail = client.get(f"/agriculture/plots/{plot_id}", headers=admin).json()
    assert detail["plot_id"] == plot_id and detail["area_ha"] == 0.5
    assert detail["household_id"] == HH and detail["land_status"] == "owned"
    assert [p["crop"] for p in detail["plantings"]] == [
        "singkong",
        "padi",
        "jagung",
        "kacang tanah",
    ]
    assert [h["kg"] for h in detail["harvests"]] == [1500]


def test_planting_may_cover_the_whole_plot_but_not_more(
    client: TestClient, admin: dict[str, str]
) -> None:
    plot_id = plot(client, admin, area_ha=0.25)
    path = f"/plots/{plot_id}/plantings"
    assert post(client, admin, path, {"crop": "cabai", "area_ha": 0.25}).status_code == 201
    r = post(client, admin, path, {"crop": "cabai", "area_ha": 0.26})
    assert r.status_code == 422
    assert "area_ha" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "area_ha"]
    assert len(events(client, "crop_planted")) == 1


def test_writes_on_an_unknown_plot_are_404_and_record_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    planting = post(client, admin, "/plots/plot-nope/plantings", {"crop": "padi", "area_ha": 1})
    harvest = post(client, admin, "/plots/plot-nope/harvests", {"crop": "padi", "kg": 1})
    assert planting.status_code == harvest.status_code == 404
    assert store_of(client).outbox_backlog() == 0


def test_plot_facts_take_village_and_household_from_the_plot(
    client: TestClient, admin: dict[str, str]
) -> None:
    plot_id = plot(client, admin, village=OTHER_VILLAGE, household=OTHER_HH)
    made(client, admin, f"/plots/{plot_id}/plantings", {"crop": "padi", "area_ha": 0.5})
    made(client, admin, f"/plots/{plot_id}/harvests", {"crop": "padi", "kg": 2000})
    for name in ("crop_planted", "harvest_recorded"):
        [event] = events(client, name)
        assert event["villagecode"] == OTHER_VILLAGE and event["subject"] == OTHER_HH
        assert event["data"]["household_id"] == OTHER_HH
        assert event["data"]["plot_id"] == plot_id
    listed = client.get(
        f"/agriculture/records?village_code={OTHER_VILLAGE}&household_id={OTHER_HH}",
        headers=admin,
    ).json()["items"]
    assert {r["kind"] for r in listed} == {"planting", "harvest"}


def test_records_filter_by_village_household_and_kind(
    client: TestClient, admin: dict[str, str]
) -> None:
    mine = practice(client, admin)["fact_id"]
    neighbour = practice(client, admin, household=OTHER_HH)["fact_id"]
    elsewhere = practice(client, admin, village=OTHER_VILLAGE, household="hh-x")["fact_id"]
    sold = made(client, admin, "/sales", sale_body())["fact_id"]

    def ids(query: str) -> set[str]:
        r = client.get(f"/agriculture/records?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return {item["fact_id"] for item in r.json()["items"]}

    assert ids("") == {mine, neighbour, elsewhere, sold}
    assert ids(f"village_code={VILLAGE}") == {mine, neighbour, sold}
    assert ids(f"household_id={HH}") == {mine, sold}
    assert ids("kind=practice") == {mine, neighbour, elsewhere}
    assert ids(f"household_id={HH}&kind=sale") == {sold}
    bad = client.get("/agriculture/records?kind=produce_sold", headers=admin)
    assert bad.status_code == 422 and "kind" in bad.json()["detail"]


def test_plots_filter_by_household(client: TestClient, admin: dict[str, str]) -> None:
    mine = {plot(client, admin), plot(client, admin)}
    plot(client, admin, household=OTHER_HH)
    r = client.get(f"/agriculture/plots?household_id={HH}", headers=admin).json()
    assert {p["plot_id"] for p in r["items"]} == mine


@pytest.mark.parametrize("path", ["/agriculture/plots", "/agriculture/records"])
def test_lists_page_with_a_cursor(client: TestClient, admin: dict[str, str], path: str) -> None:
    for _ in range(5):
        plot(client, admin)
        practice(client, admin)
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        page = client.get(f"{path}?limit=2{cursor}", headers=admin).json()
        seen += [item.get("plot_id") or item["fact_id"] for item in page["items"]]
        cursor = f"&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert len(seen) == len(set(seen)) == 5 and cursor == ""
    assert client.get(f"{path}?cursor=%%%", headers=admin).status_code == 422


def test_another_villages_operator_gets_403_and_no_data(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    plot_id = plot(client, admin)
    fact_id = practice(client, admin)["fact_id"]
    other = token(settings, Role.VILLAGE_OPERATOR, villages=[OTHER_VILLAGE])
    for r in (
        client.get(f"/agriculture/plots/{plot_id}", headers=other),
        client.get(f"/agriculture/records/{fact_id}", headers=other),
        client.get(f"/agriculture/plots?village_code={VILLAGE}", headers=other),
        client.get(f"/agriculture/records?village_code={VILLAGE}", headers=other),
        post(client, other, f"/plots/{plot_id}/harvests", {"crop": "padi", "kg": 5}),
    ):
        assert r.status_code == 403, r.text
        assert plot_id not in r.text and fact_id not in r.text and HH not in r.text
    for path in ("/agriculture/plots", "/agriculture/records"):
        assert client.get(path, headers=other).json() == {"items": [], "next_cursor": None}


def test_unknown_plot_and_record_are_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/agriculture/plots/plot-nope", headers=admin).status_code == 404
    assert client.get("/agriculture/records/fact-nope", headers=admin).status_code == 404


def test_viewer_reads_but_cannot_write(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    plot_id = plot(client, admin)
    viewer = token(settings, Role.VIEWER, district=DISTRICT)
    assert client.get(f"/agriculture/plots/{plot_id}", headers=viewer).status_code == 200
    assert client.get("/agriculture/records", headers=viewer).status_code == 200
    refused = (
        post(client, viewer, "/sales", sale_body()),
        post(client, viewer, f"/plots/{plot_id}/plantings", {"crop": "padi", "area_ha": 0.1}),
    )
    assert [r.status_code for r in refused] == [403, 403]
    assert store_of(client).count(RECORDS) == 0


def test_extension_worker_writes_only_in_assigned_villages(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    worker = token(settings, Role.EXTENSION_WORKER, villages=[VILLAGE])
    own_plot = plot(client, worker)
    made(client, worker, f"/plots/{own_plot}/plantings", {"crop": "padi", "area_ha": 0.5})
    visit = {
        "household_id": HH,
        "village_code": VILLAGE,
        "extension_worker_id": "ppl-01",
        "topic": "Jajar legowo",
        "recommendation": "Tanam sistem jajar legowo 2:1.",
        "source_system": "simluhtan",
    }
    made(client, worker, "/extension-visits", visit)
    foreign_plot = plot(client, admin, village=OTHER_VILLAGE)
    refused = (
        post(client, worker, "/extension-visits", {**visit, "village_code": OTHER_VILLAGE}),
        post(client, worker, f"/plots/{foreign_plot}/harvests", {"crop": "padi", "kg": 1}),
        client.get(f"/agriculture/plots/{foreign_plot}", headers=worker),
    )
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert store_of(client).count(RECORDS) == 2


def test_client_chosen_plot_id_reused_for_another_plot_is_409(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {
        "household_id": HH,
        "village_code": VILLAGE,
        "area_ha": 1.2,
        "land_status": "sharecropped",
        "plot_id": "simluhtan-plot-88",
    }
    assert made(client, admin, "/plots", body)["plot_id"] == "simluhtan-plot-88"
    assert post(client, admin, "/plots", {**body, "area_ha": 2}).status_code == 409
    assert len(events(client, "plot_registered")) == 1


def test_every_agriculture_fact_event_has_exactly_one_record_kind() -> None:
    # plots, farmer groups and memberships are entities in their own collections
    entities = {PlotRegistered, FarmerGroupRegistered, FarmerGroupJoined}
    facts = set(CATALOGUE["agriculture"].values()) - entities
    assert set(KINDS) == facts
    assert sorted(KINDS.values()) == sorted(get_args(Kind))
