"""Issue 19's report, as a test: a token of district 3204 tries to falsify a household of
district 3205 (and a village operator one of another village of its own district).

Every foreign write is refused; the 3205 household's index stays 0.0 and its village's
mean does not move; and the owning district sees what was tried.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shared.auth import Role, mint_token
from tests.security.conftest import quiet_client

OWN, FOREIGN, NEIGHBOUR = "3205010001", "3204052001", "3205010002"


def _as(client: TestClient, role: Role, **scope: object) -> dict[str, str]:
    secret = client.app.state.runtime.settings.secret
    return {"Authorization": "Bearer " + mint_token(secret, role=role, sub=f"{role}-t", **scope)}


def _settle(client: TestClient) -> None:
    runtime = client.app.state.runtime
    for _ in range(2):
        runtime.relay.drain()
        for worker in runtime.workers:
            worker.run_until_idle()


def _foreign_writes(client: TestClient, headers: dict[str, str], hh: str, village: str) -> list:
    """The report's writes, and a herd, a practice and an enrolment sent the same way."""
    base = {"household_id": hh, "village_code": village}
    answers = [
        client.post(
            "/commerce/businesses", headers=headers, json={**base, "name": "Toko", "category": "x"}
        ),
        client.post(
            "/agriculture/sales",
            headers=headers,
            json={**base, "crop": "padi", "kg": 1000, "price_per_kg": 10_000, "channel": "shopee"},
        ),
        client.post(
            "/livestock/herds", headers=headers, json={**base, "species": "cattle", "count": 40}
        ),
        client.post("/agriculture/practices", headers=headers, json={**base, "practice": "biogas"}),
    ]
    program = client.post(
        "/training/programs",
        headers=headers,
        json={
            "title": "Pelatihan Media Sosial",
            "organizer": "Dinas",
            "village_codes": [village],
            "start_on": "2026-01-05",
            "end_on": "2026-01-06",
            "topics": ["social_media"],
        },
    )
    assert program.status_code == 201, program.text
    enrolments = f"/training/programs/{program.json()['program_id']}/enrolments"
    answers.append(client.post(enrolments, headers=headers, json=base))
    return answers


def test_another_districts_token_cannot_change_a_households_figures(tmp_path: Path) -> None:
    with quiet_client(tmp_path) as client:
        own = _as(client, Role.DISTRICT_ADMIN, district="3205")
        foreign = _as(client, Role.DISTRICT_ADMIN, district="3204")
        for code, headers in ((OWN, own), (NEIGHBOUR, own), (FOREIGN, foreign)):
            r = client.post(
                "/registry/villages",
                headers=headers,
                json={
                    "village_code": code,
                    "name": f"Desa {code}",
                    "district_code": code[:4],
                    "district_name": f"Kabupaten {code[:4]}",
                },
            )
            assert r.status_code == 201, r.text
        r = client.post(
            "/registry/households", headers=own, json={"village_code": OWN, "members": 4}
        )
        assert r.status_code == 201, r.text
        hh = r.json()["household_id"]
        _settle(client)
        assert client.get(f"/resilience/households/{hh}", headers=foreign).status_code == 403
        before = client.get(f"/resilience/households/{hh}", headers=own).json()
        village_before = client.get(f"/resilience/villages/{OWN}", headers=own).json()
        assert before["index"] == 0.0 and before["income"]["total"] == 0

        refused = _foreign_writes(client, foreign, hh, FOREIGN)
        # a village operator of the neighbouring village of the same district
        operator = _as(client, Role.VILLAGE_OPERATOR, villages=[NEIGHBOUR])
        refused += _foreign_writes(client, operator, hh, NEIGHBOUR)
        statuses = [
            (r.request.url.path, r.status_code, r.json()["errors"][0]["loc"]) for r in refused
        ]
        assert all(s == 403 and loc == ["body", "household_id"] for _, s, loc in statuses), statuses
        _settle(client)

        after = client.get(f"/resilience/households/{hh}", headers=own).json()
        assert after == before and after["index"] == 0.0
        assert client.get(f"/resilience/villages/{OWN}", headers=own).json() == village_before
        assert (
            client.get("/commerce/businesses", headers=own, params={"household_id": hh}).json()[
                "items"
            ]
            == []
        )
        seen = [
            item
            for svc in ("commerce", "agriculture", "livestock", "training")
            for item in client.get(f"/{svc}/refused-writes", headers=own).json()["items"]
        ]
        assert len(seen) == 10 and {i["household_id"] for i in seen} == {hh}
        assert {i["named_village_code"] for i in seen} == {FOREIGN, NEIGHBOUR}
        assert {i["writer_role"] for i in seen} == {"district_admin", "village_operator"}
        # the writer's district does not see them: they are about another district's household
        assert client.get("/commerce/refused-writes", headers=foreign).json()["items"] == []


def test_a_family_that_moves_keeps_each_villages_facts_where_they_were_recorded(
    tmp_path: Path,
) -> None:
    """A move ("pindah") is a new registration in the new village, with a new household id
    (the family gets a new KK there); the old household keeps its facts in the old village,
    and the old id takes no facts from the new one."""
    with quiet_client(tmp_path) as client:
        admin = _as(client, Role.DISTRICT_ADMIN, district="3205")
        for code in (OWN, NEIGHBOUR):
            r = client.post(
                "/registry/villages",
                headers=admin,
                json={
                    "village_code": code,
                    "name": f"Desa {code}",
                    "district_code": "3205",
                    "district_name": "Kabupaten 3205",
                },
            )
            assert r.status_code == 201, r.text

        def register(village: str, day: str) -> str:
            r = client.post(
                "/registry/households",
                headers=admin,
                json={"village_code": village, "members": 4, "occurred_on": day},
            )
            assert r.status_code == 201, r.text
            return r.json()["household_id"]

        def sell(hh: str, village: str, kg: int, day: str) -> int:
            return client.post(
                "/agriculture/sales",
                headers=admin,
                json={
                    "household_id": hh,
                    "village_code": village,
                    "crop": "padi",
                    "kg": kg,
                    "price_per_kg": 5000,
                    "channel": "market",
                    "occurred_on": day,
                },
            ).status_code

        before_move = register(OWN, "2025-01-10")
        _settle(client)
        assert sell(before_move, OWN, 100, "2025-06-01") == 201
        after_move = register(NEIGHBOUR, "2025-09-01")  # the family moved in September
        _settle(client)
        assert sell(after_move, NEIGHBOUR, 300, "2025-10-01") == 201
        assert sell(before_move, NEIGHBOUR, 999, "2025-10-02") == 422  # the old id, new village
        _settle(client)

        def crop_income(path: str) -> int:
            r = client.get(path, headers=admin, params={"as_of": "2025-10"})
            assert r.status_code == 200, r.text
            return r.json()["income"]["crop"]

        assert crop_income(f"/resilience/households/{before_move}") == 500_000
        assert crop_income(f"/resilience/households/{after_move}") == 1_500_000
        assert crop_income(f"/resilience/villages/{OWN}") == 500_000
        assert crop_income(f"/resilience/villages/{NEIGHBOUR}") == 1_500_000
