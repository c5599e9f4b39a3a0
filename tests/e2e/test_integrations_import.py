"""Inbound integrations through `lumbung import`: OpenSID exports into the registry, then
SIMLUHTAN-style farmers (XLSX), e-RDKK-style plans (CSV with ``;`` and decimal commas) and
extension visits (JSON) matched to those households by NIK. Each with its synthetic sample
file and a broken one: the exact error report, a dry run that writes nothing (the store is
counted), and a second import that adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.agriculture.routes import GROUPS, MEMBERS, PLOTS, RECORDS
from services.main import embedded_app
from services.registry.routes import HOUSEHOLDS, MEMBER_INDEX
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role, mint_token
from shared.cli import main
from shared.settings import Settings
from tests.servers import free_port

VILLAGE = "3204052001"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "integrations"
OPENSID = ["import", "opensid", "--village", VILLAGE]
CLEAN_SID = [
    "--penduduk",
    str(FIXTURES / "penduduk.csv"),
    "--keluarga",
    str(FIXTURES / "keluarga.csv"),
]
COLLECTIONS = (HOUSEHOLDS, MEMBER_INDEX, GROUPS, MEMBERS, PLOTS, RECORDS)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LUMBUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LUMBUNG_PORT", str(free_port()))  # no platform answers there
    monkeypatch.setenv("COLUMNS", "200")
    settings = Settings()
    village = {
        "village_code": VILLAGE,
        "name": "Cibiru Wetan",
        "district_code": "3204",
        "district_name": "Kabupaten Bandung",
    }
    with TestClient(embedded_app(settings)) as client:
        r = client.post("/registry/villages", json=village, headers=_auth(settings))
        assert r.status_code == 201, r.text
    return settings


def _auth(settings: Settings) -> dict[str, str]:
    token = mint_token(settings.secret, role=Role.DISTRICT_ADMIN, sub="test", district="3204")
    return {"Authorization": f"Bearer {token}"}


def _counts(settings: Settings) -> dict[str, int]:
    store = SqliteStore(settings.sqlite_path)
    try:
        return {c: store.count(c) for c in COLLECTIONS} | {"outbox": store.outbox_backlog()}
    finally:
        store.close()


def _all(settings: Settings, collection: str) -> list[dict]:
    store = SqliteStore(settings.sqlite_path)
    try:
        return store.find(collection, {}, limit=500).items
    finally:
        store.close()


def _report(tmp_path: Path, args: list[str], code: int) -> str:
    out = tmp_path / "galat.csv"
    assert main([*args, "--report", str(out)]) == code
    return out.read_text(encoding="utf-8")


def _row(out: str, label: str) -> str:
    for line in out.splitlines():
        if label in line:
            return line.strip("│ ").split("│")[-1].strip()
    raise AssertionError(f"{label!r} not in output:\n{out}")


# OpenSID ------------------------------------------------------------------------------------
BROKEN_SID_REPORT = """file,line,field,reason
keluarga,5,tgl_daftar,tidak boleh tanggal yang akan datang (must not be in the future)
keluarga,6,no_kk,tidak ada anggota KK ini di berkas penduduk (no member of this KK in the penduduk file)
penduduk,3,nik,harus 16 digit (must be 16 digits)
penduduk,5,nik,"muncul dua kali, pertama di baris 4 (appears twice)"
penduduk,6,kk_level,wajib diisi (required)
penduduk,7,no_kk,KK tidak ada di berkas keluarga (KK not in the keluarga file)
penduduk,9,kk_level,"kepala keluarga kedua untuk KK ini, yang pertama di baris 8 (a second head of family for this KK)"
"""  # noqa: E501 - the exact report, one row a line
BROKEN_SID = [
    "--penduduk",
    str(FIXTURES / "penduduk-rusak.csv"),
    "--keluarga",
    str(FIXTURES / "keluarga-rusak.csv"),
]


def test_opensid_broken_exports_report_each_problem_and_a_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counts(settings)

    report = _report(tmp_path, [*OPENSID, *BROKEN_SID, "--dry-run"], 1)

    assert report == BROKEN_SID_REPORT
    assert (
        "Uji coba: tidak ada yang disimpan (dry run: nothing was written)"
        in capsys.readouterr().out
    )
    assert _counts(settings) == before


def test_opensid_import_keeps_only_hashes_and_importing_again_adds_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    first = capsys.readouterr().out
    after_first = _counts(settings)
    assert main([*OPENSID, *CLEAN_SID]) == 0
    again = capsys.readouterr().out

    assert after_first[HOUSEHOLDS] == 3 and after_first[MEMBER_INDEX] == 6
    assert _counts(settings) == after_first  # not one household, index entry or event more
    assert _row(first, "Diimpor (imported)") == "3" and _row(again, "Diimpor (imported)") == "0"
    assert _row(again, "Sudah ada (already there)") == "3"
    docs = {d["members"]: d for d in _all(settings, HOUSEHOLDS)}
    assert sorted(docs) == [1, 2, 3]
    assert docs[3]["registered_on"] == "2019-03-12" and docs[2]["registered_on"] == "2020-08-12"
    stored = json.dumps(_all(settings, HOUSEHOLDS) + _all(settings, MEMBER_INDEX))
    for number in ("3204050101100001", "3204051203800001", "3204056006600006"):
        assert number not in stored
    assert "Asep" not in stored and "Jl. Fiktif" not in stored  # sealed, or never read
    assert docs[3]["kk_last4"] == "0001" and len(docs[3]["nik_hashes"]) == 3


def test_opensid_broken_export_imports_its_good_family_once(
    settings: Settings, tmp_path: Path
) -> None:
    _report(tmp_path, [*OPENSID, *BROKEN_SID], 1)
    _report(tmp_path, [*OPENSID, *BROKEN_SID], 1)

    assert _counts(settings)[HOUSEHOLDS] == 1  # Yayat's family, the only whole one


def test_opensid_reimport_with_a_new_member_updates_the_household(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    grown = tmp_path / "penduduk.csv"
    baby = "Bayi Contoh,3204054102260011,3204050303120003,4,2,Bandung,2026-01-02,,,,\n"
    grown.write_text((FIXTURES / "penduduk.csv").read_text() + baby, encoding="utf-8")
    capsys.readouterr()

    args = [*OPENSID, "--penduduk", str(grown), "--keluarga", str(FIXTURES / "keluarga.csv")]
    assert main(args) == 0
    out = capsys.readouterr().out

    assert _counts(settings)[HOUSEHOLDS] == 3
    assert sorted(d["members"] for d in _all(settings, HOUSEHOLDS)) == [2, 2, 3]
    updated = "Rumah tangga diperbarui: baru / sudah ada (households updated: new / already there)"
    assert _row(out, updated) == "1 / 0"


def test_opensid_member_leaving_and_returning_twice_keeps_the_household_current(
    settings: Settings, tmp_path: Path
) -> None:
    """With Dede, without, with, without: each import leaves the household as the export says
    (a key derived from the PATCH body alone replayed the second answer on the fourth)."""
    full = (FIXTURES / "penduduk.csv").read_text(encoding="utf-8")
    without = tmp_path / "penduduk-tanpa-dede.csv"
    without.write_text(
        "".join(line for line in full.splitlines(keepends=True) if "Dede" not in line),
        encoding="utf-8",
    )
    keluarga = ["--keluarga", str(FIXTURES / "keluarga.csv")]
    seen = []
    for penduduk in (FIXTURES / "penduduk.csv", without, FIXTURES / "penduduk.csv", without):
        assert main([*OPENSID, "--penduduk", str(penduduk), *keluarga]) == 0
        (asep,) = [d for d in _all(settings, HOUSEHOLDS) if d["kk_last4"] == "0001"]
        seen.append((asep["members"], len(asep["nik_hashes"])))

    assert seen == [(3, 3), (2, 2), (3, 3), (2, 2)]
    assert _counts(settings)[HOUSEHOLDS] == 3


# SIMLUHTAN farmers (XLSX) ---------------------------------------------------------------------
BROKEN_FARMERS_REPORT = """line,field,reason
3,NIK,"tersimpan sebagai angka, digit bisa hilang: format sebagai teks (stored as a number, so digits may be lost: format it as text)"
4,NIK,tidak ada rumah tangga terdaftar di desa ini dengan NIK ini (no registered household of this village has this NIK)
5,Status Lahan,"harus salah satu dari: Milik, Milik Sendiri, Sewa, Penyewa, Bagi Hasil, Penggarap, Tanah Kas Desa, Tanah Adat (must be one of these)"
6,Luas Lahan (Ha),harus lebih dari 0 (must be greater than 0)
7,Kode Desa,desa belum terdaftar (village is not registered)
8,NIK,wajib diisi (required)
9,Tanggal Terdaftar,tidak boleh tanggal yang akan datang (must not be in the future)
"""  # noqa: E501 - the exact report, one row a line
FARMERS = ["import", "extension", "--mapping", "simluhtan"]


def test_simluhtan_broken_register_reports_by_source_column_and_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    before = _counts(settings)

    report = _report(tmp_path, [*FARMERS, str(FIXTURES / "petani-rusak.xlsx"), "--dry-run"], 1)

    assert report == BROKEN_FARMERS_REPORT
    assert _counts(settings) == before


def test_simluhtan_register_matches_by_nik_and_importing_again_adds_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    file = str(FIXTURES / "petani.xlsx")
    capsys.readouterr()

    assert main([*FARMERS, file]) == 0
    first = capsys.readouterr().out
    after_first = _counts(settings)
    assert main([*FARMERS, file]) == 0
    again = capsys.readouterr().out

    assert after_first[GROUPS] == 2 and after_first[PLOTS] == 3
    assert after_first[MEMBERS] == 3  # Asep and Euis share one household: one membership
    assert _counts(settings) == after_first
    assert (
        _row(first, "Diimpor (imported)") == "3" and _row(first, "Sudah ada (already there)") == "1"
    )
    assert (
        _row(again, "Diimpor (imported)") == "0" and _row(again, "Sudah ada (already there)") == "4"
    )
    households = {d["kk_last4"]: d["household_id"] for d in _all(settings, HOUSEHOLDS)}
    plots = {p["plot_id"]: p for p in _all(settings, PLOTS)}
    assert plots["lahan-0001"]["household_id"] == households["0001"]
    assert plots["lahan-0001"]["area_ha"] == 0.35 and plots["lahan-0001"]["land_status"] == "owned"
    assert plots["lahan-0002"]["household_id"] == households["0002"]
    assert plots["lahan-0002"]["occurred_on"] == "2021-03-15"
    assert "3204051203800001" not in json.dumps(_all(settings, PLOTS) + _all(settings, MEMBERS))


# SIMLUHTAN farmer groups (CSV) ---------------------------------------------------------------
BROKEN_GROUPS_REPORT = """line,field,reason
3,Nama Poktan,wajib diisi (required)
4,Kode Desa,desa belum terdaftar (village is not registered)
5,Tanggal Pembentukan,tidak boleh tanggal yang akan datang (must not be in the future)
6,Tanggal Pembentukan,"bukan tanggal yang sah, contoh 2025-01-31 (not a valid date, e.g. 2025-01-31)"
7,Kode Poktan,tidak sesuai pola ^[A-Za-z0-9_.:-]+$ (does not match the pattern)
"""  # noqa: E501 - the exact report, one row a line
GROUPS_IMPORT = ["import", "extension", "--mapping", "simluhtan-poktan"]


def test_poktan_broken_list_reports_each_problem_and_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counts(settings)

    report = _report(tmp_path, [*GROUPS_IMPORT, str(FIXTURES / "poktan-rusak.csv"), "--dry-run"], 1)

    assert report == BROKEN_GROUPS_REPORT
    assert (
        "Uji coba: tidak ada yang disimpan (dry run: nothing was written)"
        in capsys.readouterr().out
    )
    assert _counts(settings) == before


def test_poktan_list_registers_each_group_once(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(FIXTURES / "poktan.csv")
    assert main([*GROUPS_IMPORT, file, "--dry-run"]) == 0
    assert _counts(settings)[GROUPS] == 0
    capsys.readouterr()

    assert main([*GROUPS_IMPORT, file]) == 0
    first = capsys.readouterr().out
    after_first = _counts(settings)
    assert main([*GROUPS_IMPORT, file]) == 0
    again = capsys.readouterr().out

    assert _counts(settings) == after_first  # not one group or event more
    groups = "Kelompok tani: baru / sudah ada (farmer groups: new / already there)"
    assert _row(first, groups) == "3 / 0"
    assert _row(again, groups) == "0 / 3"
    groups = {g["group_id"]: g for g in _all(settings, GROUPS)}
    assert sorted(groups) == ["poktan-harapan-jaya", "poktan-mekar-tani", "poktan-sri-mulya"]
    assert groups["poktan-sri-mulya"]["name"] == "Sri Mulya"
    assert groups["poktan-sri-mulya"]["occurred_on"] == "2015-08-17"  # dd/mm/yyyy read
    stored = json.dumps(list(groups.values()))
    assert "Asep" not in stored and "0812" not in stored  # columns the mapping does not name


# e-RDKK plans (CSV) -------------------------------------------------------------------------
BROKEN_PLANS_REPORT = """line,field,reason
3,Tahun,harus tahun 4 digit (must be a 4-digit year)
4,Urea MT1 (Kg),harus angka (must be a number)
5,(row),tidak ada jumlah pupuk yang diisi (no fertiliser amount is filled in)
6,NIK,harus 16 digit (must be 16 digits)
7,NIK,tidak ada rumah tangga terdaftar di desa ini dengan NIK ini (no registered household of this village has this NIK)
"""  # noqa: E501 - the exact report, one row a line
PLANS = ["import", "extension", "--mapping", "erdkk"]


def test_erdkk_broken_plan_reports_each_problem_and_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    before = _counts(settings)

    report = _report(tmp_path, [*PLANS, str(FIXTURES / "rdkk-rusak.csv"), "--dry-run"], 1)

    assert report == BROKEN_PLANS_REPORT
    assert _counts(settings) == before


def test_erdkk_plan_is_recorded_as_planned_inputs_once_and_moves_no_score(
    settings: Settings, tmp_path: Path
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    file = str(FIXTURES / "rdkk.csv")

    assert main([*PLANS, file]) == 0
    after_first = _counts(settings)
    assert main([*PLANS, file]) == 0

    assert after_first[RECORDS] == 9  # 6 amounts for Asep, 3 for Ujang
    assert _counts(settings) == after_first
    plans = _all(settings, RECORDS)
    assert {p["kind"] for p in plans} == {"input_plan"}
    asep = [p for p in plans if p["season"] == "2026-MT2"]
    assert sorted((p["product"], p["kg"]) for p in asep) == [
        ("npk", 105),
        ("pupuk organik", 175),
        ("urea", 70),
    ]
    with TestClient(embedded_app(settings)) as client:
        hh = next(p["household_id"] for p in asep)
        view = client.get(f"/resilience/households/{hh}", headers=_auth(settings))
    assert view.status_code == 200, view.text  # the aggregator folded input_planned
    assert view.json()["pillars"]["green"] == 0  # a plan is not an input used


# extension visits (JSON) --------------------------------------------------------------------
BROKEN_VISITS_REPORT = """line,field,reason
10,Materi,wajib diisi (required)
17,NIP/ID Penyuluh,tidak sesuai pola ^[A-Za-z0-9_.:-]+$ (does not match the pattern)
25,(row),bukan objek JSON (not a JSON object)
26,Tanggal Kunjungan,"bukan tanggal yang sah, contoh 2025-01-31 (not a valid date, e.g. 2025-01-31)"
"""
VISITS = ["import", "extension", "--mapping", "simluhtan-kunjungan"]


def test_visits_broken_json_reports_the_line_each_record_starts_on(
    settings: Settings, tmp_path: Path
) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    before = _counts(settings)

    report = _report(tmp_path, [*VISITS, str(FIXTURES / "kunjungan-rusak.json"), "--dry-run"], 1)

    assert report == BROKEN_VISITS_REPORT
    assert _counts(settings) == before


def test_visits_import_once_with_the_source_system(settings: Settings, tmp_path: Path) -> None:
    assert main([*OPENSID, *CLEAN_SID]) == 0
    file = str(FIXTURES / "kunjungan.json")

    assert main([*VISITS, file]) == 0
    after_first = _counts(settings)
    assert main([*VISITS, file]) == 0

    assert after_first[RECORDS] == 2 and _counts(settings) == after_first
    visits = sorted(_all(settings, RECORDS), key=lambda d: d["occurred_on"])
    assert [v["occurred_on"] for v in visits] == ["2026-02-10", "2026-03-10"]
    assert {v["source_system"] for v in visits} == {"simluhtan"}


def test_json_error_report_and_unknown_mapping(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "galat.json"
    args = [*VISITS, str(FIXTURES / "kunjungan-rusak.json"), "--dry-run", "--report", str(out)]
    assert main(args) == 1
    first, *_ = json.loads(out.read_text())
    assert first == {
        "line": 2,
        "field": "NIK Petani",
        "reason": "tidak ada rumah tangga terdaftar di desa ini dengan NIK ini "
        "(no registered household of this village has this NIK)",
    }
    assert main(["import", "extension", str(FIXTURES / "rdkk.csv"), "--mapping", "simlu"]) == 2
    err = capsys.readouterr().err
    assert "tidak ada pemetaan 'simlu'; yang tersedia: " in err and "(no mapping 'simlu')" in err
    xlsx = FIXTURES / "petani.xlsx"
    assert main([*FARMERS, str(xlsx), "--sheet", "Lembar9", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"tidak dapat membaca {xlsx}: tidak ada lembar 'Lembar9'; lembar yang ada: " in err
    assert err.endswith(f" (no such sheet). (cannot read {xlsx})\n")
