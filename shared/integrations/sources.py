"""Tables from CSV, XLSX or JSON files, each row with the line a person finds it on.

CSV: the header is line 1 and a row's line is where its record starts (a quoted cell may
span lines); ``;`` is taken as the delimiter when the header has no ``,`` (spreadsheets
saved with an Indonesian locale). XLSX: the first sheet (or ``sheet``), the header in row 1,
the line is the sheet's row number. JSON: an array of objects (or an object holding one
array); the line is the text line where the object starts, and the header the keys in order
of first use. Cells are text; a number typed into a spreadsheet or JSON is remembered, so a
16-digit NIK that Excel has already cut to 15 significant digits can be refused by name.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.integrations.messages import bilingual

HEADER_LINE = 1
NOT_AN_OBJECT = bilingual("bukan objek JSON", "not a JSON object")


class SourceError(ValueError):
    """The file cannot be read as a table at all (wrong format, broken JSON, no sheet)."""


@dataclass
class Record:
    line: int
    cells: list[str]
    numeric: set[str] = field(default_factory=set)  # columns whose value was a number
    problem: str = ""  # the record as a whole cannot be read (a JSON item that is no object)


@dataclass
class Table:
    header: list[str]
    records: list[Record]
    ragged: bool = True  # CSV rows can have a wrong number of cells; sheets and JSON cannot


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet)
    text = path.read_bytes().decode("utf-8-sig")
    if suffix == ".json":
        return read_json(text)
    return read_csv(text)


def read_csv(text: str) -> Table:
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    records: list[Record] = []
    last_line = HEADER_LINE
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        if any(c.strip() for c in cells):
            records.append(Record(line, [c.strip() for c in cells]))
    return Table(header, records)


def _cell(value: Any) -> tuple[str, bool]:
    """The text of a cell, and whether it was a number."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value).lower(), False
    if isinstance(value, datetime):
        return value.date().isoformat(), False
    if isinstance(value, date):
        return value.isoformat(), False
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), True
    if isinstance(value, int | float):
        return str(value), True
    return str(value).strip(), False


def _record(line: int, header: list[str], values: list[Any]) -> Record | None:
    cells, numeric = [], set()
    for name, value in zip(header, values, strict=False):
        text, is_number = _cell(value)
        cells.append(text)
        if is_number:
            numeric.add(name)
    cells += [""] * (len(header) - len(cells))
    return Record(line, cells, numeric) if any(cells) else None


def read_xlsx(path: Path, sheet: str | None = None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors
        raise SourceError(
            bilingual("bukan buku kerja XLSX", f"not an XLSX workbook: {type(exc).__name__}")
        ) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(
                bilingual(
                    f"tidak ada lembar {sheet!r}; lembar yang ada: {', '.join(book.sheetnames)}",
                    "no such sheet",
                )
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [_cell(v)[0] for v in next(rows, ())]
        while header and not header[-1]:
            header.pop()
        records = [
            r
            for n, values in enumerate(rows, start=HEADER_LINE + 1)
            if (r := _record(n, header, list(values))) is not None
        ]
    finally:
        book.close()
    return Table(header, records, ragged=False)


def _json_objects(text: str) -> list[tuple[int, Any]]:
    """The array's items with the line each starts on."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SourceError(bilingual("bukan JSON", f"not JSON: {exc}")) from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise SourceError(
                bilingual(
                    "objek JSON harus berisi tepat satu larik rekaman",
                    "a JSON object must hold exactly one array of records",
                )
            )
    elif not isinstance(data, list):
        raise SourceError(
            bilingual("JSON harus berupa larik rekaman", "JSON must be an array of records")
        )
    decoder = json.JSONDecoder()
    start = text.index("[")
    if isinstance(data, dict):  # the one array inside the object
        key = next(k for k, v in data.items() if isinstance(v, list))
        start = text.index("[", text.index(json.dumps(key)))
    items: list[tuple[int, Any]] = []
    pos = start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return items
        value, end = decoder.raw_decode(text, pos)
        items.append((text.count("\n", 0, pos) + 1, value))
        pos = end


def read_json(text: str) -> Table:
    items = _json_objects(text)
    header: list[str] = []
    for _, item in items:
        if isinstance(item, dict):
            header += [str(k) for k in item if str(k) not in header]
    records: list[Record] = []
    for line, item in items:
        if not isinstance(item, dict):
            records.append(Record(line, [""] * len(header), problem=NOT_AN_OBJECT))
            continue
        values = [item.get(name) for name in header]
        record = _record(line, header, values)
        if record is not None:
            records.append(record)
    return Table(header, records, ragged=False)
