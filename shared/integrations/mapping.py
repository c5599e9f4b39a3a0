"""Mapping files: which source column feeds which field, and how source values translate.

A mapping is TOML (``shared/integrations/mappings/<name>.toml`` or any path)::

    [mapping]
    name = "simluhtan"
    title = "SIMLUHTAN-style register of farmers (daftar petani)"
    target = "farmers"              # what each row becomes (see shared.integrations.extension)
    source_system = "simluhtan"     # recorded with visits and plans

    [columns]                       # "source column" = "field"
    "NIK" = "nik"
    "Luas Lahan (Ha)" = "area_ha"

    [values.land_status]            # source value = field value (case and spaces ignored)
    "Milik Sendiri" = "owned"

    [[amounts]]                     # e-RDKK: one planned input per filled amount column
    column = "Urea MT1 (Kg)"
    season = "MT1"
    product = "urea"
    input_type = "chemical_fertilizer"

A file with several tables (OpenSID: penduduk and keluarga) puts ``columns`` and ``values``
under each table's name: ``[penduduk.columns]``. Columns a mapping does not name are never
read: names, addresses and phone numbers in an export stay in the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.integrations.messages import sentence

MAPPINGS_DIR = Path(__file__).parent / "mappings"


class MappingError(ValueError):
    """The mapping file itself is wrong (the import does not start)."""


def norm(value: str) -> str:
    """How source values are compared: case and runs of spaces do not matter."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class Amount:
    column: str
    season: str
    product: str
    input_type: str


@dataclass(frozen=True)
class Columns:
    """One source table: source column -> field, and value translations per field."""

    columns: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # normalised source values
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # as the mapping writes them

    def column_of(self, name: str) -> str:
        """The source column that feeds ``name`` (the field's own name when none does)."""
        return next((c for c, f in self.columns.items() if f == name), name)

    def translate(self, name: str, value: str) -> str:
        table = self.values.get(name)
        return table.get(norm(value), value) if table else value

    def accepted(self, name: str) -> tuple[str, ...]:
        """The source values the mapping translates for ``name`` (none: it translates none)."""
        return self.sources.get(name, ())


@dataclass(frozen=True)
class Mapping:
    name: str
    title: str
    target: str
    source_system: str
    tables: dict[str, Columns]  # "" for a one-table mapping
    amounts: tuple[Amount, ...] = ()

    @property
    def main(self) -> Columns:
        return self.tables[""]


def available() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def load_mapping(name_or_path: str) -> Mapping:
    """A shipped mapping by name (``simluhtan``), or a mapping file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise MappingError(
                sentence(
                    f"tidak ada pemetaan {name_or_path!r}; yang tersedia: {', '.join(available())}",
                    f"no mapping {name_or_path!r}",
                )
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            sentence(f"tidak dapat membaca {path}: {exc}", f"cannot read {path}")
        ) from None
    return parse_mapping(text, str(path))


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise MappingError(
            sentence(
                f'{where}: harus berupa tabel "teks" = "teks"',
                f'{where}: expected a table of "text" = "text"',
            )
        )
    return value


def _columns(raw: dict[str, Any], where: str) -> Columns:
    columns = _strings(raw.get("columns"), f"{where}columns")
    values_raw = raw.get("values", {})
    if not isinstance(values_raw, dict):
        raise MappingError(
            sentence(
                f"{where}values: harus berupa tabel, satu untuk setiap kolom tujuan",
                f"{where}values: expected tables, one per field",
            )
        )
    tables = {name: _strings(table, f"{where}values.{name}") for name, table in values_raw.items()}
    values = {name: {norm(k): v for k, v in table.items()} for name, table in tables.items()}
    return Columns(columns, values, {name: tuple(table) for name, table in tables.items()})


def _amounts(raw: Any) -> tuple[Amount, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MappingError(
            sentence(
                "amounts: harus berupa tabel [[amounts]]", "amounts: expected [[amounts]] tables"
            )
        )
    if not all(isinstance(a, dict) for a in raw):
        raise MappingError(
            sentence(
                "amounts: setiap entri harus berupa tabel [[amounts]]",
                "amounts: every entry must be an [[amounts]] table",
            )
        )
    try:
        return tuple(
            Amount(str(a["column"]), str(a["season"]), str(a["product"]), str(a["input_type"]))
            for a in raw
        )
    except KeyError as exc:
        raise MappingError(
            sentence(
                f"amounts: setiap entri memerlukan column, season, product dan input_type "
                f"({exc} tidak ada)",
                f"amounts: every entry needs column, season, product, input_type (missing {exc})",
            )
        ) from None


def parse_mapping(text: str, source: str = "mapping") -> Mapping:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            sentence(f"{source}: bukan TOML yang sah: {exc}", f"{source}: not valid TOML")
        ) from None
    head = raw.get("mapping")
    if not isinstance(head, dict) or not isinstance(head.get("target"), str):
        raise MappingError(
            sentence(
                f"{source}: tabel [mapping] dengan target wajib ada",
                f"{source}: a [mapping] table with a target is required",
            )
        )
    if "columns" in raw:
        tables = {"": _columns(raw, "")}
    else:
        tables = {
            name: _columns(table, f"{name}.")
            for name, table in raw.items()
            if isinstance(table, dict) and "columns" in table
        }
    if not tables:
        raise MappingError(
            sentence(f"{source}: tidak ada tabel [columns]", f"{source}: no [columns] table")
        )
    return Mapping(
        name=str(head.get("name") or Path(source).stem),
        title=str(head.get("title") or ""),
        target=head["target"],
        source_system=str(head.get("source_system") or head.get("name") or "import"),
        tables=tables,
        amounts=_amounts(raw.get("amounts")),
    )


def check_fields(mapping: Mapping, table: str, known: Iterable[str]) -> None:
    """Refuse a mapping that feeds a field its target does not have."""
    allowed = set(known)
    unknown = sorted(set(mapping.tables[table].columns.values()) - allowed)
    if unknown:
        names = ", ".join(unknown)
        raise MappingError(
            sentence(
                f"pemetaan {mapping.name}: kolom tujuan tidak dikenal untuk target "
                f"{mapping.target}: {names}; yang ada: {', '.join(sorted(allowed))}",
                f"mapping {mapping.name}: unknown field(s) for target {mapping.target}: {names}",
            )
        )


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


def to_iso_date(text: str) -> str:
    """An ISO date from the ways Indonesian exports write one; unchanged when unknown (the
    request model then reports it)."""
    value = text.strip()
    head = value.split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(head, fmt).date().isoformat()
        except ValueError:
            continue
    return value


def to_number(text: str) -> str:
    """``0,35`` (decimal comma) -> ``0.35``; anything else unchanged."""
    value = text.strip()
    if "," in value and "." not in value:
        return value.replace(",", ".")
    return value
