"""IDM (Indeks Desa Membangun): `lumbung import idm` on a realistic rumusan answer and on a
broken one, the registry route, and IKE/IKL beside the pillars in the village view and on
the dashboard.

The sample files (``tests/fixtures/integrations/idm-*.json``) were written for these tests
in the shape of the Kemendesa IDM open API's ``rumusan`` answer (50 indicators: 35 IKS,
12 IKE, 3 IKL).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.main import embedded_app
from services.registry.idm import IDM
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role, mint_token
from shared.cli import main
from shared.integrations.idm import plan_idm
from shared.settings import Settings
from tests.servers import free_port

DATA = Path(__file__).parents[1] / "fixtures" / "integrations"
SAMPLE = DATA / "idm-3204052001-2024.json"
BROKEN = DATA / "idm-rusak.json"
VILLAGE = "3204052001"
DRY_RUN = "Uji coba: tidak ada yang disimpan (dry run: nothing was written)"
IDM_RECORDS = "IDM: baru / sudah ada (village index: new / already there)"
BROKEN_REPORT = [
    ["line", "field", "reason"],
    ["0", "mapData.IDENTITAS.id_desa", "3204052002, bukan desa 3204052001 (not the village given)"],
    ["0", "mapData.SUMMARIES.TAHUN", "2023, padahal baris-barisnya 2024 (the rows say otherwise)"],
    ["2", "SKOR", "harus skor bulat 0 sampai 5, bukan 7 (must be a whole score from 0 to 5)"],
    ["13", "INDIKATOR", "indikator tanpa nama (the indicator has no name)"],
    [
        "36",
        "SKOR",
        "IKS 0.8400 berbeda dari 34 indikatornya (0.8412) (differs from its indicators)",
    ],
    [
        "49",
        "SKOR",
        "IKE 0.6500 berbeda dari 12 indikatornya (0.6833) (differs from its indicators)",
    ],
]
# The sample by hand: IKS 147/175, IKE 39/60, IKL 10/15, IDM their mean.
EXPECTED = {
    "year": 2024,
    "iks": 0.84,
    "ike": 0.65,
    "ikl": 0.666667,
    "score": 0.718889,
    "status": "maju",
}


def _admin(settings: Settings) -> dict[str, str]:
    tok = mint_token(settings.secret, role=Role.DISTRICT_ADMIN, sub="t", district="3204")
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LUMBUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LUMBUNG_PORT", str(free_port()))  # no platform answers there
    monkeypatch.setenv("LUMBUNG_DEMO", "off")
    monkeypatch.setenv("COLUMNS", "200")
    settings = Settings()
    with TestClient(embedded_app(settings)) as client:
        village = {
            "village_code": VILLAGE,
            "name": "Cibiru Wetan",
            "district_code": "3204",
            "district_name": "Kabupaten Bandung",
        }
        r = client.post("/registry/villages", json=village, headers=_admin(settings))
        assert r.status_code == 201
    return settings


def _stored(settings: Settings) -> list[dict]:
    store = SqliteStore(settings.sqlite_path)
    try:
        return store.find(IDM, {}).items
    finally:
        store.close()


def test_broken_document_gives_the_exact_report_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "galat.csv"
    code = main(["import", "idm", str(BROKEN), "--village", VILLAGE, "--report", str(report)])
    assert code == 1
    with report.open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == BROKEN_REPORT
    assert _stored(settings) == []


def test_dry_run_writes_nothing_then_import_and_reimport_adds_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "idm", str(SAMPLE), "--village", VILLAGE, "--dry-run"]) == 0
    assert DRY_RUN in capsys.readouterr().out
    assert _stored(settings) == []

    assert main(["import", "idm", str(SAMPLE), "--village", VILLAGE]) == 0
    summary = capsys.readouterr().out
    assert "Impor idm dari idm-3204052001-2024.json (import)" in summary
    assert re.search(rf"{re.escape(IDM_RECORDS)}\s+│\s+1 / 0", summary)
    stored = _stored(settings)
    assert len(stored) == 1
    assert {k: stored[0][k] for k in EXPECTED} == EXPECTED
    assert stored[0]["indicators"] == 50 and stored[0]["target_status"] == "mandiri"

    # Again, and again without --village (the document names its desa): nothing new.
    assert main(["import", "idm", str(SAMPLE), "--village", VILLAGE]) == 0
    assert main(["import", "idm", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert IDM_RECORDS in out
    assert len(_stored(settings)) == 1
    assert len(re.findall(rf"{re.escape(IDM_RECORDS)}\s+│\s+0 / 1", out)) == 2


def test_a_revision_reverted_is_recorded_again(settings: Settings, tmp_path: Path) -> None:
    """Original, corrected, original again: the store ends with the original values (a key
    derived from the body alone replayed the first answer on the third import)."""
    revised = json.loads(SAMPLE.read_text(encoding="utf-8"))
    revised["mapData"]["SUMMARIES"]["TARGET_STATUS"] = ""  # the corrected file names no target
    revision = tmp_path / "idm-revisi.json"
    revision.write_text(json.dumps(revised), encoding="utf-8")

    statuses = []
    for path in (SAMPLE, revision, SAMPLE):
        assert main(["import", "idm", str(path), "--village", VILLAGE]) == 0
        (stored,) = _stored(settings)
        statuses.append(stored["target_status"])

    assert statuses == ["mandiri", None, "mandiri"]


def test_village_view_and_dashboard_show_ike_and_ikl(settings: Settings) -> None:
    assert main(["import", "idm", str(SAMPLE), "--village", VILLAGE]) == 0
    headers = _admin(settings)
    with TestClient(embedded_app(settings)) as client:
        runtime = client.app.state.runtime
        runtime.relay.drain()
        for worker in runtime.workers:
            worker.run_until_idle()
        view = client.get(f"/resilience/villages/{VILLAGE}", headers=headers).json()
        assert view["idm"] == {
            "year": 2024,
            "iks": 0.84,
            "ike": 0.65,
            "ikl": 0.666667,
            "score": 0.718889,
            "status": "maju",
        }
        before = client.get(
            f"/resilience/villages/{VILLAGE}", params={"as_of": "2023-12"}, headers=headers
        ).json()
        assert before["idm"] is None  # no IDM of 2023 or earlier
        listed = client.get(f"/registry/villages/{VILLAGE}/idm", headers=headers).json()
        assert [i["year"] for i in listed["items"]] == [2024]

        client.cookies.set("lumbung_token", headers["Authorization"].split()[1])
        page = client.get(f"/dashboard/villages/{VILLAGE}")
        assert page.status_code == 200
        html = page.text
        assert 'id="idm-card"' in html
        assert "Indeks Ketahanan Ekonomi (IKE)" in html and "0,650" in html
        assert "Indeks Ketahanan Lingkungan (IKL)" in html and "0,667" in html
        english = client.get(f"/dashboard/villages/{VILLAGE}", params={"lang": "en"}).text
        assert "Economic resilience index (IKE)" in english


def test_route_refuses_a_score_that_is_not_the_mean_and_other_villages(
    settings: Settings,
) -> None:
    body = {"year": 2024, "iks": 0.8, "ike": 0.6, "ikl": 0.7, "score": 0.9, "status": "maju"}
    with TestClient(embedded_app(settings)) as client:
        r = client.post(f"/registry/villages/{VILLAGE}/idm", json=body, headers=_admin(settings))
        assert r.status_code == 422 and r.json()["detail"].startswith("score:")
        tok = mint_token(
            settings.secret, role=Role.VILLAGE_OPERATOR, sub="b", villages=["3204052002"]
        )
        other = {"Authorization": f"Bearer {tok}"}
        body["score"] = 0.7
        r = client.post(f"/registry/villages/{VILLAGE}/idm", json=body, headers=other)
        assert r.status_code == 403
        ok = client.post(f"/registry/villages/{VILLAGE}/idm", json=body, headers=_admin(settings))
        assert ok.status_code == 201
        again = client.post(
            f"/registry/villages/{VILLAGE}/idm", json=body, headers=_admin(settings)
        )
        assert again.status_code == 200 and again.json() == ok.json()
        revised = client.post(
            f"/registry/villages/{VILLAGE}/idm",
            json={**body, "ike": 0.63, "score": 0.71},
            headers=_admin(settings),
        )
        assert revised.status_code == 200 and revised.json()["ike"] == 0.63


@pytest.mark.parametrize("identity", [["x"], [None], "3204052001", {"id_desa": "3204052001"}])
def test_a_malformed_identity_is_a_row_error_not_a_crash(identity: object) -> None:
    document = json.loads(SAMPLE.read_text(encoding="utf-8"))
    document["mapData"]["IDENTITAS"] = identity
    plan = plan_idm(json.dumps(document), VILLAGE)
    assert plan.planned == []
    assert [(e.line, e.field, e.reason) for e in plan.errors] == [
        (
            0,
            "mapData.IDENTITAS",
            "harus daftar objek dengan id_desa (must be a list of objects with id_desa)",
        )
    ]
    # without --village the document names no desa either
    assert "--village" in {e.field for e in plan_idm(json.dumps(document), None).errors}
