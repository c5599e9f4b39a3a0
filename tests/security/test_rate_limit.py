"""Writes are limited per token: past the limit a 429 with Retry-After, nothing recorded,
and other tokens are not affected."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from services.main import embedded_app
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import token

VILLAGE = "3204052001"


def test_a_token_past_its_write_limit_gets_429_and_others_do_not(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, write_rate="5/minute")
    admin = token(settings)
    operator = token(settings, Role.VILLAGE_OPERATOR, villages=[VILLAGE])
    with TestClient(embedded_app(settings)) as client:
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
        body = {"village_code": VILLAGE, "members": 2}
        answers = [client.post("/registry/households", headers=admin, json=body) for _ in range(6)]
        assert [a.status_code for a in answers] == [201, 201, 201, 201, 429, 429]
        refused = answers[-1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        listed = client.get(f"/registry/households?village_code={VILLAGE}", headers=admin)
        assert len(listed.json()["items"]) == 4  # reads are not limited; nothing extra written
        assert client.post("/registry/households", headers=operator, json=body).status_code == 201
