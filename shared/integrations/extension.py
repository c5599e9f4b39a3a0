"""Extension-system imports: farmer groups, farmers, plots, visits and fertiliser plans.

A mapping (``shared.integrations.mapping``) names the target and feeds its fields:

- ``farmer_groups``: village_code, group_id, group_name [, occurred_on]
- ``farmers`` (SIMLUHTAN-style register): village_code, nik [, group_id, group_name,
  area_ha, land_status, plot_id, occurred_on] -> joins the group (registering it when the row
  names it) and registers the plot when an area is given
- ``plots``: village_code, nik, area_ha, land_status [, plot_id, occurred_on]
- ``extension_visits``: village_code, nik, extension_worker_id, topic, recommendation
  [, occurred_on]
- ``input_plans`` (e-RDKK-style plan): village_code, nik, year or season [, group_id,
  occurred_on], and ``[[amounts]]``: one ``input_planned`` per filled amount column.

The NIK is never sent anywhere but ``POST /registry/households/match``, which hashes it with
the platform's key and answers the household id; every other request carries that id only.
Errors name the source column, so the person fixing the file finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from services.agriculture.models import (
    ExtensionVisitCreate,
    FarmerGroupCreate,
    GroupMemberCreate,
    InputPlanCreate,
    PlotCreate,
)
from services.registry.models import Nik
from shared.importer import (
    ROW,
    Call,
    Lookup,
    Plan,
    Planned,
    Ref,
    RowError,
    header_errors,
    in_future,
    model_errors,
    readable,
    village_ref,
)
from shared.integrations.mapping import Mapping, MappingError, check_fields, to_iso_date, to_number
from shared.integrations.messages import (
    AS_NUMBER,
    FUTURE,
    SIXTEEN_DIGITS,
    bilingual,
    missing,
    sentence,
)
from shared.integrations.sources import HEADER_LINE, Record, Table

PLACEHOLDER = "hh-matched-by-nik"  # validates bodies before the household is known
_NIK = TypeAdapter(Nik)
COMMON = ("village_code", "nik", "occurred_on")
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # required, optional
    "farmer_groups": (("village_code", "group_id", "group_name"), ("occurred_on",)),
    "farmers": (
        ("village_code", "nik"),
        ("group_id", "group_name", "area_ha", "land_status", "plot_id", "occurred_on"),
    ),
    "plots": (("village_code", "nik", "area_ha", "land_status"), ("plot_id", "occurred_on")),
    "extension_visits": (
        ("village_code", "nik", "extension_worker_id", "topic", "recommendation"),
        ("occurred_on",),
    ),
    "input_plans": (("village_code", "nik"), ("year", "season", "group_id", "occurred_on")),
}
NUMBERS = ("area_ha",)
DATES = ("occurred_on",)
GROUPS_PATH = "/agriculture/farmer-groups"


def check_mapping(mapping: Mapping) -> None:
    if mapping.target not in TARGETS:
        raise MappingError(
            sentence(
                f"pemetaan {mapping.name}: target {mapping.target!r} tidak dikenal; "
                f"yang ada: {', '.join(TARGETS)}",
                f"mapping {mapping.name}: unknown target {mapping.target!r}",
            )
        )
    required, optional = TARGETS[mapping.target]
    check_fields(mapping, "", (*required, *optional))
    fed = set(mapping.main.columns.values())
    unfed = [f for f in required if f not in fed]
    if mapping.target == "input_plans" and not mapping.amounts:
        unfed.append("[[amounts]]")
    indonesian, english = list(unfed), list(unfed)
    if mapping.target == "input_plans" and not {"year", "season"} & fed:
        indonesian.append("year atau season")
        english.append("year or season")
    if english:
        raise MappingError(
            sentence(
                f"pemetaan {mapping.name}: tidak ada kolom sumber yang mengisi "
                f"{', '.join(indonesian)}",
                f"mapping {mapping.name}: no column feeds {', '.join(english)}",
            )
        )


class _Row:
    """One source row read through the mapping: field values, and errors by source column."""

    def __init__(self, mapping: Mapping, table: Table, record: Record, today: date) -> None:
        self.mapping, self.line, self.today = mapping, record.line, today
        self.cols = mapping.main
        cells = dict(zip(table.header, record.cells, strict=False))
        self.cells = cells
        self.values: dict[str, str] = {}
        self.errors: list[RowError] = []
        for column, name in self.cols.columns.items():
            text = cells.get(column, "")
            if not text:
                continue
            if name == "nik" and column in record.numeric:
                self.fail(name, AS_NUMBER)
                continue
            text = self.cols.translate(name, text)
            if name in NUMBERS:
                text = to_number(text)
            if name in DATES:
                text = to_iso_date(text)
            self.values[name] = text
        required, _ = TARGETS[mapping.target]
        for name in required:
            if name not in self.values and not any(
                e.field == self.column(name) for e in self.errors
            ):
                self.fail(name, missing())
        if "nik" in self.values:
            try:
                _NIK.validate_python(self.values["nik"])
            except ValidationError:
                self.fail("nik", SIXTEEN_DIGITS)
        if in_future(self.values.get("occurred_on"), today):
            self.fail("occurred_on", FUTURE)

    def column(self, name: str) -> str:
        return self.cols.column_of(name)

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.line, self.column(name), reason))

    def body(self, model: type[BaseModel], fields: dict[str, Any]) -> dict[str, Any] | None:
        """The request body, validated by the route's own model (errors by source column)."""
        given = {k: v for k, v in fields.items() if v is not None}
        try:
            valid = model.model_validate(given)
        except ValidationError as exc:
            self.errors += model_errors(self.line, exc, self.column, self.cols.accepted)
            return None
        return valid.model_dump(mode="json", exclude_none=True)

    def get(self, *names: str) -> dict[str, str | None]:
        return {name: self.values.get(name) for name in names}


