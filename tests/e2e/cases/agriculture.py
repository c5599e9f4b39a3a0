from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052001"
HH = "hh-petani-0007"


def _plot(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    body = {"household_id": HH, "village_code": V, "area_ha": 0.5, "land_status": "rented"}
    return {"plot_id": create(client, headers, "/agriculture/plots", body)["plot_id"]}


def _group(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    body = {"village_code": V, "name": "Poktan Sri Mulya"}
    return {"group_id": create(client, headers, "/agriculture/farmer-groups", body)["group_id"]}


def _household_fact(**fields: object) -> dict[str, object]:
    return {"household_id": HH, "village_code": V, "occurred_on": "2026-02-10", **fields}


HOUSEHOLD_BAD = [
    ("village_code", "32040520"),
    ("village_code", MISSING),
    ("household_id", "hh 7!"),
    ("household_id", MISSING),
    ("occurred_on", "2026-02-30"),
    ("occurred_on", "2999-01-01"),
]

CASES = [
    WriteCase(
        name="agriculture register plot",
        method="POST",
        path="/agriculture/plots",
        body=_household_fact(area_ha=0.35, land_status="owned"),
        event_type="lumbung.agriculture.plot_registered.v1",
        id_field="plot_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("land_status", "leased"),
            ("area_ha", -0.2),
            ("area_ha", 0),
            ("area_ha", MISSING),
            ("plot_id", "plot/1"),
        ],
        data_expect={"household_id": HH, "area_ha": 0.35, "land_status": "owned"},
    ),
    WriteCase(
        name="agriculture plant crop",
        method="POST",
        path="/agriculture/plots/{plot_id}/plantings",
        body={"crop": " Padi ", "agrovoc": "c_6599", "area_ha": 0.5, "occurred_on": "2026-01-15"},
        setup=_plot,
        event_type="lumbung.agriculture.crop_planted.v1",
        id_field="fact_id",
        bad=[
            ("crop", MISSING),
            ("crop", "   "),
            ("agrovoc", "6599"),
            ("area_ha", -1),
            ("area_ha", 0.75),
            ("occurred_on", "2026-02-30"),
            ("village_code", V),
        ],
        data_expect={"crop": "padi", "agrovoc": "c_6599", "area_ha": 0.5, "household_id": HH},
    ),
    WriteCase(
        name="agriculture record harvest",
        method="POST",
        path="/agriculture/plots/{plot_id}/harvests",
        body={"crop": "Jagung", "kg": 0, "occurred_on": "2026-04-30"},
        setup=_plot,
        event_type="lumbung.agriculture.harvest_recorded.v1",
        id_field="fact_id",
        bad=[
            ("crop", MISSING),
            ("kg", -5),
            ("kg", MISSING),
            ("kg", "banyak"),
            ("occurred_on", "2026-02-30"),
        ],
        data_expect={"crop": "jagung", "kg": 0, "household_id": HH},
    ),
    WriteCase(
        name="agriculture sell produce",
        method="POST",
        path="/agriculture/sales",
        body=_household_fact(crop="Cabai Rawit", kg=12.5, price_per_kg=8000, channel="whatsapp"),
        event_type="lumbung.agriculture.produce_sold.v1",
        id_field="fact_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("channel", "pasar"),
            ("kg", -1),
            ("kg", 0),
            ("price_per_kg", -500),
            ("price_per_kg", 1.5),
            ("price_per_kg", 10**13),
            ("crop", MISSING),
            ("amount", 100000),
        ],
        data_expect={"crop": "cabai rawit", "amount": 100000, "channel": "whatsapp"},
    ),
    WriteCase(
        name="agriculture adopt practice",
        method="POST",
        path="/agriculture/practices",
        body=_household_fact(practice="integrated_pest_management"),
        event_type="lumbung.agriculture.green_practice_adopted.v1",
        id_field="fact_id",
        bad=[*HOUSEHOLD_BAD, ("practice", "burning"), ("practice", MISSING)],
        data_expect={"practice": "integrated_pest_management"},
    ),
    WriteCase(
        name="agriculture apply input",
        method="POST",
        path="/agriculture/inputs",
        body=_household_fact(input_type="biopesticide", kg=4.5),
        event_type="lumbung.agriculture.input_applied.v1",
        id_field="fact_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("input_type", "urea"),
            ("kg", -3),
            ("kg", 0),
            ("kg", MISSING),
        ],
        data_expect={"input_type": "biopesticide", "kg": 4.5},
    ),
    WriteCase(
        name="agriculture report loss",
        method="POST",
        path="/agriculture/losses",
        body=_household_fact(crop="PADI", cause="flood", kg_lost=750),
        event_type="lumbung.agriculture.crop_loss_reported.v1",
        id_field="fact_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("cause", "wereng"),
            ("kg_lost", -10),
            ("kg_lost", MISSING),
            ("crop", ""),
        ],
        data_expect={"crop": "padi", "cause": "flood", "kg_lost": 750},
    ),
    WriteCase(
        name="agriculture record extension visit",
        method="POST",
        path="/agriculture/extension-visits",
        body=_household_fact(
            extension_worker_id="ppl-cibiru-01",
            topic="Pupuk organik cair",
            recommendation="Fermentasi urin kelinci 14 hari sebelum dipakai.",
            source_system="simluhtan",
        ),
        event_type="lumbung.agriculture.extension_visit_recorded.v1",
        id_field="fact_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("extension_worker_id", "Pak Budi"),
            ("extension_worker_id", MISSING),
            ("topic", ""),
            ("recommendation", "x" * 2001),
            ("source_system", MISSING),
        ],
        data_expect={"extension_worker_id": "ppl-cibiru-01", "source_system": "simluhtan"},
    ),
    WriteCase(
        name="agriculture plan input",
        method="POST",
        path="/agriculture/input-plans",
        body=_household_fact(
            season="2026-MT1",
            input_type="chemical_fertilizer",
            product="Urea",
            kg=100,
            group_id="poktan-sri-mulya",
            source_system="e-rdkk",
        ),
        event_type="lumbung.agriculture.input_planned.v1",
        id_field="fact_id",
        bad=[
            *HOUSEHOLD_BAD,
            ("season", "MT1"),
            ("season", "2026-MT4"),
            ("input_type", "urea"),
            ("kg", 0),
            ("product", ""),
            ("source_system", MISSING),
        ],
        data_expect={"season": "2026-MT1", "product": "urea", "kg": 100},
    ),
    WriteCase(
        name="agriculture register farmer group",
        method="POST",
        path="/agriculture/farmer-groups",
        body={"village_code": V, "name": "Poktan Mekar Tani", "occurred_on": "2024-08-17"},
        event_type="lumbung.agriculture.farmer_group_registered.v1",
        id_field="group_id",
        bad=[
            ("village_code", "32040520"),
            ("village_code", MISSING),
            ("name", ""),
            ("name", MISSING),
            ("group_id", "poktan mekar"),
            ("occurred_on", "2999-01-01"),
        ],
        data_expect={"name": "Poktan Mekar Tani", "village_code": V},
    ),
    WriteCase(
        name="agriculture join farmer group",
        method="POST",
        path="/agriculture/farmer-groups/{group_id}/members",
        body={"household_id": HH, "village_code": V, "occurred_on": "2024-09-01"},
        setup=_group,
        event_type="lumbung.agriculture.farmer_group_joined.v1",
        id_field="membership_id",
        bad=[
            ("village_code", "32040520"),
            ("household_id", "hh 7!"),
            ("household_id", MISSING),
            ("occurred_on", "2999-01-01"),
        ],
        data_expect={"household_id": HH},
    ),
]
