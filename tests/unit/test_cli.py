"""Every `lumbung` command: help, token, run (first start), demo, replay, import."""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.dashboard.signin import CODE_TTL, read_code
from shared.auth import Role, decode_token
from shared.cli import build_parser, main
from shared.demo import DemoConfig
from shared.demo.seed import demo_token
from shared.errors import Problem
from shared.settings import Settings
from tests.e2e.test_import import live_platform
from tests.servers import free_port

COMMANDS = ("run", "token", "demo", "replay", "import")
SMALL = ["--households", "10", "--villages", "5"]
WRITTEN = "Ditulis sekarang (written now)"
FAILED = "Gagal (failed)"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LUMBUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LUMBUNG_PORT", str(free_port()))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LUMBUNG_DEMO", raising=False)
    return Settings()


def _row(out: str, label: str) -> str:
    for line in out.splitlines():
        if label in line:
            return line.strip("│ ").split("│")[-1].strip()
    raise AssertionError(f"{label!r} not in output:\n{out}")


# help ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cara pakai: lumbung{'' if command is None else ' ' + command}")
    assert "opsi:" in out and "options:" not in out
    if command is None:
        assert all(name in out for name in COMMANDS)


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "lumbung: galat: argumen berikut wajib diisi: PERINTAH "
        "(the following arguments are required: PERINTAH)\n"
    )


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_and_usage_errors_in_english_with_lumbung_lang_en(
    command: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LUMBUNG_LANG", "EN")  # any case
    with pytest.raises(SystemExit) as exited:
        main(["--help"] if command is None else [command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lumbung{'' if command is None else ' ' + command}")
    assert "options:" in out and "show this help and exit" in out
    assert not any(word in out for word in ("opsi:", "cara pakai", "bawaan", "tampilkan"))
    with pytest.raises(SystemExit):
        main(["token", "--role", "nobody", "--district", "3204"])
    assert capsys.readouterr().err.endswith(
        "lumbung token: error: argument --role: invalid choice: 'nobody' (choose from "
        "'district_admin', 'village_operator', 'extension_worker', 'viewer')\n"
    )


def test_every_help_text_is_written_in_both_languages() -> None:
    """No option or command says the same in both languages (one was left untranslated)."""

    def texts(parser: argparse.ArgumentParser) -> list[str]:
        found = [parser.description or ""]
        for action in parser._actions:
            found.append(action.help or "")
            for choice in getattr(action, "_choices_actions", []):
                found.append(choice.help or "")
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found.extend(texts(child))
        return found

    indonesian, english = texts(build_parser("id")), texts(build_parser("en"))
    assert len(indonesian) == len(english) > 60
    same = [a for a, b in zip(indonesian, english, strict=True) if a and a == b]
    assert same == [], same


# token --------------------------------------------------------------------------------------
def test_token_is_signed_with_the_secret_and_scoped(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--role", "village_operator", "--village", "3204052001"]) == 0
    principal = decode_token(env.secret, capsys.readouterr().out.strip())
    assert principal.role is Role.VILLAGE_OPERATOR
    assert principal.villages == ["3204052001"]


def test_token_link_prints_a_one_time_sign_in_link_not_a_token(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["token", "--role", "village_operator", "--village", "3204052001", "--link"]
    assert main([*argv, "--hours", "2", "--url", "https://lumbung.example/"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://lumbung.example/login?code=")
    code = read_code(env.secret, link.partition("code=")[2])
    assert code.principal.role is Role.VILLAGE_OPERATOR
    assert code.principal.villages == ["3204052001"] and code.session_s == 2 * 3600
    assert code.expires_at - time.time() <= CODE_TTL.total_seconds()
    with pytest.raises(Problem):  # a code is no bearer token
        decode_token(env.secret, link.partition("code=")[2])
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"http://127.0.0.1:{env.port}/login?code=")


def test_token_with_a_bad_scope_is_a_usage_error(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--role", "viewer", "--district", "32"]) == 2
    assert capsys.readouterr().err == (
        "lumbung token: --district harus kode kabupaten 4 angka. "
        "(--district must be a 4-digit district code)\n"
    )
    assert main(["token", "--role", "viewer", "--district", "3204", "--sub", "x" * 201]) == 2
    assert capsys.readouterr().err == (
        "lumbung token: --sub: paling banyak 200 karakter (must have at most 200 characters)\n"
    )


@pytest.mark.parametrize("village", ["123", "32040520011", "320405200x", "\uff13204052001"])
def test_token_for_a_bad_village_code_is_refused_and_prints_no_token(
    village: str, env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--role", "viewer", "--village", village])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("cara pakai: lumbung token ")
    assert err.endswith(
        f": galat: argumen --village: kode desa harus 10 angka: {village}. "
        f"(a village code must be 10 digits: {village})\n"
    )


def test_token_for_valid_village_codes_still_prints_a_token_for_them(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["token", "--role", "viewer", "--village", "3204052001", "--village", "9901010002"]
    assert main(argv) == 0
    principal = decode_token(env.secret, capsys.readouterr().out.strip())
    assert principal.villages == ["3204052001", "9901010002"]
    assert principal.sub == "viewer@3204052001,9901010002"


# values the parser refuses, Bahasa Indonesia first ---------------------------------------------
@pytest.mark.parametrize(
    ("argv", "option", "message"),
    [
        (
            ["demo", "--today", "2025-13-01"],
            "--today",
            "tanggal tidak valid, gunakan format TTTT-BB-HH: 2025-13-01. "
            "(not a valid date, use YYYY-MM-DD: 2025-13-01)",
        ),
        (
            ["demo", "--households", "0"],
            "--households",
            "harus bilangan bulat paling sedikit 1: 0. (must be a whole number of at least 1: 0)",
        ),
        (
            ["demo", "--villages", "enam"],
            "--villages",
            "harus bilangan bulat paling sedikit 1: enam. "
            "(must be a whole number of at least 1: enam)",
        ),
        (
            ["token", "--role", "viewer", "--district", "3204", "--hours", "-3"],
            "--hours",
            "harus bilangan bulat paling sedikit 1: -3. (must be a whole number of at least 1: -3)",
        ),
        (
            ["import", "opensid", "--penduduk", "p.csv", "--village", "320405200"],
            "--village",
            "kode desa harus 10 angka: 320405200. (a village code must be 10 digits: 320405200)",
        ),
        (
            ["import", "idm", "rumusan.json", "--village", "32040520O1"],
            "--village",
            "kode desa harus 10 angka: 32040520O1. (a village code must be 10 digits: 32040520O1)",
        ),
    ],
)
def test_a_bad_option_value_is_refused_in_indonesian_and_english(
    argv: list[str], option: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("cara pakai: lumbung ")
    assert err.endswith(f": galat: argumen {option}: {message}\n")


# run ----------------------------------------------------------------------------------------
@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """`serve` replaced by a recorder; the first-start demo made small."""
    calls: list[str | None] = []
    monkeypatch.setattr("services.main.serve", calls.append)
    monkeypatch.setattr(
        "shared.demo.first_start.demo_config", lambda: DemoConfig(households=10, villages=5)
    )
    return calls


def test_first_start_seeds_the_demo_and_prints_a_login_link(
    env: Settings, served: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 0
    out = capsys.readouterr().out

    assert served == [None]
    assert "Mulai pertama: mengisi kabupaten demo 9901" in out
    assert "First start: seeding the demo district 9901" in out
    link = re.search(r"http://127\.0\.0\.1:\d+/login\?code=(\S+)", out)
    assert link is not None and "?token=" not in out
    principal = read_code(env.secret, link.group(1)).principal
    assert principal.role is Role.DISTRICT_ADMIN and principal.district == "9901"
    bearer = re.search(r"bearer token, district admin\):\s+(\S+)", out)
    assert bearer is not None
    headers = {"Authorization": f"Bearer {bearer.group(1)}"}
    from services.main import embedded_app

    with TestClient(embedded_app(env), follow_redirects=False) as client:
        district = client.get("/resilience/districts/9901", headers=headers).json()
        confirm = client.get(f"/login?code={link.group(1)}")
        signed_in = client.post("/login", data={"code": link.group(1)})
    assert confirm.status_code == 200 and "set-cookie" not in confirm.headers
    assert signed_in.status_code == 303 and "lumbung_token=" in signed_in.headers["set-cookie"]
    assert signed_in.headers["location"] == "/dashboard/districts/9901"
    assert len(district["villages"]) == 5
    assert district["households_with_data"] > 0


def test_later_starts_do_not_seed_again_but_still_print_the_link(
    env: Settings, served: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["run"])
    capsys.readouterr()
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "First start" not in out
    assert "/login?code=" in out
    assert served == [None, None]


@pytest.mark.parametrize("how", ["env", "flag"])
def test_demo_off_starts_empty(
    how: str,
    env: Settings,
    served: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run"]
    if how == "env":
        monkeypatch.setenv("LUMBUNG_DEMO", "off")
    else:
        argv.append("--no-demo")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "First start" not in out and "/login?" not in out
    assert served == [None]


def test_run_one_service_never_seeds(
    env: Settings, served: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--service", "registry"]) == 0
    assert served == ["registry"]
    assert "First start" not in capsys.readouterr().out


# demo ---------------------------------------------------------------------------------------
def test_demo_dry_run_counts_without_writing(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dry-run", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "Uji coba: tidak ada yang disimpan (dry run: nothing was written)" in out
    assert int(_row(out, "Jumlah penulisan (writes, total)").replace(",", "")) > 100
    assert not env.sqlite_path.exists()


def test_demo_seeds_once_and_seeding_again_adds_nothing(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--seed", "3", *SMALL]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--seed", "3", *SMALL]) == 0
    again = capsys.readouterr().out

    written = int(_row(first, WRITTEN).replace(",", ""))
    assert written > 100 and _row(first, FAILED) == "0"
    assert _row(first, "Peristiwa diagregasi (events aggregated)").replace(",", "") == str(written)
    assert _row(again, WRITTEN) == "0"
    assert _row(again, "Sudah ada (already there, replayed)").replace(",", "") == str(written)


def test_demo_into_a_running_platform_over_http(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with live_platform(env) as url:
        assert main(["demo", "--households", "5", "--villages", "5", "--url", url]) == 0
    out = capsys.readouterr().out
    assert int(_row(out, WRITTEN).replace(",", "")) > 50
    assert _row(out, FAILED) == "0"


def test_demo_into_an_unreachable_platform_stops_with_a_message(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["demo", *SMALL, "--url", url]) == 2
    err = capsys.readouterr().err
    assert f"tidak dapat menghubungi {url}: " in err and f". (cannot reach {url})" in err


def test_demo_with_impossible_sizes_is_a_usage_error(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--households", "3", "--villages", "5"]) == 2
    assert capsys.readouterr().err == (
        "lumbung demo: setiap desa memerlukan paling sedikit satu rumah tangga. "
        "(need at least one household per village)\n"
    )
    assert main(["demo", "--today", "2023-09-30", *SMALL]) == 2
    assert capsys.readouterr().err == (
        "lumbung demo: hari terakhir riwayat (today) harus sesudah bulan pelatihan (2023-09). "
        "(today must be after the training month (2023-09))\n"
    )


@contextmanager
def healthy_port() -> Iterator[int]:
    """Something answering /healthz like a running platform."""

    class Healthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@pytest.mark.parametrize("argv", [["demo", *SMALL], ["replay"]])
def test_in_process_commands_refuse_beside_a_running_platform(
    argv: list[str],
    env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with healthy_port() as port:
        monkeypatch.setenv("LUMBUNG_PORT", str(port))
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert "platform Lumbung sedang berjalan di http://" in err and "is running on" in err
    assert "(atau hentikan platform terlebih dahulu)" in err
    assert not env.sqlite_path.exists()


@pytest.mark.parametrize("argv", [["demo", *SMALL], ["import", "sales", "penjualan.csv"]])
def test_distributed_mode_writes_only_through_a_running_platform(
    argv: list[str],
    env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "penjualan.csv").write_text("business_id,channel,quantity,unit_price\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LUMBUNG_MODE", "distributed")
    monkeypatch.setenv("LUMBUNG_SECRET", "s" * 40)
    monkeypatch.setenv("LUMBUNG_PII_KEY", "p" * 40)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "mode terdistribusi: setiap layanan memiliki basis datanya sendiri" in err
    assert "in distributed mode each service owns its database" in err and "--url" in err


# replay -------------------------------------------------------------------------------------
def test_replay_rebuilds_the_same_views(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from services.main import embedded_app

    main(["demo", *SMALL])
    written = int(_row(capsys.readouterr().out, WRITTEN).replace(",", ""))
    headers = {"Authorization": f"Bearer {demo_token(env)}"}

    def district() -> dict[str, object]:
        with TestClient(embedded_app(env)) as client:
            return client.get("/resilience/districts/9901", headers=headers).json()

    before = district()
    assert main(["replay"]) == 0
    out = capsys.readouterr().out

    assert "Model baca dibangun ulang (read model rebuilt by replay)" in out
    assert _row(out, "Peristiwa diputar ulang (events replayed)").replace(",", "") == str(written)
    assert _row(out, "Pesan tak terproses (dead letters)") == "0"
    assert _row(out, "Desa dibangun ulang (villages rebuilt)") == "5"
    assert district() == before


# import -------------------------------------------------------------------------------------
def test_import_dry_run_of_a_valid_file_passes_and_writes_nothing(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo", *SMALL])
    file = tmp_path / "rumah_tangga.csv"
    file.write_text("village_code,members\n9901012001,3\n9901012002,5\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["import", "households", str(file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "Baris sah (valid rows)") == "2" and _row(out, "Diimpor (imported)") == "0"
    assert main(["import", "households", str(file)]) == 0
    assert _row(capsys.readouterr().out, "Diimpor (imported)") == "2"


def test_import_with_a_broken_mapping_file_is_refused_in_indonesian_and_english(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "petani.toml"
    mapping.write_text("[mapping]\nname = 'petani'\n", encoding="utf-8")
    file = tmp_path / "petani.csv"
    file.write_text("NIK\n", encoding="utf-8")

    assert main(["import", "extension", str(file), "--mapping", str(mapping), "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        f"lumbung import: {mapping}: tabel [mapping] dengan target wajib ada. "
        f"({mapping}: a [mapping] table with a target is required)\n"
    )
    mapping.write_text("[mapping]\ntarget = 'farmers'\n[columns]\nNIK = 'nomor_induk'\n")
    assert main(["import", "extension", str(file), "--mapping", str(mapping), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "lumbung import: pemetaan petani: kolom tujuan tidak dikenal untuk target farmers: "
        "nomor_induk; yang ada: "
    )
    assert err.endswith(". (mapping petani: unknown field(s) for target farmers: nomor_induk)\n")


# --url and --district of the commands that send through a running platform ----------------------
@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Readable inputs for every import kind, so the old code got as far as the URL."""
    (tmp_path / "rumah_tangga.csv").write_text("village_code,members\n9901012001,3\n")
    (tmp_path / "penjualan.csv").write_text("business_id,channel,quantity,unit_price\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


FIXTURES = Path(__file__).parents[1] / "fixtures" / "integrations"
SENDERS = [
    ["demo", *SMALL],
    ["import", "households", "rumah_tangga.csv"],
    ["import", "sales", "penjualan.csv", "--dry-run"],
    ["import", "extension", str(FIXTURES / "rdkk.csv"), "--mapping", "erdkk"],
    ["import", "opensid", "--penduduk", str(FIXTURES / "penduduk.csv"), "--village", "3204052001"],
    ["import", "idm", str(FIXTURES / "idm-3204052001-2024.json")],
]


@pytest.mark.parametrize("url", ["ftp://x", "http://", "http://x:abc", "http://[::1"])
@pytest.mark.parametrize("argv", SENDERS, ids=lambda argv: " ".join(argv[:2]))
def test_a_url_that_is_not_http_is_refused_in_indonesian_and_english(
    argv: list[str], url: str, env: Settings, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--url", url, "--token", "t"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"cara pakai: lumbung {argv[0]} ")
    assert err.endswith(
        f": galat: argumen --url: bukan alamat http(s): {url}. (not an http(s) URL: {url})\n"
    )
    assert not env.sqlite_path.exists()


def test_http_client_refuses_a_url_that_is_not_http_in_indonesian_and_english() -> None:
    from shared.demo.transport import HttpClient

    with pytest.raises(ValueError) as refused:
        HttpClient("ftp://x", "t")
    assert str(refused.value) == "bukan alamat http(s): ftp://x. (not an http(s) URL: ftp://x)"
    client = HttpClient("127.0.0.1:8000/api/", "t")  # no scheme: http
    assert (client.scheme, client.host, client.port, client.prefix) == (
        "http",
        "127.0.0.1",
        8000,
        "/api",
    )


@pytest.mark.parametrize("district", ["32", "32041", "320x"])
@pytest.mark.parametrize("kind", ["households rumah_tangga.csv", "sales penjualan.csv"])
def test_import_minting_for_a_bad_district_is_refused_as_lumbung_token_refuses_it(
    kind: str, district: str, env: Settings, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["import", *kind.split(), "--url", url, "--district", district]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err == (
        "lumbung import: --district harus kode kabupaten 4 angka. "
        "(--district must be a 4-digit district code)\n"
    )
    assert main(["token", "--role", "district_admin", "--district", district]) == 2
    assert capsys.readouterr().err == err.replace("lumbung import:", "lumbung token:", 1)