def plan_extension(mapping: Mapping, table: Table, today: date | None = None) -> Plan:
    check_mapping(mapping)
    today = today or date.today()
    required, _ = TARGETS[mapping.target]
    columns = [mapping.main.column_of(n) for n in required]
    kind = f"extension-{mapping.name}"
    errors = header_errors(table.header, columns, None)
    amounts = [a.column for a in mapping.amounts]
    if amounts and not set(amounts) & set(table.header):
        why = f"tidak ada kolom jumlah pupuk; yang diharapkan: {', '.join(amounts)}"
        errors.append(RowError(HEADER_LINE, ROW, bilingual(why, "no fertiliser amount column")))
    if errors:
        return Plan(kind, 0, [], errors)
    planned: list[Planned] = []
    for record in readable(table, errors):
        row = _Row(mapping, table, record, today)
        build = None if row.errors else _BUILDERS[mapping.target](row)
        if row.errors or build is None:
            errors += dict.fromkeys(row.errors)  # an error shared by every amount, once
            continue
        planned.append(build)
    return Plan(kind, len(table.records), planned, errors)


def _planned(row: _Row, refs: list[Ref], calls: Callable[[str], list[Call]]) -> Planned:
    village = row.values["village_code"]
    nik = row.values.get("nik")
    lookup = Lookup(row.column("nik"), {"village_code": village, "nik": nik}) if nik else None
    return Planned(
        row.line,
        [village_ref(village, row.column("village_code")), *refs],
        lambda answer: calls(answer["household_id"] if answer else PLACEHOLDER),
        lookup,
        columns=row.column,
    )


def _with_household(body: dict[str, Any], household_id: str) -> dict[str, Any]:
    return {**body, "household_id": household_id}


def _group_call(row: _Row) -> Call | None:
    fields = row.get("village_code", "group_id", "occurred_on")
    body = row.body(FarmerGroupCreate, {**fields, "name": row.values.get("group_name")})
    if body is None:
        return None
    return Call("farmer_groups", "POST", GROUPS_PATH, body, f"{GROUPS_PATH}/{body['group_id']}")


def _farmer_groups(row: _Row) -> Planned | None:
    call = _group_call(row)
    if call is None:
        return None
    village = row.values["village_code"]
    return Planned(
        row.line,
        [village_ref(village, row.column("village_code"))],
        lambda _answer: [call],
        columns=row.column,
    )


def _plot_body(row: _Row) -> dict[str, Any] | None:
    fields = row.get("village_code", "area_ha", "land_status", "plot_id", "occurred_on")
    return row.body(PlotCreate, {**fields, "household_id": PLACEHOLDER})


