"""`lumbung`: the operator's command line (run, token, demo, replay, import)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError
from rich.console import Console

from services.dashboard.signin import CODE_MINUTES, login_link, mint_code
from shared.auth import Role, mint_token
from shared.demo import console as out
from shared.integrations.messages import reason, sentence
from shared.language import DEFAULT_LANG, Text, configured_lang
from shared.settings import Mode, Settings

if TYPE_CHECKING:
    from shared.demo import DemoConfig
    from shared.demo.seed import SeedReport
    from shared.importer import ImportReport, Plan
    from shared.integrations.sources import Table

EXAMPLES = """  lumbung run                                   # {run}
  lumbung token --role district_admin --district 3204
  lumbung token --role village_operator --village 3204052001 --link
  lumbung demo --seed 7 --households 500 --villages 6
  lumbung demo --url http://127.0.0.1:8000      # {into}
  lumbung replay                                # {replay}
  lumbung import households rumah_tangga.csv --dry-run
  lumbung import sales penjualan.csv --url http://127.0.0.1:8000 --token "$TOKEN"
  lumbung import extension petani.xlsx --mapping simluhtan --dry-run
  lumbung import extension rdkk.csv --mapping erdkk --report galat.json
  lumbung import opensid --penduduk penduduk.xlsx --keluarga keluarga.xlsx --village 3204052001
  lumbung import idm rumusan_3204052001_2024.json --village 3204052001 --dry-run"""
EPILOG = {
    "id": "contoh:\n"
    + EXAMPLES.format(
        run="platform tertanam (mengisi data demo sekali)",
        into="ke platform yang sedang berjalan",
        replay="bangun ulang model baca (platform dihentikan)",
    )
    + "\n\nPengaturan diambil dari variabel lingkungan LUMBUNG_* (lihat README); "
    "LUMBUNG_LANG=en untuk bahasa Inggris.",
    "en": "examples:\n"
    + EXAMPLES.format(
        run="the embedded platform (seeds the demo once)",
        into="into a running platform",
        replay="rebuild the read model (platform stopped)",
    )
    + "\n\nSettings come from LUMBUNG_* environment variables (see README); "
    "LUMBUNG_LANG=id for Bahasa Indonesia.",
}


class CliError(Exception):
    """A refusal with a message for the operator (exit code 2), Bahasa Indonesia first:
    ``sentence("<kalimat>", "<sentence>")``."""


# what the refused command should do instead: (Bahasa Indonesia, English)
SEED = ("isi data demo", "seed it")
IMPORT = ("impor", "import")
Advice = tuple[str, str]


def _in_process(settings: Settings, what: Advice) -> None:
    """Writes in this process need the embedded store, and no platform running beside it."""
    if settings.mode is not Mode.EMBEDDED:
        raise CliError(
            sentence(
                "mode terdistribusi: setiap layanan memiliki basis datanya sendiri, jadi "
                f"{what[0]} melalui platform yang sedang berjalan dengan --url",
                "in distributed mode each service owns its database: "
                f"{what[1]} through the running platform with --url",
            )
        )
    _refuse_if_running(settings, (f"{what[0]} dengan --url", f"{what[1]} with --url"))


def _refuse_if_running(settings: Settings, what: Advice) -> None:
    """Embedded mode has one SQLite writer: never write beside a running platform."""
    from shared.demo.seed import platform_running

    if settings.mode is Mode.EMBEDDED and platform_running(settings):
        url = f"http://{settings.host}:{settings.port}"
        raise CliError(
            sentence(
                f"platform Lumbung sedang berjalan di {url} dengan direktori data ini; "
                f"{what[0]} (atau hentikan platform terlebih dahulu)",
                f"a Lumbung platform is running on {url} with this data directory; "
                f"{what[1]} (or stop the platform first)",
            )
        )


def _unreachable(url: str, exc: OSError) -> CliError:
    return CliError(sentence(f"tidak dapat menghubungi {url}: {exc}", f"cannot reach {url}"))


def _unreadable(path: object, exc: Exception) -> CliError:
    return CliError(sentence(f"tidak dapat membaca {path}: {exc}", f"cannot read {path}"))


# token ------------------------------------------------------------------------------------
def _token(args: argparse.Namespace) -> int:
    settings = Settings()
    claims: dict[str, Any] = {
        "role": Role(args.role),
        "sub": args.sub or f"{args.role}@{args.district or ','.join(args.village)}",
        "district": args.district,
        "villages": args.village,
    }
    lifetime = timedelta(hours=args.hours or settings.token_ttl_hours)
    try:
        if args.link:
            from shared.demo.first_start import dashboard_url

            code = mint_code(settings.secret, **claims, session=lifetime)
            printed = login_link(args.url or dashboard_url(settings), code)
        else:
            printed = mint_token(settings.secret, **claims, ttl=lifetime)
    except ValidationError as exc:  # the claims: --district, --sub
        raise CliError("; ".join(_claim(error) for error in exc.errors())) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(printed)
    return 0


def _claim(error: Mapping[str, Any]) -> str:
    """Why one claim of ``lumbung token`` is refused, named by its option."""
    name = str(error["loc"][0]) if error.get("loc") else ""
    if name == "district":
        return sentence(
            "--district harus kode kabupaten 4 angka", "--district must be a 4-digit district code"
        )
    return f"--{name}: {reason(error)}"


# run --------------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    from services.main import serve

    settings = Settings()
    if args.service is None and settings.mode is Mode.EMBEDDED:
        from shared.demo.first_start import first_start

        first_start(settings, out.console(), seed_demo=not args.no_demo)
    serve(args.service)
    return 0


# demo -------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    from shared.demo import DemoConfig
    from shared.demo.report import print_seed_report, print_sizes

    settings, console = Settings(), out.console()
    try:
        config = DemoConfig(
            seed=args.seed,
            households=args.households,
            villages=args.villages,
            today=args.today or date.today(),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.dry_run:
        print_sizes(console, config)
        return 0
    if args.url is None:
        _in_process(settings, SEED)
    report = _seed(settings, config, args, console)
    print_seed_report(console, config, report)
    return 1 if report.send.failed else 0


def _seed(
    settings: Settings, config: DemoConfig, args: argparse.Namespace, console: Console
) -> SeedReport:
    from shared.demo.scenario import generate
    from shared.demo.seed import SeedReport, demo_token, seed_embedded, send_commands
    from shared.demo.transport import HttpClient

    with out.bars(console) as bars:
        if args.url is None:
            return seed_embedded(settings, config, concurrency=args.concurrency, progress=bars)
        client = HttpClient(args.url, args.token or demo_token(settings))
        try:
            sent = asyncio.run(
                send_commands(
                    client,
                    generate(config),
                    concurrency=args.concurrency,
                    progress=bars,
                    households=config.households,
                )
            )
        except OSError as exc:
            raise _unreachable(args.url, exc) from None
        finally:
            client.close()
        return SeedReport(sent)


# replay -----------------------------------------------------------------------------------
def _replay(args: argparse.Namespace) -> int:
    from services.aggregator.replay import replay
    from services.catalog import SERVICES
    from shared.demo.report import print_replay
    from shared.runtime import bootstrap, tune_gc

    settings, console = Settings(), out.console()
    if not args.force:
        _refuse_if_running(
            settings,
            ("tambahkan --force untuk tetap memutar ulang", "pass --force to replay anyway"),
        )
    runtime = bootstrap(settings, [SERVICES["aggregator"]], label="aggregator")
    tune_gc()
    runtime.start(background=False)
    try:
        with out.bars(console) as bars:
            result = replay(runtime, progress=lambda done, total: bars("replay", done, total))
    finally:
        runtime.close()
    print_replay(console, result)
    return 0


# import -----------------------------------------------------------------------------------
def _import(args: argparse.Namespace) -> int:
    from shared.importer import KINDS, plan_kind, read_text

    try:
        text = read_text(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(args.file, exc) from None
    return _import_plan(args, args.file, plan_kind(KINDS[args.kind], text))


def _table(path: Path, sheet: str | None = None) -> Table:
    from shared.integrations.sources import SourceError, read_table

    try:
        return read_table(path, sheet=sheet)
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        raise _unreadable(path, exc) from None


def _import_extension(args: argparse.Namespace) -> int:
    from shared.integrations.extension import plan_extension
    from shared.integrations.mapping import MappingError, load_mapping

    try:
        mapping = load_mapping(args.mapping)
        plan = plan_extension(mapping, _table(args.file, args.sheet))
    except MappingError as exc:
        raise CliError(str(exc)) from None
    return _import_plan(args, args.file, plan)


def _import_idm(args: argparse.Namespace) -> int:
    from shared.importer import read_text
    from shared.integrations.idm import plan_idm

    try:
        text = read_text(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(args.file, exc) from None
    return _import_plan(args, args.file, plan_idm(text, args.village))


def _import_opensid(args: argparse.Namespace) -> int:
    from shared.integrations.mapping import MappingError, load_mapping
    from shared.integrations.opensid import plan_opensid

    keluarga = _table(args.keluarga) if args.keluarga is not None else None
    try:
        mapping = load_mapping(args.mapping)
        plan = plan_opensid(mapping, args.village, _table(args.penduduk), keluarga)
    except MappingError as exc:
        raise CliError(str(exc)) from None
    return _import_plan(args, args.penduduk, plan)


def _import_plan(args: argparse.Namespace, file: Path, plan: Plan) -> int:
    from shared.demo.report import print_import
    from shared.importer import ImportAborted, write_report

    settings, console = Settings(), out.console()
    try:
        report = _import_into(settings, plan, args, console)
    except ImportAborted as exc:
        raise CliError(str(exc)) from None
    if args.report is not None:
        write_report(report, args.report)
    print_import(console, file, report)
    return 1 if report.errors else 0


def _import_into(
    settings: Settings, plan: Plan, args: argparse.Namespace, console: Console
) -> ImportReport:
    from shared.demo.seed import embedded_platform, settle
    from shared.demo.transport import HttpClient
    from shared.importer import LocalTarget, RemoteTarget, run_plan

    with out.bars(console) as bars:

        def rows(done: int, total: int) -> None:
            bars("rows", done, total)

        if args.url is not None:
            token = args.token or _minted(settings, args.district)
            client = HttpClient(args.url, token)
            try:
                return asyncio.run(
                    run_plan(plan, RemoteTarget(client, token), dry_run=args.dry_run, progress=rows)
                )
            except OSError as exc:
                raise _unreachable(args.url, exc) from None
            finally:
                client.close()
        _in_process(settings, IMPORT)
        # the limit on NIK/KK lookups guards the API against an enumerating token; this
        # process holds the secret itself, so its import is not slowed (each lookup is still
        # recorded for the district admin)
        local = settings.model_copy(update={"lookup_rate": "1000000/minute"})
        with embedded_platform(local) as app:
            target = LocalTarget(app, settings.secret)
            report = asyncio.run(run_plan(plan, target, dry_run=args.dry_run, progress=rows))
            if report.written:
                settle(app, bars)
            return report


def _minted(settings: Settings, district: str | None) -> str:
    if district is None:
        raise CliError(
            sentence(
                "dengan --url, berikan --token, atau --district untuk membuat token dari "
                "LUMBUNG_SECRET",
                "with --url, pass --token, or --district to mint one from LUMBUNG_SECRET",
            )
        )
    try:
        return mint_token(
            settings.secret, role=Role.DISTRICT_ADMIN, sub="lumbung-import", district=district
        )
    except ValidationError as exc:  # --district, said as `lumbung token` says it
        raise CliError("; ".join(_claim(error) for error in exc.errors())) from None


# parser -----------------------------------------------------------------------------------
def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            sentence(
                f"tanggal tidak valid, gunakan format TTTT-BB-HH: {text}",
                f"not a valid date, use YYYY-MM-DD: {text}",
            )
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            sentence(
                f"harus bilangan bulat paling sedikit 1: {text}",
                f"must be a whole number of at least 1: {text}",
            )
        )
    return value


def _village(text: str) -> str:
    # ASCII 0-9 only, as tokens and events require: isdigit() alone takes full-width digits
    if len(text) != 10 or not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(
            sentence(
                f"kode desa harus 10 angka: {text}", f"a village code must be 10 digits: {text}"
            )
        )
    return text


def _url(text: str) -> str:
    from shared.demo.transport import http_address

    try:
        http_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# the parser: Bahasa Indonesia first ------------------------------------------------------------
# argparse's own refusals (Python 3.11+), in Bahasa Indonesia; the English follows in brackets
_ARGPARSE_ERRORS = (
    (r"the following arguments are required: (.+)", "argumen berikut wajib diisi: {0}"),
    (r"one of the arguments (.+) is required", "salah satu argumen ini wajib diisi: {0}"),
    (r"unrecognized arguments: (.+)", "argumen tidak dikenal: {0}"),
    (
        r"argument (\S+): invalid choice: (.+) \(choose from (.+)\)",
        "argumen {0}: pilihan tidak sah: {1} (pilih dari {2})",
    ),
    (r"argument (\S+): expected one argument", "argumen {0}: memerlukan satu nilai"),
    (r"argument (\S+): not allowed with argument (\S+)", "argumen {0}: tidak boleh bersama {1}"),
    (r"argument (\S+): invalid (\S+) value: (.+)", "argumen {0}: nilai tidak sah: {2}"),
    (r"argument (\S+): ignored explicit argument (.+)", "argumen {0}: nilai {1} diabaikan"),
    (r"argument (\S+): expected at least one argument", "argumen {0}: memerlukan nilai"),
    (r"argument (\S+): expected (\d+) arguments", "argumen {0}: memerlukan {1} nilai"),
    (r"ambiguous option: (\S+) could match (.+)", "opsi ambigu: {0} bisa berarti {1}"),
)
# an option's own refusal (its type's ArgumentTypeError) is already in both languages:
# "<kalimat>. (<sentence>)"
_OWN_REFUSAL = re.compile(r"argument (\S+): (.+\. \(.+\))", re.DOTALL)


def _indonesian(message: str) -> str:
    for pattern, text in _ARGPARSE_ERRORS:
        if found := re.fullmatch(pattern, message, re.DOTALL):
            return f"{text.format(*found.groups())} ({message})"
    if found := _OWN_REFUSAL.fullmatch(message):
        return f"argumen {found[1]}: {found[2]}"
    return message


class _Formatter(argparse.RawDescriptionHelpFormatter):
    lang = DEFAULT_LANG

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        if prefix is None and self.lang == "id":
            prefix = "cara pakai: "
        super().add_usage(usage, actions, groups, prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that frames its help and usage errors in ``lang``: its arguments go
    into groups titled in that language, and argparse's own refusals are translated."""

    def __init__(self, *args: Any, lang: str = DEFAULT_LANG, **kwargs: Any) -> None:
        formatter = type("Formatter", (_Formatter,), {"lang": lang})
        super().__init__(*args, add_help=False, formatter_class=formatter, **kwargs)
        self.lang = lang
        say = Text("argumen", "arguments").pick(lang), Text("opsi", "options").pick(lang)
        self._titled = self.add_argument_group(say[0]), self.add_argument_group(say[1])
        self._titled[1].add_argument(
            "-h",
            "--help",
            action="help",
            help=Text("tampilkan bantuan ini lalu keluar", "show this help and exit").pick(lang),
        )

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        optional = bool(args) and str(args[0]).startswith("-")
        return self._titled[optional].add_argument(*args, **kwargs)

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return self._titled[1].add_mutually_exclusive_group(**kwargs)

    def add_command(self, sub: Any, name: str, help: Text, description: Text) -> _Parser:
        return sub.add_parser(
            name, help=help.pick(self.lang), description=description.pick(self.lang), lang=self.lang
        )

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        if self.lang == "id":
            self.exit(2, f"{self.prog}: galat: {_indonesian(message)}\n")
        self.exit(2, f"{self.prog}: error: {message}\n")


