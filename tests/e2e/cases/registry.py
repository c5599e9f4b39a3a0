from __future__ import annotations

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052001"


NIK = "3204054101900002"


def _household_with_nik(client, headers) -> dict[str, str]:
    body = {"village_code": V, "members": 2, "member_niks": [NIK, "3204051203880001"]}
    create(client, headers, "/registry/households", body)
    return {}


def _household(client, headers) -> dict[str, str]:
    hh = create(client, headers, "/registry/households", {"village_code": V, "members": 3})
    return {"household_id": hh["household_id"]}


CASES = [
    WriteCase(
        name="registry register village",
        method="POST",
        path="/registry/villages",
        body={
            "village_code": "3204052003",
            "name": "Desa Tiga",
            "district_code": "3204",
            "district_name": "Kabupaten Bandung",
            "occurred_on": "2026-01-05",
        },
        event_type="lumbung.registry.village_registered.v1",
        id_field="village_code",
        bad=[
            ("village_code", "32040520"),
            ("district_code", "3205"),
            ("name", MISSING),
            ("occurred_on", "2026-02-30"),
        ],
        data_expect={"district_code": "3204", "occurred_on": "2026-01-05"},
    ),
    WriteCase(
        name="registry register household",
        method="POST",
        path="/registry/households",
        body={
            "village_code": V,
            "members": 4,
            "kk_number": "3204050101090001",
            "occurred_on": "2025-06-01",
        },
        event_type="lumbung.registry.household_registered.v1",
        id_field="household_id",
        bad=[
            ("village_code", "3204x52001"),
            ("members", -2),
            ("members", MISSING),
            ("occurred_on", "yesterday"),
            ("kk_number", "123"),
        ],
        data_expect={"members": 4, "village_code": V},
    ),
    WriteCase(
        name="registry update household",
        method="PATCH",
        path="/registry/households/{household_id}",
        body={"members": 6, "occurred_on": "2026-03-01"},
        setup=_household,
        event_type="lumbung.registry.household_updated.v1",
        id_field="household_id",
        status=200,
        bad=[("members", 0), ("members", MISSING), ("occurred_on", "01-03-2026")],
        data_expect={"members": 6},
    ),
    WriteCase(
        name="registry match household by nik",
        method="POST",
        path="/registry/households/match",
        body={"village_code": V, "nik": NIK},
        setup=_household_with_nik,
        event_type=None,
        id_field="household_id",
        status=200,
        bad=[
            ("village_code", "3204x52001"),
            ("village_code", MISSING),
            ("nik", "320405410190000"),
            ("nik", MISSING),
            ("member_niks", ["12"]),
        ],
    ),
]
