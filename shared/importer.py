"""`lumbung import`: households or sales from a CSV file, through the public API.

Every row is checked first, with the very request models the routes use, then against what
exists (the village is registered, the business exists). Each problem is reported as
(line, field, reason), counting the header as line 1. A dry run stops there and writes
nothing; otherwise the valid rows are sent, each with an Idempotency-Key derived from the
row's content (and how many identical rows came before it in the file), so importing the
same rows again -- even from a corrected or reordered file -- adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from services.commerce.models import SaleCreate
from services.registry.models import HouseholdCreate
from shared.demo.transport import Client, Reply
from shared.events.catalogue import Id

HEADER_LINE = 1
ROW = "(row)"
_ID = TypeAdapter(Id)
_DATE = TypeAdapter(date)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class Kind:
    """One importable CSV: its request model and the columns that go into the path."""

    name: str
    model: type[BaseModel]
    path: Callable[[dict[str, str]], str]
    path_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.path_columns, *self.model.model_fields)

    @property
    def required(self) -> tuple[str, ...]:
        fields = self.model.model_fields
        return (*self.path_columns, *(n for n, f in fields.items() if f.is_required()))


KINDS: dict[str, Kind] = {
    "households": Kind("households", HouseholdCreate, lambda _row: "/registry/households"),
    "sales": Kind(
        "sales",
        SaleCreate,
        lambda row: f"/commerce/businesses/{row['business_id']}/sales",
        ("business_id",),
    ),
}


@dataclass
class Row:
    line: int
    path: str
    body: dict[str, Any]
    key: str
    ref: str  # the village (households) or business (sales) it needs


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def error_rows(self) -> int:
        return len({e.line for e in self.errors if e.line != HEADER_LINE})

    @property
    def valid(self) -> int:
        return self.rows - self.error_rows


def _key(kind: str, path: str, body: dict[str, Any], nth: int) -> str:
    canonical = json.dumps([kind, path, body, nth], sort_keys=True, default=str)
    return f"import-{kind}-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query")]
    return ".".join(parts) or ROW


def parse(kind: Kind, text: str, today: date | None = None) -> tuple[list[Row], list[RowError]]:
    """Valid rows and the errors of the others; header problems stop at line 1."""
    today = today or date.today()
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    errors = _header_errors(kind, header)
    if errors:
        return [], errors
    rows: list[Row] = []
    said: dict[str, int] = {}
    last_line = HEADER_LINE
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            reason = f"expected {len(header)} fields, found {len(cells)}"
            errors.append(RowError(line, ROW, reason))
            continue
        values = {h: c.strip() for h, c in zip(header, cells, strict=True) if c.strip()}
        row_errors, row = _validate(kind, line, values, today)
        errors.extend(row_errors)
        if row is not None:
            fingerprint = json.dumps([row.path, row.body], sort_keys=True)
            nth = said[fingerprint] = said.get(fingerprint, -1) + 1
            row.key = _key(kind.name, row.path, row.body, nth)
            rows.append(row)
    return rows, errors


def _header_errors(kind: Kind, header: list[str]) -> list[RowError]:
    if not any(header):
        return [RowError(HEADER_LINE, ROW, "the file is empty: a header line is required")]
    errors = [
        RowError(HEADER_LINE, name, f"unknown column (columns: {', '.join(kind.columns)})")
        for name in header
        if name not in kind.columns
    ]
    errors += [
        RowError(HEADER_LINE, name, "column appears twice")
        for name in sorted({h for h in header if header.count(h) > 1})
    ]
    errors += [
        RowError(HEADER_LINE, name, "required column is missing")
        for name in kind.required
        if name not in header
    ]
    return errors


def _validate(
    kind: Kind, line: int, values: dict[str, str], today: date
) -> tuple[list[RowError], Row | None]:
    errors: list[RowError] = []
    for column in kind.path_columns:
        try:
            _ID.validate_python(values[column])
        except KeyError:
            errors.append(RowError(line, column, "Field required"))
        except ValidationError as exc:
            errors.append(RowError(line, column, exc.errors()[0]["msg"]))
    body_values = {k: v for k, v in values.items() if k not in kind.path_columns}
    model: BaseModel | None = None
    try:
        model = kind.model.model_validate(body_values)
    except ValidationError as exc:
        errors += [RowError(line, _field(e["loc"]), e["msg"]) for e in exc.errors()]
    if _in_future(values.get("occurred_on"), today):
        errors.append(RowError(line, "occurred_on", "must not be in the future"))
    if errors or model is None:
        return errors, None
    body = model.model_dump(mode="json", exclude_none=True)
    ref = values["business_id"] if "business_id" in kind.path_columns else body["village_code"]
    return [], Row(line, kind.path(values), body, "", ref)


def _in_future(value: str | None, today: date) -> bool:
    try:
        return value is not None and _DATE.validate_python(value) > today
    except ValidationError:
        return False  # the model reports the malformed date


class Target(Protocol):
    """Where rows go: the embedded platform in this process, or a running one."""

    client: Client

    async def check(self, kind: Kind, ref: str) -> tuple[str, str] | None:
        """(field, reason) when the referenced village or business cannot take the row."""

    def token_for(self, kind: Kind, ref: str) -> str | None:
        """The token to write with (None: the client's own)."""


def problem_errors(line: int, reply: Reply) -> list[RowError]:
    body = reply.body if isinstance(reply.body, dict) else {}
    listed = body.get("errors") or []
    if listed:
        return [RowError(line, _field(e.get("loc", [])), str(e.get("msg", ""))) for e in listed]
    detail = body.get("detail") or body.get("title") or str(reply.body or "")
    return [RowError(line, ROW, f"HTTP {reply.status}: {detail}".strip())]


async def run_import(
    kind: Kind,
    text: str,
    target: Target,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> ImportReport:
    rows, errors = parse(kind, text)
    report = ImportReport(kind.name, dry_run=dry_run, errors=errors)
    report.rows = len(rows) + len({e.line for e in errors if e.line != HEADER_LINE})
    checked: dict[str, tuple[str, str] | None] = {}
    ready: list[Row] = []
    for row in rows:
        if row.ref not in checked:
            checked[row.ref] = await target.check(kind, row.ref)
        problem = checked[row.ref]
        if problem is None:
            ready.append(row)
        else:
            report.errors.append(RowError(row.line, *problem))
    if not dry_run:
        for done, row in enumerate(ready, start=1):
            reply = await target.client.request(
                "POST", row.path, row.body, key=row.key, token=target.token_for(kind, row.ref)
            )
            if reply.ok and reply.replayed:
                report.skipped += 1
            elif reply.ok:
                report.imported += 1
            else:
                report.errors.extend(problem_errors(row.line, reply))
            progress(done, len(ready))
    report.errors.sort(key=lambda e: (e.line, e.field))
    return report


def read_text(path: Path) -> str:
    """The file as text (UTF-8, with or without a byte-order mark)."""
    return path.read_bytes().decode("utf-8-sig")


def write_report(report: ImportReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "field", "reason"])
        writer.writerows((e.line, e.field, e.reason) for e in report.errors)


class ImportAborted(RuntimeError):
    """The target refused the import as a whole (bad token, unreachable platform)."""


REFERENCES = {  # kind -> (column, what is missing, GET path template)
    "households": ("village_code", "village is not registered", "/registry/villages/{}"),
    "sales": ("business_id", "business not found", "/commerce/businesses/{}"),
}


class LocalTarget:
    """The embedded platform in this process: per-district tokens, references read locally."""

    SUB = "lumbung-import"

    def __init__(self, app: Any, secret: str) -> None:
        from shared.demo.transport import AsgiClient

        self.store = app.state.runtime.store
        self.client: Client = AsgiClient(app, "")
        self.secret = secret
        self._district: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    async def check(self, kind: Kind, ref: str) -> tuple[str, str] | None:
        from services.commerce.routes import BUSINESSES
        from services.registry.routes import VILLAGES

        column, missing, _ = REFERENCES[kind.name]
        doc = self.store.get(VILLAGES if kind.name == "households" else BUSINESSES, ref)
        if doc is None:
            return column, missing
        self._district[ref] = doc["district_code"]
        return None

    def token_for(self, kind: Kind, ref: str) -> str | None:
        from shared.auth import Role, mint_token

        district = self._district[ref]
        if district not in self._tokens:
            self._tokens[district] = mint_token(
                self.secret, role=Role.DISTRICT_ADMIN, sub=self.SUB, district=district
            )
        return self._tokens[district]


class RemoteTarget:
    """A running platform: references checked with GETs under the operator's token."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def check(self, kind: Kind, ref: str) -> tuple[str, str] | None:
        column, missing, path = REFERENCES[kind.name]
        reply = await self.client.request("GET", path.format(ref))
        if reply.ok:
            return None
        if reply.status == 401:
            raise ImportAborted("the platform refused the token (401): check --token")
        if reply.status == 404:
            return column, missing
        if reply.status == 403:
            return column, "outside the token's scope"
        return column, f"cannot check it: HTTP {reply.status}"

    def token_for(self, kind: Kind, ref: str) -> str | None:
        return None
