"""`lumbung import`: a row-level error report, dry runs that write nothing, re-imports that
add nothing -- through the real routes, in-process and over HTTP."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.commerce.routes import SALES
from services.main import embedded_app
from services.registry.routes import HOUSEHOLDS
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role, mint_token
from shared.cli import main
from shared.settings import Settings
from tests.servers import free_port

VILLAGE = "3204052001"
BUSINESS = "biz-keripik-01"
HOUSEHOLD = "hh-3204052001-0001"

BROKEN_HOUSEHOLDS = """village_code,members,head_name,kk_number,occurred_on
3204052001,4,Ibu Siti Aminah,3204050101090001,2025-01-05
3204052001,0,,,
12345,3,,,
3204052001,2,,12345,2099-01-01
3204059999,5,,,
3204052001,3,Bapak Ujang,,2025-02-01,extra

3204052001,abc,,,
3204052001,2,Ibu Euis,,
"""
BROKEN_REPORT = """line,field,reason
3,members,paling sedikit 1 (must be at least 1)
4,village_code,tidak sesuai pola ^[0-9]{10}$ (does not match the pattern)
5,kk_number,tidak sesuai pola ^[0-9]{16}$ (does not match the pattern)
5,occurred_on,tidak boleh tanggal yang akan datang (must not be in the future)
6,village_code,desa belum terdaftar (village is not registered)
7,(row),"seharusnya 5 isian, ada 6 (expected 5 fields, found 6)"
9,members,harus bilangan bulat (must be a whole number)
"""
CHANNELS = (
    "shopee, tokopedia, tiktok_shop, lazada, bukalapak, whatsapp, facebook, instagram, website, "
    "other_online, market, shop, middleman, cooperative, bumdes, direct, other_offline"
)
SALES_CSV = f"""business_id,channel,quantity,unit_price,occurred_on
{BUSINESS},shopee,10,15000,2025-03-02
{BUSINESS},whatsapp,4,15000,2025-03-09
{BUSINESS},whatsapp,4,15000,2025-03-09
{BUSINESS},pasar,3,15000,2025-03-10
biz-unknown,market,2,15000,2025-03-11
{BUSINESS},market,0,15000,2025-03-12
,market,2,15000,2025-03-12
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A data directory with one registered village, household and business."""
    data = tmp_path / "data"
    monkeypatch.setenv("LUMBUNG_DATA_DIR", str(data))
    monkeypatch.setenv("LUMBUNG_PORT", str(free_port()))  # no platform answers there
    monkeypatch.setenv("COLUMNS", "200")
    settings = Settings()
    admin = {"Authorization": f"Bearer {_token(settings)}"}
    with TestClient(embedded_app(settings)) as client:
        village = {
            "village_code": VILLAGE,
            "name": "Cibiru Wetan",
            "district_code": "3204",
            "district_name": "Kabupaten Bandung",
        }
        household = {"village_code": VILLAGE, "members": 4, "household_id": HOUSEHOLD}
        business = {
            "household_id": HOUSEHOLD,
            "village_code": VILLAGE,
            "name": "Keripik Sari Rasa",
            "category": "makanan olahan",
            "business_id": BUSINESS,
        }
        for path, body in (
            ("/registry/villages", village),
            ("/registry/households", household),
            ("/commerce/businesses", business),
        ):
            assert client.post(path, json=body, headers=admin).status_code == 201
    return settings


def _token(settings: Settings) -> str:
    return mint_token(settings.secret, role=Role.DISTRICT_ADMIN, sub="test", district="3204")


def _count(settings: Settings, collection: str) -> int:
    store = SqliteStore(settings.sqlite_path)
    try:
        return store.count(collection)
    finally:
        store.close()


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_csv_reports_each_bad_row_and_a_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "rumah_tangga.csv", BROKEN_HOUSEHOLDS)
    report = tmp_path / "errors.csv"
    before = _count(settings, HOUSEHOLDS)

    code = main(["import", "households", str(file), "--dry-run", "--report", str(report)])

    assert code == 1
    assert report.read_text() == BROKEN_REPORT
    out = capsys.readouterr().out
    for line in BROKEN_REPORT.splitlines()[1:]:
        number, field, *_ = line.split(",")
        assert any(number in row and field in row for row in out.splitlines()), line
    assert "Uji coba: tidak ada yang disimpan (dry run: nothing was written)" in out
    assert _count(settings, HOUSEHOLDS) == before


def test_import_writes_valid_rows_and_importing_again_adds_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "rumah_tangga.csv", BROKEN_HOUSEHOLDS)
    before = _count(settings, HOUSEHOLDS)

    assert main(["import", "households", str(file)]) == 1
    first = capsys.readouterr().out
    assert _count(settings, HOUSEHOLDS) == before + 2
    assert main(["import", "households", str(file)]) == 1
    again = capsys.readouterr().out

    assert _count(settings, HOUSEHOLDS) == before + 2
    assert _row(first, "Diimpor (imported)") == "2" and _row(again, "Diimpor (imported)") == "0"
    assert _row(again, "Sudah ada (already there)") == "2"


def test_a_corrected_file_imports_only_the_fixed_rows(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "rumah_tangga.csv", BROKEN_HOUSEHOLDS)
    main(["import", "households", str(file)])
    before = _count(settings, HOUSEHOLDS)
    fixed = BROKEN_HOUSEHOLDS.replace("3204052001,0,,,", "3204052001,1,,,")
    file.write_text(fixed, encoding="utf-8")
    capsys.readouterr()

    assert main(["import", "households", str(file)]) == 1  # the other bad rows remain
    out = capsys.readouterr().out

    assert _count(settings, HOUSEHOLDS) == before + 1
    assert _row(out, "Diimpor (imported)") == "1" and _row(out, "Sudah ada (already there)") == "2"


def test_sales_import_reports_bad_rows_and_reaches_the_view_once(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "penjualan.csv", SALES_CSV)
    report = tmp_path / "errors.csv"

    assert main(["import", "sales", str(file), "--report", str(report)]) == 1
    assert main(["import", "sales", str(file)]) == 1
    capsys.readouterr()

    with report.open(newline="") as errors:
        rows = list(csv.reader(errors))
    assert rows == [
        ["line", "field", "reason"],
        ["5", "channel", f"harus salah satu dari: {CHANNELS} (must be one of these)"],
        ["6", "business_id", "usaha tidak ditemukan (business not found)"],
        ["7", "quantity", "harus lebih dari 0 (must be greater than 0)"],
        ["8", "business_id", "wajib diisi (required)"],
    ]
    assert _count(settings, SALES) == 3  # identical rows are two sales, each imported once
    with TestClient(embedded_app(settings)) as client:
        view = client.get(
            f"/resilience/villages/{VILLAGE}?as_of=2025-03",
            headers={"Authorization": f"Bearer {_token(settings)}"},
        ).json()
    assert view["income"]["umkm"] == (10 + 4 + 4) * 15000
    assert view["income"]["digital"] == (10 + 4 + 4) * 15000


def test_header_problems_are_reported_at_line_1_and_nothing_is_written(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "h.csv", "village_code,anggota\n3204052001,4\n")
    before = _count(settings, HOUSEHOLDS)

    assert main(["import", "households", str(file)]) == 1

    out = capsys.readouterr().out
    assert "anggota" in out and "kolom tidak dikenal" in out
    assert "members" in out and "kolom wajib tidak ada" in out
    assert _count(settings, HOUSEHOLDS) == before


def test_a_missing_file_is_a_usage_error(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "sales", str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert "tidak dapat membaca" in err and "(cannot read" in err


@contextmanager
def live_platform(settings: Settings) -> Iterator[str]:
    """The embedded platform served over real HTTP on a free port, in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(embedded_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the platform did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_import_into_a_running_platform_over_http(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "penjualan.csv", SALES_CSV)
    dry = ["import", "sales", str(file), "--dry-run"]
    with live_platform(settings) as url:
        assert main([*dry, "--url", url, "--token", _token(settings)]) == 1
        assert _count(settings, SALES) == 0
        assert main(["import", "sales", str(file), "--url", url, "--district", "3204"]) == 1
        assert main(["import", "sales", str(file), "--url", url, "--district", "3204"]) == 1
        assert main(["import", "sales", str(file), "--url", url]) == 2
        no_token = capsys.readouterr()
        assert main(["import", "sales", str(file), "--url", url, "--token", "x"]) == 2
        refused = capsys.readouterr().err
    assert "6 " in no_token.out and "usaha tidak ditemukan" in no_token.out
    assert "dengan --url, berikan --token, atau --district" in no_token.err
    assert "(with --url, pass --token, or --district" in no_token.err
    assert refused.endswith(
        "platform menolak token (401): periksa --token. "
        "(the platform refused the token (401): check --token)\n"
    )
    assert _count(settings, SALES) == 3


def test_in_process_import_refuses_while_the_platform_runs(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _csv(tmp_path, "penjualan.csv", SALES_CSV)
    with live_platform(settings) as url:
        port = url.rsplit(":", 1)[1]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("LUMBUNG_PORT", port)
            assert main(["import", "sales", str(file)]) == 2
    err = capsys.readouterr().err
    assert "sedang berjalan di" in err and "impor dengan --url" in err
    assert "is running on" in err and "import with --url" in err
    assert _count(settings, SALES) == 0


def _row(out: str, label: str) -> str:
    """The value of a summary row, e.g. 'Diimpor (imported)' -> '2'."""
    for line in out.splitlines():
        if label in line:
            return line.strip("│ ").split("│")[-1].strip()
    raise AssertionError(f"{label!r} not in output:\n{out}")
