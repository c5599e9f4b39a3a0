"""The summaries the commands end with: seeding and replay in English with Indonesian in
brackets; imports (read by village operators) in Bahasa Indonesia with English in brackets."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from shared.demo.console import grid, summary
from shared.demo.model import DISTRICT_CODE, DemoConfig
from shared.demo.scenario import generate, plan_villages
from shared.integrations.messages import bilingual

if TYPE_CHECKING:
    from services.aggregator.replay import ReplayResult
    from shared.demo.seed import SeedReport
    from shared.importer import ImportReport

SECTORS = (
    ("registry", "Registry (registrasi)"),
    ("training", "Training (pelatihan)"),
    ("commerce", "UMKM (usaha)"),
    ("agriculture", "Farming (pertanian)"),
    ("livestock", "Livestock (peternakan)"),
)
SHOWN_FAILURES = 10


def _district_rows(config: DemoConfig) -> list[tuple[str, object]]:
    villages = plan_villages(config)
    return [
        ("District (kabupaten)", f"{DISTRICT_CODE} (fictional, province 99)"),
        ("Villages (desa)", len(villages)),
        ("Households (rumah tangga)", config.households),
        ("Trainees (peserta)", sum(len(v.trainees) for v in villages)),
        ("History", f"2023-03 .. {config.today:%Y-%m}"),
        ("Seed", config.seed),
    ]


def print_sizes(console: Console, config: DemoConfig) -> None:
    """What a seed would write, without writing (``lumbung demo --dry-run``)."""
    started = time.perf_counter()
    by_service: Counter[str] = Counter()
    for command in generate(config):
        by_service[command.service] += 1
    rows = _district_rows(config)
    rows += [(label, by_service[service]) for service, label in SECTORS]
    rows += [("Writes (total)", sum(by_service.values()))]
    rows += [("Seconds to generate", time.perf_counter() - started)]
    console.print(summary("Demo district (dry run: nothing written)", rows))


def print_seed_report(console: Console, config: DemoConfig, report: SeedReport) -> None:
    send = report.send
    rows = _district_rows(config)
    rows += [(f"{label}: writes", send.by_service[service]) for service, label in SECTORS]
    rows += [
        ("Written now", send.written),
        ("Already there (replayed)", send.replayed),
        ("Failed", send.failed),
        ("Seconds: writing", send.seconds),
        ("Writes per second", send.rate),
    ]
    settled = report.settled
    if settled is not None:
        rows += [
            ("Events published", settled.published),
            ("Events aggregated", settled.aggregated),
            ("Villages with fresh views", settled.villages_rebuilt),
            ("Seconds: publishing", settled.publish_seconds),
            ("Seconds: aggregating", settled.aggregate_seconds),
        ]
    rows += [("Seconds: total", report.seconds)]
    console.print(summary("Demo district seeded (data demo)", rows))
    if send.failures:
        failures = [
            (c.method, c.path, r.status, _detail(r.body)) for c, r in send.failures[:SHOWN_FAILURES]
        ]
        console.print(
            grid(
                f"Failed writes (first {len(failures)})",
                ["method", "path", "status", "detail"],
                failures,
            )
        )
    if settled is None:
        console.print("The platform's aggregator is bringing its views up to date.")


def _detail(body: object) -> str:
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)


def print_replay(console: Console, result: ReplayResult) -> None:
    rows = [
        ("Events replayed", result.events),
        ("Dead letters", result.dead_letters),
        ("Villages rebuilt", result.villages),
        ("Seconds", result.seconds),
        ("Events per second", result.rate),
    ]
    console.print(summary("Read model rebuilt (replay)", rows))


# what an import records, by Call.label: (Bahasa Indonesia, English)
RECORDS = {
    "households": ("Rumah tangga", "households"),
    "households_updated": ("Rumah tangga diperbarui", "households updated"),
    "sales": ("Penjualan", "sales"),
    "farmer_groups": ("Kelompok tani", "farmer groups"),
    "group_members": ("Anggota kelompok tani", "group members"),
    "plots": ("Lahan", "plots"),
    "extension_visits": ("Kunjungan penyuluhan", "extension visits"),
    "input_plans": ("Rencana pupuk", "fertiliser plans"),
    "idm": ("IDM", "village index"),
}


def print_import(console: Console, file: Path, report: ImportReport) -> None:
    """The import's summary, Bahasa Indonesia first with English in brackets (the
    other commands' summaries are still English first)."""
    if report.errors:
        columns = [bilingual("baris", "line"), bilingual("kolom", "field")]
        columns += [bilingual("alasan", "reason")]
        if any(e.file for e in report.errors):
            rows = [(e.file, e.line, e.field, e.reason) for e in report.errors]
            columns = [bilingual("berkas", "file"), *columns]
        else:
            rows = [(e.line, e.field, e.reason) for e in report.errors]
        console.print(grid(f"Galat di {file.name} (errors)", columns, rows))
    records = [
        (_new_and_already(label), f"{report.written[label]} / {report.already[label]}")
        for label in sorted({*report.written, *report.already})
    ]
    console.print(
        summary(
            f"Impor {report.kind} dari {file.name} (import)",
            [
                (bilingual("Baris", "rows"), report.rows),
                (bilingual("Baris sah", "valid rows"), report.valid),
                (bilingual("Diimpor", "imported"), report.imported),
                (bilingual("Sudah ada", "already there"), report.skipped),
                (bilingual("Baris dengan galat", "rows with errors"), report.error_rows),
                *records,
            ],
        )
    )
    if report.dry_run:
        console.print(
            bilingual("Uji coba: tidak ada yang disimpan", "dry run: nothing was written")
        )


def _new_and_already(label: str) -> str:
    indonesian, english = RECORDS.get(label, (label, label))
    return "  " + bilingual(f"{indonesian}: baru / sudah ada", f"{english}: new / already there")