def _import_options(parser: _Parser, t: Callable[[str, str], str]) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=t("periksa setiap baris tanpa menulis apa pun", "check every row, write nothing"),
    )
    parser.add_argument(
        "--report",
        type=Path,
        help=t(
            "tulis juga galatnya ke berkas ini (.csv atau .json)",
            "also write the errors to this file (.csv, or .json)",
        ),
    )
    parser.add_argument(
        "--district",
        help=t(
            "dengan --url tanpa --token: buat token untuk kabupaten ini",
            "with --url and no --token: mint a token for it",
        ),
    )
    _target_options(parser, t)


def _target_options(parser: _Parser, t: Callable[[str, str], str]) -> None:
    parser.add_argument(
        "--url",
        type=_url,
        help=t(
            "platform yang sedang berjalan (mis. http://127.0.0.1:8000); bawaan: direktori "
            "data tertanam di proses ini (LUMBUNG_DATA_DIR; platform harus dihentikan)",
            "a running platform (e.g. http://127.0.0.1:8000); default: the embedded data "
            "directory in this process (LUMBUNG_DATA_DIR; the platform must be stopped)",
        ),
    )
    parser.add_argument(
        "--token",
        help=t(
            "token bearer untuk --url (bawaan: dibuat dari LUMBUNG_SECRET)",
            "bearer token for --url (default: minted from LUMBUNG_SECRET)",
        ),
    )


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    lang = lang or configured_lang()

    def t(indonesian: str, english: str) -> str:
        return Text(indonesian, english).pick(lang)

    minutes = CODE_MINUTES

    parser = _Parser(
        prog="lumbung",
        description=t(
            "Lumbung — Ekonomi Hijau dari Desa: perintah operator.",
            "Lumbung — Ekonomi Hijau dari Desa: operator commands.",
        ),
        epilog=EPILOG[lang],
        lang=lang,
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar=t("PERINTAH", "COMMAND"),
        title=t("perintah", "commands"),
    )

    run = parser.add_command(
        sub,
        "run",
        Text(
            "jalankan platform tertanam (atau satu layanan)",
            "run the embedded platform (or one service)",
        ),
        Text(
            "Menjalankan platform. Dalam mode tertanam, saat pertama dijalankan pada direktori "
            "data kosong, platform mengisi kabupaten demo terlebih dahulu (kecuali "
            "LUMBUNG_DEMO=off), lalu mencetak tautan masuk sekali pakai untuk admin kabupaten "
            "demo.",
            "Serve the platform. In embedded mode, the first start on an empty data "
            "directory seeds the demo district first (unless LUMBUNG_DEMO=off), and the start "
            "prints a one-time sign-in link for the demo district admin.",
        ),
    )
    run.add_argument(
        "--service",
        help=t(
            "jalankan hanya layanan ini (mode terdistribusi)",
            "run only this service (distributed mode)",
        ),
    )
    run.add_argument(
        "--no-demo",
        action="store_true",
        help=t("jangan isi kabupaten demo", "do not seed the demo district"),
    )
    run.set_defaults(func=_run)

    tok = parser.add_command(
        sub,
        "token",
        Text(
            "buat token bearer dengan cakupan (ditandatangani LUMBUNG_SECRET)",
            "mint a scoped bearer token (signed with LUMBUNG_SECRET)",
        ),
        Text(
            "Mencetak token bearer (JWT, HS256, ditandatangani dengan LUMBUNG_SECRET). Dengan "
            f"--link: tautan masuk dasbor sekali pakai, berlaku {minutes} menit, yang "
            "menampilkan akun mana yang dibukanya dan meminta konfirmasi; sesinya berlaku "
            "--hours.",
            "Print a bearer token (JWT, HS256, signed with LUMBUNG_SECRET). With --link: a "
            f"one-time dashboard sign-in link, valid for {minutes} minutes, that shows whose "
            "account it opens and asks to confirm; its session lasts --hours.",
        ),
    )
    tok.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help=t("peran", "role")
    )
    scope = tok.add_mutually_exclusive_group(required=True)
    scope.add_argument("--district", help=t("kode kabupaten 4 angka", "4-digit district code"))
    scope.add_argument(
        "--village",
        action="append",
        type=_village,
        help=t("kode desa 10 angka (boleh berulang)", "10-digit village code (repeatable)"),
    )
    tok.add_argument(
        "--sub",
        help=t(
            "untuk siapa token ini (bawaan: peran@cakupan)",
            "who the token is for (default: role@scope)",
        ),
    )
    tok.add_argument(
        "--hours", type=_positive, help=t("masa berlaku dalam jam", "lifetime in hours")
    )
    tok.add_argument(
        "--link",
        action="store_true",
        help=t(
            f"cetak tautan masuk dasbor sekali pakai ({minutes} menit), bukan token",
            f"print a one-time dashboard sign-in link ({minutes} minutes) instead of the token",
        ),
    )
    tok.add_argument(
        "--url",
        help=t(
            "alamat dasbor untuk --link (bawaan: http://LUMBUNG_HOST:LUMBUNG_PORT)",
            "the dashboard's address for --link (default: http://LUMBUNG_HOST:LUMBUNG_PORT)",
        ),
    )
    tok.set_defaults(func=_token)

    demo = parser.add_command(
        sub,
        "demo",
        Text(
            "isi kabupaten demo fiktif (provinsi 99) melalui API",
            "seed the fictional demo district (province 99) through the API",
        ),
        Text(
            "Mengisi kabupaten demo fiktif (kabupaten 9901, provinsi 99: bukan data "
            "nyata) dengan desa, rumah tangga, dan riwayat di keempat sektor dari 2023-03 "
            "sampai hari ini, seputar pelatihan 2023-09-29. Seed yang sama selalu memberi data "
            "yang sama; mengisi lagi dengan seed yang sama tidak menambah apa pun.",
            "Seed a fictional demo district (district 9901, province 99: never real "
            "data) with villages, households and history in all four sectors from 2023-03 to "
            "today, around the training of 2023-09-29. The same seed always gives the same "
            "data; seeding again with the same seed adds nothing.",
        ),
    )
    demo.add_argument(
        "--seed", type=int, default=1, help=t("seed acak (bawaan: 1)", "random seed (default: 1)")
    )
    demo.add_argument(
        "--households", type=_positive, default=500, help=t("bawaan: 500", "default: 500")
    )
    demo.add_argument("--villages", type=_positive, default=6, help=t("bawaan: 6", "default: 6"))
    demo.add_argument(
        "--today",
        type=_day,
        help=t(
            "hari terakhir riwayat (bawaan: hari ini)", "last day of the history (default: today)"
        ),
    )
    demo.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        help=t(
            "rumah tangga yang ditulis bersamaan (bawaan: 4)",
            "households written at once (default: 4)",
        ),
    )
    demo.add_argument(
        "--dry-run",
        action="store_true",
        help=t("hitung penulisannya tanpa mengirim apa pun", "count the writes, send nothing"),
    )
    _target_options(demo, t)
    demo.set_defaults(func=_demo)

    rep = parser.add_command(
        sub,
        "replay",
        Text(
            "bangun ulang model baca ketahanan dari log peristiwa",
            "rebuild the resilience read model from the event log",
        ),
        Text(
            "Mengosongkan model baca lalu membangunnya ulang dari awal setiap topik. Dalam mode "
            "tertanam hentikan platform terlebih dahulu (SQLite hanya mengizinkan satu penulis).",
            "Empty the read model and rebuild it from the start of every topic. In "
            "embedded mode stop the platform first (SQLite has one writer).",
        ),
    )
    rep.add_argument(
        "--force",
        action="store_true",
        help=t(
            "putar ulang walaupun ada platform yang menjawab", "replay even if a platform answers"
        ),
    )
    rep.set_defaults(func=_replay)

    imp = parser.add_command(
        sub,
        "import",
        Text(
            "impor rumah tangga, penjualan, berkas sistem penyuluhan, atau ekspor OpenSID",
            "import households, sales, extension-system files or OpenSID exports",
        ),
        Text(
            "Mengimpor berkas melalui API. Setiap baris diperiksa lebih dulu; setiap masalah "
            "dilaporkan sebagai baris (baris judul adalah baris 1), kolom, dan alasan. Mengimpor "
            "baris yang sama lagi tidak menambah apa pun. Kode keluar 1 bila ada baris yang "
            "bermasalah.",
            "Import a file through the API. Every row is checked first; each problem "
            "is reported as line (the header is line 1), field and reason. Importing the same "
            "rows again adds nothing. Exit code 1 when any row has an error.",
        ),
    )
    kinds = imp.add_subparsers(
        dest="kind", required=True, metavar=t("JENIS", "KIND"), title=t("jenis", "kinds")
    )
    for kind, noun, columns in (
        (
            "households",
            Text("rumah tangga", "households"),
            "village_code, members, head_name, kk_number, household_id, occurred_on",
        ),
        (
            "sales",
            Text("penjualan", "sales"),
            "business_id, channel, quantity, unit_price, product_id, occurred_on",
        ),
    ):
        one = imp.add_command(
            kinds,
            kind,
            Text(
                f"{noun.id} dari CSV (kolom: isian permintaan)",
                f"{noun.en} from CSV (columns: the request fields)",
            ),
            Text(
                f"Mengimpor {noun.id} dari berkas CSV yang kolomnya isian permintaan ({columns}).",
                f"Import {noun.en} from a CSV file whose columns are the request fields "
                f"({columns}).",
            ),
        )
        one.add_argument(
            "file",
            type=Path,
            help=t(
                "berkas CSV (UTF-8, baris judul lebih dulu)", "CSV file (UTF-8, header line first)"
            ),
        )
        _import_options(one, t)
        one.set_defaults(func=_import)

    ext = imp.add_command(
        kinds,
        "extension",
        Text(
            "petani, kelompok tani, lahan, kunjungan, atau rencana pupuk (CSV, XLSX, JSON)",
            "farmers, farmer groups, plots, visits or fertiliser plans (CSV, XLSX, JSON)",
        ),
        Text(
            "Mengimpor berkas sistem penyuluhan melalui pemetaan (bawaan: simluhtan, "
            "simluhtan-poktan, simluhtan-kunjungan, erdkk; atau berkas TOML). NIK dicocokkan "
            "dengan rumah tangga registri melalui hash berkunci platform dan tidak pernah "
            "disimpan.",
            "Import an extension system's file through a mapping (shipped: "
            "simluhtan, simluhtan-poktan, simluhtan-kunjungan, erdkk; or a TOML file). NIKs are "
            "matched to registry households by the platform's keyed hash and never stored.",
        ),
    )
    ext.add_argument(
        "file", type=Path, help=t("berkas CSV, XLSX, atau JSON", "CSV, XLSX or JSON file")
    )
    ext.add_argument(
        "--mapping",
        required=True,
        help=t("nama pemetaan bawaan atau berkas .toml", "shipped mapping name or a .toml file"),
    )
    ext.add_argument(
        "--sheet",
        help=t(
            "XLSX: lembar yang dibaca (bawaan: yang pertama)",
            "XLSX: the sheet to read (default: the first)",
        ),
    )
    _import_options(ext, t)
    ext.set_defaults(func=_import_extension)

    sid = imp.add_command(
        kinds,
        "opensid",
        Text(
            "rumah tangga dan anggotanya dari ekspor penduduk (dan keluarga) OpenSID",
            "households and members from OpenSID's penduduk (and keluarga) export",
        ),
        Text(
            "Mendaftarkan rumah tangga satu desa dari ekspor OpenSID (CSV atau XLSX). Nomor KK "
            "dan NIK hanya disimpan sebagai hash berkunci; rumah tangga yang sudah terdaftar "
            "dengan nomor KK-nya diperbarui bila anggotanya berubah, tidak pernah didaftarkan "
            "dua kali.",
            "Register the households of one desa from OpenSID exports (CSV or XLSX). "
            "KK numbers and NIKs are kept only as keyed hashes; a household already registered "
            "under its KK number is updated when its members changed, never registered twice.",
        ),
    )
    sid.add_argument(
        "--penduduk", type=Path, required=True, help=t("ekspor penduduk", "penduduk export")
    )
    sid.add_argument(
        "--keluarga",
        type=Path,
        help=t("ekspor keluarga (tanggal pendaftaran)", "keluarga export (registration days)"),
    )
    sid.add_argument(
        "--village",
        required=True,
        type=_village,
        help=t("kode desa 10 angka", "10-digit village code"),
    )
    sid.add_argument(
        "--mapping",
        default="opensid",
        help=t("bawaan: opensid yang disertakan", "default: the shipped opensid"),
    )
    _import_options(sid, t)
    sid.set_defaults(func=_import_opensid)

    idm = imp.add_command(
        kinds,
        "idm",
        Text(
            "dokumen IDM sebuah desa (JSON 'rumusan' API IDM Kemendesa)",
            "a village's IDM document (Kemendesa IDM API 'rumusan' JSON)",
        ),
        Text(
            "Mencatat Indeks Desa Membangun sebuah desa untuk satu tahun dari JSON yang "
            "dijawab API terbuka IDM Kemendesa (mapData.ROW, SUMMARIES, IDENTITAS). Indeks "
            "setiap bagian diperiksa terhadap skor indikatornya. Galat: baris = posisi baris di "
            "mapData.ROW, 0 untuk dokumen secara keseluruhan (kolom = jalur JSON-nya).",
            "Record a village's Indeks Desa Membangun for one year from the JSON the "
            "Kemendesa IDM open API answers (mapData.ROW, SUMMARIES, IDENTITAS). Section "
            "indices are checked against their indicator scores. Errors: line = the row's "
            "position in mapData.ROW, 0 for the document as a whole (field = its JSON path).",
        ),
    )
    idm.add_argument("file", type=Path, help=t("berkas JSON rumusan", "the rumusan JSON file"))
    idm.add_argument(
        "--village",
        type=_village,
        help=t("kode desa 10 angka (bawaan: id_desa)", "10-digit village code (default: id_desa)"),
    )
    _import_options(idm, t)
    idm.set_defaults(func=_import_idm)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"lumbung {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
