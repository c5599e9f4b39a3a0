"""Training write routes: a programme in two villages, one household enrolled in the first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052001"
V2 = "3204052002"
HH = "hh-3204052001-0042"
PROGRAM = {
    "title": "Pelatihan Pemasaran Digital UMKM",
    "organizer": "Dinas Koperasi dan UMKM Kabupaten Bandung",
    "village_codes": [V, V2],
    "start_on": "2025-07-01",
    "end_on": "2025-09-30",
    "topics": ["foto produk", "berjualan di marketplace"],
}


def _program(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    return {"program_id": create(client, headers, "/training/programs", PROGRAM)["program_id"]}


def _enrolled(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    params = _program(client, headers)
    path = f"/training/programs/{params['program_id']}/enrolments"
    create(client, headers, path, {"household_id": HH, "village_code": V})
    return params


def _fact_bad(extra: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Bad values every fact route refuses, then the route's own."""
    return [
        ("household_id", "hh-not-enrolled"),
        ("household_id", MISSING),
        ("village_code", V2),  # a village of the programme, but not the enrolment's
        ("village_code", "32040520"),
        ("occurred_on", "2025-02-30"),
        *extra,
    ]


CASES = [
    WriteCase(
        name="training create program",
        method="POST",
        path="/training/programs",
        body={**PROGRAM, "occurred_on": "2025-06-20"},
        event_type="lumbung.training.program_created.v1",
        id_field="program_id",
        bad=[
            ("title", MISSING),
            ("organizer", ""),
            ("village_codes", []),
            ("village_codes", ["3204x52001"]),
            ("village_codes", [V, V]),
            ("village_codes", [V, "3205010001"]),
            ("start_on", "2025-02-30"),
            ("end_on", "2025-06-30"),
            ("topics", MISSING),
            ("topics", []),
            ("program_id", "prog 1"),
            ("occurred_on", "2999-01-01"),
        ],
        data_expect={"village_codes": [V, V2], "start_on": "2025-07-01", "end_on": "2025-09-30"},
    ),
    WriteCase(
        name="training enrol participant",
        method="POST",
        path="/training/programs/{program_id}/enrolments",
        body={
            "household_id": HH,
            "village_code": V,
            "participant_name": "Ibu Euis Rahmawati",
            "occurred_on": "2025-06-25",
        },
        setup=_program,
        event_type="lumbung.training.participant_enrolled.v1",
        id_field="enrolment_id",
        bad=[
            ("household_id", MISSING),
            ("household_id", "hh/0042"),
            ("village_code", "3204052003"),  # in scope, but the programme does not run there
            ("village_code", "320405200"),
            ("participant_name", ""),
            ("occurred_on", "2025-13-01"),
        ],
        data_expect={"household_id": HH},
    ),
    WriteCase(
        name="training record attendance",
        method="POST",
        path="/training/programs/{program_id}/attendance",
        body={"household_id": HH, "village_code": V, "occurred_on": "2025-07-08"},
        setup=_enrolled,
        event_type="lumbung.training.attendance_recorded.v1",
        id_field="fact_id",
        bad=_fact_bad([("occurred_on", "2025-06-30"), ("occurred_on", "2025-10-01")]),
        data_expect={"household_id": HH, "occurred_on": "2025-07-08"},
    ),
    WriteCase(
        name="training record assessment",
        method="POST",
        path="/training/programs/{program_id}/assessments",
        body={
            "household_id": HH,
            "village_code": V,
            "kind": "post",
            "score": 72.5,
            "max_score": 100,
            "occurred_on": "2025-09-30",
        },
        setup=_enrolled,
        event_type="lumbung.training.assessment_recorded.v1",
        id_field="fact_id",
        bad=_fact_bad(
            [
                ("kind", "mid"),
                ("kind", MISSING),
                ("score", -1),
                ("score", 101),
                ("max_score", 0),
                ("max_score", MISSING),
            ]
        ),
        data_expect={"kind": "post", "score": 72.5, "max_score": 100},
    ),
    WriteCase(
        name="training record confidence",
        method="POST",
        path="/training/programs/{program_id}/confidence",
        body={"household_id": HH, "village_code": V, "score": 4, "occurred_on": "2025-10-15"},
        setup=_enrolled,
        event_type="lumbung.training.confidence_recorded.v1",
        id_field="fact_id",
        bad=_fact_bad([("score", 0), ("score", 6), ("score", -3), ("score", MISSING)]),
        data_expect={"score": 4},
    ),
    WriteCase(
        name="training record mentoring",
        method="POST",
        path="/training/programs/{program_id}/mentoring",
        body={
            "household_id": HH,
            "village_code": V,
            "mentor": "Pendamping PLUT Kab. Bandung",
            "occurred_on": "2025-11-03",
        },
        setup=_enrolled,
        event_type="lumbung.training.mentoring_visit_recorded.v1",
        id_field="fact_id",
        bad=_fact_bad([("mentor", ""), ("mentor", MISSING)]),
        data_expect={"mentor": "Pendamping PLUT Kab. Bandung"},
    ),
]
