"""`lumbung import`: rows of a file become requests to the public API, checked first.

One engine serves every import (``households``/``sales`` CSV, the mapping-driven extension
imports and OpenSID): a *plan* turns each source row into a ``Planned`` item -- the records
it needs to exist (``Ref``), an optional household lookup by NIK or KK number, and the calls
it makes once the household is known. Every problem is reported as (line, field, reason),
the header being line 1; a dry run checks everything, the lookups included, and writes
nothing.

Idempotency: every call carries an Idempotency-Key derived from its content (and how many
identical calls came before it in the run), so importing the same rows again adds nothing.
A call whose body holds a NIK, a KK number or a name gets a *keyed* key (HMAC with the
operator's secret: ``LUMBUNG_SECRET`` in process, the bearer token over HTTP), never a
plain hash of those numbers, which a 16-digit number would not survive. Across tokens,
households are recognised by the server instead (by the keyed hash of their KK number),
and records with an id of their own (farmer groups, plots) are looked up before they are
posted.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from services.commerce.models import SaleCreate
from services.registry.models import HouseholdCreate
from shared.demo.transport import Client, Reply
from shared.events.catalogue import Id
from shared.integrations.messages import (
    FUTURE,
    NO_HOUSEHOLD,
    bilingual,
    missing,
    reason,
    sentence,
)
from shared.integrations.sources import HEADER_LINE, Record, Table, read_csv

ROW = "(row)"
MATCH_PATH = "/registry/households/match"
PERSONAL_FIELDS = ("kk_number", "member_niks", "head_name", "nik")
_ID = TypeAdapter(Id)
_DATE = TypeAdapter(date)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str
    file: str = ""  # which file, when an import reads several (OpenSID)


@dataclass(frozen=True)
class Ref:
    """A record a row needs to exist: checked once per run (and per dry run)."""

    field: str
    collection: str
    doc_id: str
    path: str
    missing: str


@dataclass(frozen=True)
class Lookup:
    """Find the row's household on the server by a member's NIK or its KK number."""

    field: str
    body: dict[str, Any]
    required: bool = True
    missing: str = NO_HOUSEHOLD


@dataclass(frozen=True)
class Call:
    label: str  # what it records, for the summary ("households", "plots", ...)
    method: str
    path: str
    body: dict[str, Any]
    exists_path: str | None = None  # a GET answering 200 when the record is already there
    # False for a call that sets absolute values the server compares with what it holds
    # (a household's members, a village's IDM year): sending it twice is harmless, while a
    # key derived from the body would replay an earlier answer when a value returns to one
    # it had before (members with Dede, without, with again), leaving the record stale.
    keyed: bool = True


@dataclass
class Planned:
    line: int
    refs: list[Ref]
    build: Callable[[dict[str, Any] | None], list[Call]]
    lookup: Lookup | None = None
    file: str = ""
    columns: Callable[[str], str] = lambda name: name  # field -> the source column to name


@dataclass
class Plan:
    kind: str
    rows: int
    planned: list[Planned]
    errors: list[RowError]


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: Counter[str] = field(default_factory=Counter)
    already: Counter[str] = field(default_factory=Counter)

    @property
    def error_rows(self) -> int:
        return len({(e.file, e.line) for e in self.errors if e.line != HEADER_LINE})

    @property
    def valid(self) -> int:
        return self.rows - self.error_rows


# households and sales from CSV (columns = request fields) ------------------------------
@dataclass(frozen=True)
class Kind:
    """One importable CSV: its request model and the columns that go into the path."""

    name: str
    model: type[BaseModel]
    path: Callable[[dict[str, str]], str]
    path_columns: tuple[str, ...] = ()
    not_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        fields = (n for n in self.model.model_fields if n not in self.not_columns)
        return (*self.path_columns, *fields)

    @property
    def required(self) -> tuple[str, ...]:
        fields = self.model.model_fields
        return (*self.path_columns, *(n for n, f in fields.items() if f.is_required()))


KINDS: dict[str, Kind] = {
    "households": Kind(
        "households",
        HouseholdCreate,
        lambda _row: "/registry/households",
        not_columns=("member_niks",),
    ),
    "sales": Kind(
        "sales",
        SaleCreate,
        lambda row: f"/commerce/businesses/{row['business_id']}/sales",
        ("business_id",),
    ),
}


def field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query")]
    return ".".join(parts) or ROW


def header_errors(
    header: list[str], required: Iterable[str], known: Iterable[str] | None, file: str = ""
) -> list[RowError]:
    """Unknown (when ``known`` is given), doubled and missing columns, all at line 1."""
    if not any(header):
        empty = bilingual(
            "berkas kosong: baris judul wajib ada", "the file is empty: a header line is required"
        )
        return [RowError(HEADER_LINE, ROW, empty, file)]
    errors = []
    if known is not None:
        names = tuple(known)
        unknown = f"kolom tidak dikenal; kolom yang ada: {', '.join(names)} (unknown column)"
        errors += [
            RowError(HEADER_LINE, name, unknown, file) for name in header if name not in names
        ]
    twice = bilingual("kolom muncul dua kali", "column appears twice")
    errors += [
        RowError(HEADER_LINE, name, twice, file)
        for name in sorted({h for h in header if h and header.count(h) > 1})
    ]
    absent = bilingual("kolom wajib tidak ada", "required column is missing")
    errors += [RowError(HEADER_LINE, name, absent, file) for name in required if name not in header]
    return errors


def shape_error(table: Table, record: Record, file: str = "") -> RowError | None:
    if record.problem:
        return RowError(record.line, ROW, record.problem, file)
    if table.ragged and len(record.cells) != len(table.header):
        expected, found = len(table.header), len(record.cells)
        why = bilingual(
            f"seharusnya {expected} isian, ada {found}",
            f"expected {expected} fields, found {found}",
        )
        return RowError(record.line, ROW, why, file)
    return None


def readable(table: Table, errors: list[RowError], file: str = "") -> Iterator[Record]:
    """The records that can be read as rows; the others go to ``errors``."""
    for record in table.records:
        shape = shape_error(table, record, file)
        if shape is None:
            yield record
        else:
            errors.append(shape)


def model_errors(
    line: int,
    exc: ValidationError,
    column: Callable[[str], str],
    accepted: Callable[[str], Sequence[str]] = lambda _name: (),
) -> list[RowError]:
    """One error per problem, named by source column; ``accepted``: the source values the
    mapping translates for a field, listed when its value is not one of them."""
    errors = []
    for e in exc.errors():
        name = field_name(e["loc"])
        errors.append(RowError(line, column(name), reason(e, accepted(name))))
    return errors


def in_future(value: str | None, today: date) -> bool:
    try:
        return value is not None and _DATE.validate_python(value) > today
    except ValidationError:
        return False  # the model reports the malformed date


def village_ref(village_code: str, column: str = "village_code") -> Ref:
    return Ref(
        column,
        "registry_villages",
        village_code,
        f"/registry/villages/{village_code}",
        bilingual("desa belum terdaftar", "village is not registered"),
    )


def plan_kind(kind: Kind, text: str, today: date | None = None) -> Plan:
    """The plan of a households or sales CSV; header problems stop at line 1."""
    today = today or date.today()
    table = read_csv(text)
    errors = header_errors(table.header, kind.required, kind.columns)
    if errors:
        return Plan(kind.name, 0, [], errors)
    planned: list[Planned] = []
    for record in readable(table, errors):
        values = {h: c for h, c in zip(table.header, record.cells, strict=True) if c}
        row_errors, item = _plan_kind_row(kind, record.line, values, today)
        errors += row_errors
        if item is not None:
            planned.append(item)
    return Plan(kind.name, len(table.records), planned, errors)


def _plan_kind_row(
    kind: Kind, line: int, values: dict[str, str], today: date
) -> tuple[list[RowError], Planned | None]:
    errors: list[RowError] = []
    for column in kind.path_columns:
        try:
            _ID.validate_python(values[column])
        except KeyError:
            errors.append(RowError(line, column, missing()))
        except ValidationError as exc:
            errors.append(RowError(line, column, reason(exc.errors()[0])))
    body_values = {k: v for k, v in values.items() if k not in kind.path_columns}
    model: BaseModel | None = None
    try:
        model = kind.model.model_validate(body_values)
    except ValidationError as exc:
        errors += model_errors(line, exc, lambda name: name)
    if in_future(values.get("occurred_on"), today):
        errors.append(RowError(line, "occurred_on", FUTURE))
    if errors or model is None:
        return errors, None
    body = model.model_dump(mode="json", exclude_none=True)
    call = Call(kind.name, "POST", kind.path(values), body)
    if kind.name == "sales":
        business = values["business_id"]
        ref = Ref(
            "business_id",
            "commerce_businesses",
            business,
            f"/commerce/businesses/{business}",
            bilingual("usaha tidak ditemukan", "business not found"),
        )
        return [], Planned(line, [ref], lambda _answer: [call])
    lookup = None
    if "kk_number" in body:  # a household already registered under this KK is not new
        kk = {"village_code": body["village_code"], "kk_number": body["kk_number"]}
        lookup = Lookup("kk_number", kk, required=False)
    ref = village_ref(body["village_code"])
    return [], Planned(line, [ref], lambda answer: [] if answer else [call], lookup)


# the engine -------------------------------------------------------------------------------
class Target(Protocol):
    """Where rows go: the embedded platform in this process, or a running one."""

    client: Client
    key_secret: str

    async def check(self, ref: Ref) -> tuple[str | None, str | None]:
        """(district of the record, problem) -- problem None when it can take the row."""

    def token_for(self, district: str | None) -> str | None:
        """The token to write with (None: the client's own)."""


class ImportAborted(RuntimeError):
    """The target refused the import as a whole (bad token, unreachable platform)."""


REFUSED_TOKEN = sentence(
    "platform menolak token (401): periksa --token",
    "the platform refused the token (401): check --token",
)


def idempotency_key(kind: str, material: list[Any], secret: str | None) -> str:
    """From a call's content; keyed (HMAC) when the content holds personal numbers."""
    canonical = json.dumps(material, sort_keys=True, default=str).encode()
    if secret is None:
        digest = hashlib.sha256(canonical).hexdigest()
    else:
        digest = hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()
    return f"import-{kind}-{digest[:40]}"


def problem_errors(line: int, reply: Reply, column: Callable[[str], str] = str) -> list[RowError]:
    body = reply.body if isinstance(reply.body, dict) else {}
    listed = body.get("errors") or []
    if listed:
        return [
            RowError(line, column(field_name(e.get("loc", []))), str(e.get("msg", "")))
            for e in listed
        ]
    detail = body.get("detail") or body.get("title") or str(reply.body or "")
    return [RowError(line, ROW, f"HTTP {reply.status}: {detail}".strip())]


class _Run:
    def __init__(self, plan: Plan, target: Target, report: ImportReport) -> None:
        self.plan, self.target, self.report = plan, target, report
        self.checked: dict[Ref, tuple[str | None, str | None]] = {}
        self.said: Counter[str] = Counter()

    async def refs(self, item: Planned) -> tuple[str | None, list[RowError]]:
        district, errors = None, []
        for ref in item.refs:
            if ref not in self.checked:
                self.checked[ref] = await self.target.check(ref)
            found, problem = self.checked[ref]
            district = district or found
            if problem is not None:
                errors.append(RowError(item.line, ref.field, problem, item.file))
        return district, errors

    async def lookup(
        self, item: Planned, token: str | None
    ) -> tuple[dict[str, Any] | None, list[RowError]]:
        lookup = item.lookup
        if lookup is None:
            return None, []
        reply = await self.target.client.request("POST", MATCH_PATH, lookup.body, token=token)
        if reply.ok:
            return reply.body, []
        if reply.status == 401:
            raise ImportAborted(REFUSED_TOKEN)
        if reply.status == 404:
            missing = [RowError(item.line, lookup.field, lookup.missing, item.file)]
            return None, missing if lookup.required else []
        if reply.status == 403:
            why = bilingual(
                "di luar wilayah token, atau peran ini tidak boleh mencari rumah tangga",
                "outside the token's scope, or the role may not look households up",
            )
            return None, [RowError(item.line, lookup.field, why, item.file)]
        return None, [
            RowError(e.line, e.field, e.reason, item.file)
            for e in problem_errors(item.line, reply, item.columns)
        ]

    async def send(self, item: Planned, call: Call, token: str | None) -> list[RowError] | bool:
        """Errors, or whether the call wrote something new."""
        client = self.target.client
        exists = call.exists_path
        if exists is not None and (await client.request("GET", exists, token=token)).ok:
            self.report.already[call.label] += 1
            return False
        material = [self.plan.kind, call.method, call.path, call.body]
        seen = json.dumps(material, sort_keys=True)
        nth = self.said[seen]
        self.said[seen] += 1
        personal = any(f in call.body for f in PERSONAL_FIELDS)
        secret = self.target.key_secret if personal else None
        key = idempotency_key(self.plan.kind, [*material, nth], secret) if call.keyed else None
        reply = await client.request(call.method, call.path, call.body, key=key, token=token)
        if not reply.ok:
            return [
                RowError(e.line, e.field, e.reason, item.file)
                for e in problem_errors(item.line, reply, item.columns)
            ]
        new = not reply.replayed and (call.method != "POST" or reply.status == 201)
        (self.report.written if new else self.report.already)[call.label] += 1
        return new

    async def row(self, item: Planned, dry_run: bool) -> None:
        district, errors = await self.refs(item)
        if errors:
            self.report.errors += errors
            return
        token = self.target.token_for(district)
        answer, errors = await self.lookup(item, token)
        if errors:
            self.report.errors += errors
            return
        calls = item.build(answer)
        if dry_run:
            return
        wrote = False
        for call in calls:
            outcome = await self.send(item, call, token)
            if isinstance(outcome, list):
                self.report.errors += outcome
                return
            wrote = wrote or outcome
        if wrote:
            self.report.imported += 1
        else:
            self.report.skipped += 1


async def run_plan(
    plan: Plan,
    target: Target,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> ImportReport:
    report = ImportReport(plan.kind, rows=plan.rows, errors=list(plan.errors), dry_run=dry_run)
    run = _Run(plan, target, report)
    total = len(plan.planned)
    for done, item in enumerate(plan.planned, start=1):
        await run.row(item, dry_run)
        progress(done, total)
    report.errors.sort(key=lambda e: (e.file, e.line, e.field))
    return report


async def run_import(
    kind: Kind,
    text: str,
    target: Target,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> ImportReport:
    return await run_plan(plan_kind(kind, text), target, dry_run=dry_run, progress=progress)


def read_text(path: Path) -> str:
    """The file as text (UTF-8, with or without a byte-order mark)."""
    return path.read_bytes().decode("utf-8-sig")


def write_report(report: ImportReport, path: Path) -> None:
    """The errors as CSV (line, field, reason; file first when several files were read), or
    as JSON when the path ends in .json."""
    several = any(e.file for e in report.errors)
    names = ["file", "line", "field", "reason"] if several else ["line", "field", "reason"]
    rows = [([e.file] if several else []) + [e.line, e.field, e.reason] for e in report.errors]
    if path.suffix.lower() == ".json":
        items = [dict(zip(names, row, strict=True)) for row in rows]
        path.write_text(json.dumps(items, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        writer.writerows(rows)


class LocalTarget:
    """The embedded platform in this process: per-district tokens, references read locally."""

    SUB = "lumbung-import"

    def __init__(self, app: Any, secret: str) -> None:
        from shared.demo.transport import AsgiClient

        self.store = app.state.runtime.store
        self.client: Client = AsgiClient(app, "")
        self.secret = secret
        self.key_secret = hashlib.sha256(b"lumbung/import-keys/" + secret.encode()).hexdigest()
        self._tokens: dict[str, str] = {}

    async def check(self, ref: Ref) -> tuple[str | None, str | None]:
        doc = self.store.get(ref.collection, ref.doc_id)
        if doc is None:
            return None, ref.missing
        return doc["district_code"], None

    def token_for(self, district: str | None) -> str | None:
        from shared.auth import Role, mint_token

        if district is None:
            return None
        if district not in self._tokens:
            self._tokens[district] = mint_token(
                self.secret, role=Role.DISTRICT_ADMIN, sub=self.SUB, district=district
            )
        return self._tokens[district]


class RemoteTarget:
    """A running platform: references checked with GETs under the operator's token."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.key_secret = token

    async def check(self, ref: Ref) -> tuple[str | None, str | None]:
        reply = await self.client.request("GET", ref.path)
        if reply.ok:
            return None, None
        if reply.status == 401:
            raise ImportAborted(REFUSED_TOKEN)
        if reply.status == 404:
            return None, ref.missing
        if reply.status == 403:
            return None, bilingual("di luar wilayah token", "outside the token's scope")
        return None, bilingual(f"tidak dapat diperiksa: HTTP {reply.status}", "cannot check it")

    def token_for(self, district: str | None) -> str | None:
        return None
