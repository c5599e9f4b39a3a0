"""`lumbung import idm`: a village's IDM document, as the Kemendesa IDM open API answers it.

The input is the JSON of ``https://idm.kemendesa.go.id/open/api/desa/rumusan/<desa>/<tahun>``:
``mapData.ROW`` holds one row per indicator (``NO``, ``INDIKATOR``, ``SKOR`` 0-5,
``KETERANGAN``, ``KEGIATAN``, ``NILAI``, ...) with a closing row per section (``IKS 2024``,
``IKE 2024``, ``IKL 2024``: the section's index), then ``IDM 2024`` and ``STATUS IDM 2024``;
``mapData.SUMMARIES`` holds ``SKOR_SAAT_INI``, ``STATUS``, ``TARGET_STATUS`` and ``TAHUN``;
``mapData.IDENTITAS`` names the desa (``id_desa``).

Everything is checked before anything is sent: each section index must be what its
indicators give (sum of scores / (5 x indicators)), the IDM score the mean of the three,
the year and the desa consistent. The document is recorded whole or not at all.

Error report, JSON edition: the files are usually one line, so ``line`` is the indicator
row's position in ``mapData.ROW`` (1 = the first row) and ``field`` its key (``SKOR``);
problems of the document as a whole are on line 0 with the JSON path as field
(``mapData.SUMMARIES.TAHUN``). Re-importing the same document adds nothing (one record per
village and year; the call carries an Idempotency-Key from its content).
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.importer import Call, Plan, Planned, RowError, village_ref

DOCUMENT_LINE = 0
TOLERANCE = 0.001
SECTIONS = ("IKS", "IKE", "IKL")
STATUSES = {
    "sangat tertinggal": "sangat_tertinggal",
    "tertinggal": "tertinggal",
    "berkembang": "berkembang",
    "maju": "maju",
    "mandiri": "mandiri",
}
_TOTAL = re.compile(r"^\s*(IKS|IKE|IKL|IDM|STATUS IDM)\s+([0-9]{4})\s*$", re.IGNORECASE)


def _status(value: Any) -> str | None:
    return STATUSES.get(" ".join(str(value).split()).lower()) if value is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


class _Reader:
    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.scores: dict[str, list[int]] = {s: [] for s in SECTIONS}
        self.totals: dict[str, float] = {}
        self.years: set[int] = set()
        self.status: str | None = None

    def error(self, line: int, field: str, reason: str) -> None:
        self.errors.append(RowError(line, field, reason))

    def rows(self, rows: list[Any]) -> None:
        section = 0
        for line, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                self.error(line, "(row)", "not an object")
                continue
            name = row.get("INDIKATOR")
            total = _TOTAL.match(name) if isinstance(name, str) else None
            if total is not None and row.get("NO") is None:
                self.total(line, total.group(1).upper(), int(total.group(2)), row.get("SKOR"))
                if total.group(1).upper() in SECTIONS:
                    section += 1
                continue
            if section >= len(SECTIONS):
                self.error(
                    line,
                    "INDIKATOR",
                    "indikator sesudah baris IKL (an indicator after the IKL row)",
                )
                continue
            self.indicator(line, row, SECTIONS[section])

    def indicator(self, line: int, row: dict[str, Any], section: str) -> None:
        if not isinstance(row.get("INDIKATOR"), str) or not row["INDIKATOR"].strip():
            self.error(line, "INDIKATOR", "indikator tanpa nama (the indicator has no name)")
        score = row.get("SKOR")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 5:
            self.error(
                line,
                "SKOR",
                f"harus skor bulat 0 sampai 5, bukan {score!r} (must be a whole score from 0 to 5)",
            )
            return
        self.scores[section].append(score)

    def total(self, line: int, kind: str, year: int, value: Any) -> None:
        self.years.add(year)
        if kind == "STATUS IDM":
            self.status = _status(value)
            if self.status is None:
                self.error(
                    line, "SKOR", f"status IDM tidak dikenal: {value!r} (unknown IDM status)"
                )
            return
        number = _number(value)
        if number is None or not 0 <= number <= 1:
            self.error(
                line,
                "SKOR",
                f"{kind} harus angka 0 sampai 1, bukan {value!r} (must be a number from 0 to 1)",
            )
            return
        if kind in self.totals:
            self.error(line, "INDIKATOR", f"{kind} muncul dua kali (appears twice)")
            return
        self.totals[kind] = number
        scores = self.scores.get(kind)
        if scores is None:
            return
        if not scores:
            self.error(
                line,
                "SKOR",
                f"{kind} tanpa baris indikator sebelumnya (has no indicator rows before it)",
            )
            return
        given = sum(scores) / (5 * len(scores))
        if abs(given - number) > TOLERANCE:
            self.error(
                line,
                "SKOR",
                f"{kind} {number:.4f} berbeda dari {len(scores)} indikatornya ({given:.4f}) "
                f"(differs from its indicators)",
            )


def _doc_error(errors: list[RowError], field: str, reason: str) -> None:
    errors.append(RowError(DOCUMENT_LINE, field, reason))


def plan_idm(text: str, village_code: str | None) -> Plan:
    """The plan of one IDM document: one call, or the row-level errors that prevent it."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        error = RowError(
            DOCUMENT_LINE, "(file)", f"bukan JSON: {exc.msg} di baris {exc.lineno} (not JSON)"
        )
        return Plan("idm", 0, [], [error])
    data = document.get("mapData") if isinstance(document, dict) else None
    rows = data.get("ROW") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        error = RowError(
            DOCUMENT_LINE,
            "mapData.ROW",
            "tidak ada: bukan jawaban rumusan IDM (missing: not an IDM rumusan answer)",
        )
        return Plan("idm", 0, [], [error])
    reader = _Reader()
    reader.rows(rows)
    errors = reader.errors
    for kind in (*SECTIONS, "IDM"):
        if kind not in reader.totals and not any(e.reason.startswith(kind) for e in errors):
            _doc_error(errors, "mapData.ROW", f"tidak ada baris {kind} (no {kind} row)")
    summaries = data.get("SUMMARIES") if isinstance(data.get("SUMMARIES"), dict) else {}
    year = summaries.get("TAHUN")
    if isinstance(year, str) and year.isdigit():
        year = int(year)
    if not isinstance(year, int) or isinstance(year, bool):
        _doc_error(
            errors, "mapData.SUMMARIES.TAHUN", f"harus tahun, bukan {year!r} (must be a year)"
        )
    elif reader.years - {year}:
        found = ", ".join(map(str, sorted(reader.years)))
        _doc_error(
            errors,
            "mapData.SUMMARIES.TAHUN",
            f"{year}, padahal baris-barisnya {found} (the rows say otherwise)",
        )
    status = _status(summaries.get("STATUS"))
    if status is None:
        _doc_error(
            errors,
            "mapData.SUMMARIES.STATUS",
            f"tidak dikenal: {summaries.get('STATUS')!r} (unknown)",
        )
    elif reader.status is not None and reader.status != status:
        _doc_error(
            errors,
            "mapData.SUMMARIES.STATUS",
            f"berbeda dari baris-barisnya ({reader.status}) (differs from the rows)",
        )
    target = summaries.get("TARGET_STATUS")
    target_status = _status(target) if target not in (None, "") else None
    if target not in (None, "") and target_status is None:
        _doc_error(
            errors, "mapData.SUMMARIES.TARGET_STATUS", f"tidak dikenal: {target!r} (unknown)"
        )
    score = _number(summaries.get("SKOR_SAAT_INI"))
    if all(k in reader.totals for k in SECTIONS):
        mean = sum(reader.totals[k] for k in SECTIONS) / 3
        for field, value in (
            ("mapData.SUMMARIES.SKOR_SAAT_INI", score),
            ("IDM", reader.totals.get("IDM", mean)),
        ):
            if value is None or abs(value - mean) > TOLERANCE:
                _doc_error(
                    errors,
                    field,
                    f"{value!r} bukan rerata IKS, IKE, IKL ({mean:.4f}) (not their mean)",
                )
    identity = data.get("IDENTITAS")
    first = identity[0] if isinstance(identity, list) and identity else None
    desa = first.get("id_desa") if isinstance(first, dict) else None
    if identity is not None and not isinstance(first, dict):
        _doc_error(
            errors,
            "mapData.IDENTITAS",
            "harus daftar objek dengan id_desa (must be a list of objects with id_desa)",
        )
    code = village_code or (str(desa) if desa is not None else None)
    if code is None:
        _doc_error(
            errors,
            "--village",
            "berikan --village: dokumen tidak menyebut desa (the document names no desa)",
        )
    elif desa is not None and str(desa) != code:
        _doc_error(
            errors,
            "mapData.IDENTITAS.id_desa",
            f"{desa}, bukan desa {code} (not the village given)",
        )
    errors.sort(key=lambda e: (e.line, e.field))
    if errors or code is None:
        return Plan("idm", len(rows), [], errors)
    body = {
        "year": year,
        **{k.lower(): round(reader.totals[k], 6) for k in SECTIONS},
        "score": round(score or 0.0, 6),
        "status": status,
        "target_status": target_status,
        "indicators": sum(len(s) for s in reader.scores.values()),
    }
    # The route records a year once and answers unchanged values without a new event; a
    # corrected (or reverted) revision must reach it, not replay an earlier answer: no key.
    call = Call("idm", "POST", f"/registry/villages/{code}/idm", body, keyed=False)
    item = Planned(DOCUMENT_LINE, [village_ref(code, "--village")], lambda _answer: [call])
    return Plan("idm", len(rows), [item], [])