def _plot_call(body: dict[str, Any], household_id: str) -> Call:
    plot_id = body.get("plot_id")
    exists = f"/agriculture/plots/{plot_id}" if plot_id else None
    return Call("plots", "POST", "/agriculture/plots", _with_household(body, household_id), exists)


def _farmers(row: _Row) -> Planned | None:
    group_id = row.values.get("group_id")
    group = _group_call(row) if group_id and "group_name" in row.values else None
    member = None
    if group_id:
        fields = row.get("village_code", "occurred_on")
        member = row.body(GroupMemberCreate, {**fields, "household_id": PLACEHOLDER})
    has_plot = any(n in row.values for n in ("area_ha", "land_status", "plot_id"))
    plot = _plot_body(row) if has_plot else None
    if row.errors:
        return None
    refs = []
    if group_id and group is None:
        refs.append(
            Ref(
                row.column("group_id"),
                "agriculture_groups",
                group_id,
                f"{GROUPS_PATH}/{group_id}",
                bilingual("kelompok tani belum terdaftar", "farmer group is not registered"),
            )
        )

    def calls(household_id: str) -> list[Call]:
        out = [group] if group else []
        if member is not None:
            path = f"{GROUPS_PATH}/{group_id}/members"
            out.append(Call("group_members", "POST", path, _with_household(member, household_id)))
        if plot is not None:
            out.append(_plot_call(plot, household_id))
        return out

    return _planned(row, refs, calls)


def _plots(row: _Row) -> Planned | None:
    plot = _plot_body(row)
    if plot is None:
        return None
    return _planned(row, [], lambda household_id: [_plot_call(plot, household_id)])


def _visits(row: _Row) -> Planned | None:
    fields = row.get(
        "village_code", "extension_worker_id", "topic", "recommendation", "occurred_on"
    )
    body = row.body(
        ExtensionVisitCreate,
        {**fields, "household_id": PLACEHOLDER, "source_system": row.mapping.source_system},
    )
    if body is None:
        return None
    path = "/agriculture/extension-visits"
    return _planned(
        row, [], lambda hh: [Call("extension_visits", "POST", path, _with_household(body, hh))]
    )


def _season(row: _Row, season: str) -> str:
    if "season" in row.values:
        return row.values["season"]
    return f"{row.values.get('year', '')}-{season}"


def _input_plans(row: _Row) -> Planned | None:
    bodies: list[dict[str, Any]] = []
    if "season" not in row.values and "year" not in row.values:
        row.fail("year", missing())
        return None
    for amount in row.mapping.amounts:
        text = to_number(row.cells.get(amount.column, ""))
        if text in ("", "0", "0.0", "-"):
            continue
        fields = row.get("village_code", "group_id", "occurred_on")
        before = len(row.errors)
        body = row.body(
            InputPlanCreate,
            {
                **fields,
                "household_id": PLACEHOLDER,
                "season": _season(row, amount.season),
                "input_type": amount.input_type,
                "product": amount.product,
                "kg": text,
                "source_system": row.mapping.source_system,
            },
        )
        for i in range(before, len(row.errors)):  # an amount's errors name its own column
            error = row.errors[i]
            if error.field == "kg":
                row.errors[i] = RowError(error.line, amount.column, error.reason)
            elif error.field == "season" and "season" not in row.values:
                year = bilingual("harus tahun 4 digit", "must be a 4-digit year")
                row.errors[i] = RowError(error.line, row.column("year"), year)
        if body is not None:
            bodies.append(body)
    if row.errors:
        return None
    if not bodies:
        row.fail(
            ROW, bilingual("tidak ada jumlah pupuk yang diisi", "no fertiliser amount is filled in")
        )
        return None
    path = "/agriculture/input-plans"
    return _planned(
        row,
        [],
        lambda hh: [Call("input_plans", "POST", path, _with_household(b, hh)) for b in bodies],
    )


_BUILDERS: dict[str, Callable[[_Row], Planned | None]] = {
    "farmer_groups": _farmer_groups,
    "farmers": _farmers,
    "plots": _plots,
    "extension_visits": _visits,
    "input_plans": _input_plans,
}
