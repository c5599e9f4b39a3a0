from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052001"
HERD = "/livestock/herds/{herd_id}"
FUTURE = "2999-01-01"


def _herd(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    herd = create(
        client,
        headers,
        "/livestock/herds",
        {"household_id": "hh-ls-1", "village_code": V, "species": "goat", "count": 6},
    )
    return {"herd_id": herd["herd_id"]}


def _event(name: str) -> str:
    return f"lumbung.livestock.{name}.v1"


CASES = [
    WriteCase(
        name="livestock register herd",
        method="POST",
        path="/livestock/herds",
        body={
            "household_id": "hh-ls-1",
            "village_code": V,
            "species": "cattle",
            "count": 3,
            "occurred_on": "2026-01-10",
        },
        event_type=_event("herd_registered"),
        id_field="herd_id",
        bad=[
            ("species", "horse"),
            ("species", MISSING),
            ("count", -1),
            ("count", MISSING),
            ("village_code", "32040520"),
            ("household_id", MISSING),
            ("herd_id", "kandang 1!"),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"species": "cattle", "count": 3, "household_id": "hh-ls-1"},
    ),
    WriteCase(
        name="livestock animals born",
        method="POST",
        path=HERD + "/births",
        body={"count": 2, "occurred_on": "2026-02-01"},
        setup=_herd,
        event_type=_event("animals_born"),
        id_field="fact_id",
        bad=[
            ("count", 0),
            ("count", -3),
            ("count", MISSING),
            ("village_code", "3204052002"),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"count": 2, "species": "goat", "household_id": "hh-ls-1"},
    ),
    WriteCase(
        name="livestock animals died",
        method="POST",
        path=HERD + "/deaths",
        body={"count": 1, "cause": "disease", "occurred_on": "2026-02-03"},
        setup=_herd,
        event_type=_event("animals_died"),
        id_field="fact_id",
        bad=[
            ("cause", "stolen"),
            ("cause", MISSING),
            ("count", -1),
            ("count", MISSING),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"count": 1, "cause": "disease", "species": "goat"},
    ),
    WriteCase(
        name="livestock vaccination recorded",
        method="POST",
        path=HERD + "/vaccinations",
        body={"vaccine": "Vaksin PMK", "count": 6, "occurred_on": "2026-02-05"},
        setup=_herd,
        event_type=_event("vaccination_recorded"),
        id_field="fact_id",
        bad=[
            ("vaccine", ""),
            ("vaccine", MISSING),
            ("count", 0),
            ("count", -6),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"vaccine": "Vaksin PMK", "count": 6, "species": "goat"},
    ),
    WriteCase(
        name="livestock disease reported",
        method="POST",
        path=HERD + "/disease-reports",
        body={"disease": "Orf", "cases": 2, "occurred_on": "2026-02-07"},
        setup=_herd,
        event_type=_event("disease_reported"),
        id_field="fact_id",
        bad=[
            ("disease", MISSING),
            ("disease", "x" * 201),
            ("cases", 0),
            ("cases", -2),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"disease": "Orf", "cases": 2, "species": "goat"},
    ),
    WriteCase(
        name="livestock sold",
        method="POST",
        path=HERD + "/sales",
        body={
            "count": 2,
            "price_per_head": 2_750_000,
            "channel": "middleman",
            "occurred_on": "2026-02-10",
        },
        setup=_herd,
        event_type=_event("livestock_sold"),
        id_field="fact_id",
        bad=[
            ("channel", "pasar_malam"),
            ("channel", MISSING),
            ("count", -1),
            ("count", MISSING),
            ("price_per_head", -5000),
            ("price_per_head", 10**13),
            ("amount", 5_500_000),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={
            "count": 2,
            "price_per_head": 2_750_000,
            "amount": 5_500_000,
            "channel": "middleman",
            "species": "goat",
        },
    ),
    WriteCase(
        name="livestock manure composted",
        method="POST",
        path=HERD + "/compost",
        body={"kg": 120.5, "occurred_on": "2026-02-12"},
        setup=_herd,
        event_type=_event("manure_composted"),
        id_field="fact_id",
        bad=[
            ("kg", 0),
            ("kg", -5),
            ("kg", "banyak"),
            ("kg", MISSING),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", FUTURE),
        ],
        data_expect={"kg": 120.5, "household_id": "hh-ls-1"},
    ),
]
