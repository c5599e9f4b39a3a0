"""The summaries the commands end with (demo, replay, import): Bahasa Indonesia first,
English in brackets."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from shared.demo.console import grid, summary
from shared.demo.model import DISTRICT_CODE, DemoConfig
from shared.demo.scenario import generate, plan_villages
from shared.integrations.messages import bilingual, sentence

if TYPE_CHECKING:
    from services.aggregator.replay import ReplayResult
    from shared.demo.seed import SeedReport
    from shared.importer import ImportReport

# service -> (Bahasa Indonesia, English)
SECTORS = (
    ("registry", ("Registrasi", "registry")),
    ("training", ("Pelatihan", "training")),
    ("commerce", ("UMKM", "small businesses")),
    ("agriculture", ("Pertanian", "farming")),
    ("livestock", ("Peternakan", "livestock")),
)
SHOWN_FAILURES = 10
DRY_RUN = bilingual("Uji coba: tidak ada yang disimpan", "dry run: nothing was written")


def _district_rows(config: DemoConfig) -> list[tuple[str, object]]:
    villages = plan_villages(config)
    return [
        (
            bilingual("Kabupaten fiktif, provinsi 99", "fictional district, province 99"),
            DISTRICT_CODE,
        ),
        (bilingual("Desa", "villages"), len(villages)),
        (bilingual("Rumah tangga", "households"), config.households),
        (bilingual("Peserta pelatihan", "trainees"), sum(len(v.trainees) for v in villages)),
        (bilingual("Riwayat", "history"), f"2023-03 .. {config.today:%Y-%m}"),
        (bilingual("Benih acak", "seed"), config.seed),
    ]


def print_sizes(console: Console, config: DemoConfig) -> None:
    """What a seed would write, without writing (``lumbung demo --dry-run``)."""
    started = time.perf_counter()
    by_service: Counter[str] = Counter()
    for command in generate(config):
        by_service[command.service] += 1
    rows = _district_rows(config)
    rows += [(bilingual(*label), by_service[service]) for service, label in SECTORS]
    rows += [(bilingual("Jumlah penulisan", "writes, total"), sum(by_service.values()))]
    rows += [
        (bilingual("Detik membuat data", "seconds to generate"), time.perf_counter() - started)
    ]
    console.print(summary(bilingual("Kabupaten demo", "demo district"), rows))
    console.print(DRY_RUN)


def print_seed_report(console: Console, config: DemoConfig, report: SeedReport) -> None:
    send = report.send
    rows = _district_rows(config)
    rows += [
        (bilingual(f"{indonesian}: penulisan", f"{english}: writes"), send.by_service[service])
        for service, (indonesian, english) in SECTORS
    ]
    rows += [
        (bilingual("Ditulis sekarang", "written now"), send.written),
        (bilingual("Sudah ada", "already there, replayed"), send.replayed),
        (bilingual("Gagal", "failed"), send.failed),
        (bilingual("Detik: menulis", "seconds: writing"), send.seconds),
        (bilingual("Penulisan per detik", "writes per second"), send.rate),
    ]
    settled = report.settled
    if settled is not None:
        rows += [
            (bilingual("Peristiwa diterbitkan", "events published"), settled.published),
            (bilingual("Peristiwa diagregasi", "events aggregated"), settled.aggregated),
            (
                bilingual("Desa dengan tampilan baru", "villages with fresh views"),
                settled.villages_rebuilt,
            ),
            (bilingual("Detik: menerbitkan", "seconds: publishing"), settled.publish_seconds),
            (
                bilingual("Detik: menyusun tampilan", "seconds: aggregating"),
                settled.aggregate_seconds,
            ),
        ]
    rows += [(bilingual("Detik: total", "seconds: total"), report.seconds)]
    console.print(summary(bilingual("Kabupaten demo sudah diisi", "demo district seeded"), rows))
    if send.failures:
        failures = [
            (c.method, c.path, r.status, _detail(r.body)) for c, r in send.failures[:SHOWN_FAILURES]
        ]
        console.print(
            grid(
                bilingual(
                    f"Penulisan gagal, {len(failures)} pertama",
                    f"failed writes, first {len(failures)}",
                ),
                [
                    bilingual("metode", "method"),
                    bilingual("jalur", "path"),
                    bilingual("kode status", "status"),
                    bilingual("rincian", "detail"),
                ],
                failures,
            )
        )
    if settled is None:
        console.print(
            sentence(
                "Agregator platform sedang memperbarui tampilannya",
                "the platform's aggregator is bringing its views up to date",
            )
        )


def _detail(body: object) -> str:
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)


def print_replay(console: Console, result: ReplayResult) -> None:
    rows = [
        (bilingual("Peristiwa diputar ulang", "events replayed"), result.events),
        (bilingual("Pesan tak terproses", "dead letters"), result.dead_letters),
        (bilingual("Desa dibangun ulang", "villages rebuilt"), result.villages),
        (bilingual("Detik", "seconds"), result.seconds),
        (bilingual("Peristiwa per detik", "events per second"), result.rate),
    ]
    title = bilingual("Model baca dibangun ulang", "read model rebuilt by replay")
    console.print(summary(title, rows))


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
    """The import's summary, Bahasa Indonesia first with English in brackets."""
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
        console.print(DRY_RUN)


def _new_and_already(label: str) -> str:
    indonesian, english = RECORDS.get(label, (label, label))
    return "  " + bilingual(f"{indonesian}: baru / sudah ada", f"{english}: new / already there")
