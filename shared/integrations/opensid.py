"""OpenSID: households and their members, from the penduduk export (and keluarga's, optional).

OpenSID keeps one desa; its exports do not repeat the village code, so the operator names it.
Only what the resilience view and NIK matching need is read: per KK number, how many
members, their NIKs and the head's name (``kk_level`` 1; sealed at rest by the registry,
never in events), and from keluarga the day the family was registered. KK numbers and NIKs
go only to the registry, which keeps keyed hashes of them.

A household already registered under the KK number (found by the server, by its keyed hash)
is not registered again: when its member count or NIKs changed it is updated (PATCH, a
``household_updated``), else it is left alone. A family with any broken member row is not
imported at all -- its member count would be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.registry.models import HouseholdCreate, KkNumber, Nik
from shared.importer import (
    Call,
    Lookup,
    Plan,
    Planned,
    RowError,
    header_errors,
    in_future,
    model_errors,
    readable,
    village_ref,
)
from shared.integrations.mapping import Columns, Mapping, MappingError, check_fields, to_iso_date
from shared.integrations.messages import (
    AS_NUMBER,
    FUTURE,
    SIXTEEN_DIGITS,
    TWICE,
    bilingual,
    missing,
    sentence,
)
from shared.integrations.sources import Record, Table

PENDUDUK, KELUARGA = "penduduk", "keluarga"
FIELDS = {
    PENDUDUK: (("nik", "kk_number", "kk_level"), ("head_name",)),
    KELUARGA: (("kk_number",), ("occurred_on",)),
}
HEAD = "head"  # kk_level of the head of the family, after the mapping's value translation
_NIK = TypeAdapter(Nik)
_KK = TypeAdapter(KkNumber)


@dataclass
class _Family:
    line: int
    file: str
    niks: list[str] = field(default_factory=list)
    head_name: str | None = None
    head_line: int | None = None
    occurred_on: str | None = None
    broken: bool = False
    listed: bool = False  # has a keluarga row


def check_mapping(mapping: Mapping) -> None:
    for table, (required, optional) in FIELDS.items():
        if table not in mapping.tables:
            raise MappingError(
                sentence(
                    f"pemetaan {mapping.name}: tabel [{table}.columns] wajib ada",
                    f"mapping {mapping.name}: a [{table}.columns] table is required",
                )
            )
        check_fields(mapping, table, (*required, *optional))
        fed = set(mapping.tables[table].columns.values())
        unfed = ", ".join(f for f in required if f not in fed)
        if unfed:
            raise MappingError(
                sentence(
                    f"pemetaan {mapping.name}: tidak ada kolom {table} yang mengisi {unfed}",
                    f"mapping {mapping.name}: no {table} column feeds {unfed}",
                )
            )


def _values(cols: Columns, table: Table, record: Record) -> dict[str, str]:
    cells = dict(zip(table.header, record.cells, strict=False))
    return {
        name: cols.translate(name, cells[column])
        for column, name in cols.columns.items()
        if cells.get(column)
    }


class _Reader:
    def __init__(self, mapping: Mapping, today: date) -> None:
        self.mapping, self.today = mapping, today
        self.errors: list[RowError] = []
        self.families: dict[str, _Family] = {}
        self.nik_lines: dict[str, int] = {}

    def fail(self, file: str, line: int, name: str, reason: str) -> None:
        column = self.mapping.tables[file].column_of(name)
        self.errors.append(RowError(line, column, reason, file))

    def number(self, file: str, record: Record, values: dict[str, str], name: str) -> str | None:
        """A NIK or KK number, or None after reporting why it cannot be used."""
        column = self.mapping.tables[file].column_of(name)
        adapter = _NIK if name == "nik" else _KK
        if name not in values:
            self.fail(file, record.line, name, missing())
            return None
        if column in record.numeric:
            self.fail(file, record.line, name, AS_NUMBER)
            return None
        try:
            return adapter.validate_python(values[name])
        except ValidationError:
            self.fail(file, record.line, name, SIXTEEN_DIGITS)
            return None

    def penduduk(self, table: Table) -> None:
        cols = self.mapping.tables[PENDUDUK]
        for record in readable(table, self.errors, PENDUDUK):
            values = _values(cols, table, record)
            kk = self.number(PENDUDUK, record, values, "kk_number")
            nik = self.number(PENDUDUK, record, values, "nik")
            if "kk_level" not in values:
                self.fail(PENDUDUK, record.line, "kk_level", missing())
            if kk is None:
                continue
            family = self.families.setdefault(kk, _Family(record.line, PENDUDUK))
            if nik is None or "kk_level" not in values:
                family.broken = True
                continue
            if nik in self.nik_lines:
                first = self.nik_lines[nik]
                twice = bilingual(f"muncul dua kali, pertama di baris {first}", "appears twice")
                self.fail(PENDUDUK, record.line, "nik", twice)
                family.broken = True
                continue
            self.nik_lines[nik] = record.line
            family.niks.append(nik)
            if values["kk_level"] == HEAD:
                if family.head_line is not None:
                    second = bilingual(
                        f"kepala keluarga kedua untuk KK ini, yang pertama di baris "
                        f"{family.head_line}",
                        "a second head of family for this KK",
                    )
                    self.fail(PENDUDUK, record.line, "kk_level", second)
                    family.broken = True
                family.head_line = record.line
                family.head_name = values.get("head_name")

    def keluarga(self, table: Table) -> None:
        cols = self.mapping.tables[KELUARGA]
        for record in readable(table, self.errors, KELUARGA):
            values = _values(cols, table, record)
            kk = self.number(KELUARGA, record, values, "kk_number")
            if kk is None:
                continue
            family = self.families.get(kk)
            if family is None:
                alone = bilingual(
                    "tidak ada anggota KK ini di berkas penduduk",
                    "no member of this KK in the penduduk file",
                )
                self.fail(KELUARGA, record.line, "kk_number", alone)
                continue
            if family.listed:
                self.fail(KELUARGA, record.line, "kk_number", TWICE)
                family.broken = True
                continue
            family.listed, family.line, family.file = True, record.line, KELUARGA
            day = values.get("occurred_on")
            if day is not None:
                family.occurred_on = to_iso_date(day)
                if in_future(family.occurred_on, self.today):
                    self.fail(KELUARGA, record.line, "occurred_on", FUTURE)
                    family.broken = True


def plan_opensid(
    mapping: Mapping,
    village_code: str,
    penduduk: Table,
    keluarga: Table | None = None,
    today: date | None = None,
) -> Plan:
    check_mapping(mapping)
    reader = _Reader(mapping, today or date.today())
    rows = len(penduduk.records) + (len(keluarga.records) if keluarga else 0)
    for file, table in ((PENDUDUK, penduduk), (KELUARGA, keluarga)):
        if table is not None:
            cols = mapping.tables[file]
            required = [cols.column_of(n) for n in FIELDS[file][0]]
            reader.errors += header_errors(table.header, required, None, file)
    if reader.errors:
        return Plan("opensid", 0, [], reader.errors)
    reader.penduduk(penduduk)
    if keluarga is not None:
        reader.keluarga(keluarga)
    planned: list[Planned] = []
    for kk, family in reader.families.items():
        if keluarga is not None and not family.listed and not family.broken:
            unlisted = bilingual("KK tidak ada di berkas keluarga", "KK not in the keluarga file")
            reader.fail(PENDUDUK, family.line, "kk_number", unlisted)
            continue
        if family.broken or not family.niks:
            continue
        item = _household(reader, village_code, kk, family)
        if item is not None:
            planned.append(item)
    return Plan("opensid", rows, planned, reader.errors)


def _household(reader: _Reader, village_code: str, kk: str, family: _Family) -> Planned | None:
    niks = sorted(family.niks)
    fields: dict[str, Any] = {
        "village_code": village_code,
        "members": len(niks),
        "head_name": family.head_name,
        "kk_number": kk,
        "member_niks": niks,
        "occurred_on": family.occurred_on,
    }
    try:
        model = HouseholdCreate.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        cols = reader.mapping.tables[family.file]
        reader.errors += [
            RowError(e.line, e.field, e.reason, family.file)
            for e in model_errors(family.line, exc, cols.column_of, cols.accepted)
        ]
        return None
    body = model.model_dump(mode="json", exclude_none=True)
    members = {"members": len(niks), "member_niks": niks}

    def build(answer: dict[str, Any] | None) -> list[Call]:
        if answer is None:
            return [Call("households", "POST", "/registry/households", body)]
        if answer["members"] == len(niks) and answer.get("same_member_niks"):
            return []
        path = f"/registry/households/{answer['household_id']}"
        # absolute values, sent only when they differ from the match answer: no key (Call.keyed)
        return [Call("households_updated", "PATCH", path, members, keyed=False)]

    lookup = Lookup(
        reader.mapping.tables[family.file].column_of("kk_number"),
        {"village_code": village_code, "kk_number": kk, "member_niks": niks},
        required=False,
    )
    return Planned(
        family.line,
        [village_ref(village_code, "--village")],
        build,
        lookup,
        file=family.file,
        columns=reader.mapping.tables[family.file].column_of,
    )
