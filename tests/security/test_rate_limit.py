"""Writes and NIK/KK lookups are limited per token: past the limit a 429 with Retry-After,
nothing recorded, and other tokens are not affected."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from services.main import embedded_app
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import token

VILLAGE = "3204052001"
NIK = "3204054101900002"


def register_village(client: TestClient, admin: dict[str, str]) -> None:
    client.post(
        "/registry/villages",
        headers=admin,
        json={
            "village_code": VILLAGE,
            "name": "Desa",
            "district_code": "3204",
            "district_name": "Kabupaten",
        },
    ).raise_for_status()


def test_a_token_past_its_write_limit_gets_429_and_others_do_not(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, write_rate="5/minute")
    admin = token(settings)
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    with TestClient(embedded_app(settings)) as client:
        register_village(client, admin)
        body = {"village_code": VILLAGE, "members": 2}
        answers = [client.post("/registry/households", headers=admin, json=body) for _ in range(6)]
        assert [a.status_code for a in answers] == [201, 201, 201, 201, 429, 429]
        refused = answers[-1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        listed = client.get(f"/registry/households?village_code={VILLAGE}", headers=admin)
        assert len(listed.json()["items"]) == 4  # reads are not limited; nothing extra written
        assert client.post("/registry/households", headers=operator, json=body).status_code == 201


def test_a_token_past_its_lookup_limit_gets_429_in_both_languages_and_others_do_not(
    tmp_path: Path,
) -> None:
    """NIK/KK lookups have a limit of their own, far below the write limit: past it a 429
    problem+json with Retry-After; another token still looks up, and writes still pass."""
    settings = Settings(data_dir=tmp_path, lookup_rate="3/hour")
    admin = token(settings)
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    with TestClient(embedded_app(settings)) as client:
        register_village(client, admin)
        household = {"village_code": VILLAGE, "members": 2, "member_niks": [NIK]}
        client.post("/registry/households", headers=admin, json=household).raise_for_status()

        def look_up(headers: dict[str, str], nik: str = NIK, lang: str = "id"):
            return client.post(
                "/registry/households/match",
                headers={**headers, "Accept-Language": lang},
                json={"village_code": VILLAGE, "nik": nik},
            )

        answers = [look_up(admin), look_up(admin, "3204054101900009"), look_up(admin)]
        assert [a.status_code for a in answers] == [200, 404, 200]  # found or not: both count
        refused, refused_en = look_up(admin), look_up(admin, lang="en")
        assert refused.status_code == refused_en.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert "terlalu banyak pencarian NIK" in refused.json()["detail"]
        assert "3/hour" in refused.json()["detail"]
        assert refused_en.headers["content-language"] == "en"
        assert "too many NIK or KK number lookups" in refused_en.json()["detail"]
        assert NIK not in refused.text
        assert look_up(operator).status_code == 200  # another token is not affected
        more = client.post("/registry/households", headers=admin, json=household)
        assert more.status_code == 201  # the write limit is another one
