"""Mapping files and source tables of the inbound integrations, without a platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.integrations import extension, opensid
from shared.integrations.mapping import (
    MAPPINGS_DIR,
    MappingError,
    available,
    load_mapping,
    parse_mapping,
    to_iso_date,
    to_number,
)
from shared.integrations.sources import read_csv, read_json, read_table

FIXTURES = Path(__file__).parents[1] / "fixtures" / "integrations"
FARMERS = """
[mapping]
name = "uji"
target = "farmers"
[columns]
"NIK" = "nik"
"Kode Desa" = "village_code"
"Status" = "land_status"
[values.land_status]
"Milik  Sendiri" = "owned"
"""


def test_every_shipped_mapping_loads_and_fits_its_target() -> None:
    assert set(available()) >= {
        "simluhtan",
        "simluhtan-poktan",
        "simluhtan-kunjungan",
        "erdkk",
        "opensid",
    }
    for name in available():
        mapping = load_mapping(name)
        check = opensid.check_mapping if mapping.target == "opensid" else extension.check_mapping
        check(mapping)
    assert len(load_mapping("erdkk").amounts) == 9


def test_a_mapping_reads_columns_and_translates_values_ignoring_case_and_spaces() -> None:
    mapping = parse_mapping(FARMERS)

    assert mapping.target == "farmers" and mapping.source_system == "uji"
    assert mapping.main.column_of("nik") == "NIK"
    assert mapping.main.column_of("plot_id") == "plot_id"  # not fed: its own name
    assert mapping.main.translate("land_status", " milik sendiri ") == "owned"
    assert mapping.main.translate("land_status", "Sewa") == "Sewa"  # the model will refuse it


AMOUNTS = "[mapping]\ntarget='input_plans'\n[columns]\nNIK = 'nik'\n"


@pytest.mark.parametrize(
    ("text", "indonesian", "english"),
    [
        (
            "[mapping]\nname = 'x'",
            "mapping: tabel [mapping] dengan target wajib ada. ",
            "(mapping: a [mapping] table with a target is required)",
        ),
        (
            "[mapping]\ntarget = 'farmers'",
            "mapping: tidak ada tabel [columns]. ",
            "(mapping: no [columns] table)",
        ),
        ("[mapping\n", "mapping: bukan TOML yang sah: ", "(mapping: not valid TOML)"),
        (
            "[mapping]\ntarget='farmers'\n[columns]\nNIK = 3",
            'columns: harus berupa tabel "teks" = "teks". ',
            '(columns: expected a table of "text" = "text")',
        ),
        (
            "values = 'x'\n[mapping]\ntarget='farmers'\n[columns]\nNIK = 'nik'",
            "values: harus berupa tabel, satu untuk setiap kolom tujuan. ",
            "(values: expected tables, one per field)",
        ),
        (
            "[mapping]\ntarget='farmers'\n[columns]\nNIK = 'nik'\n[values]\nstatus = 1",
            'values.status: harus berupa tabel "teks" = "teks". ',
            '(values.status: expected a table of "text" = "text")',
        ),
        (
            "amounts = 'x'\n" + AMOUNTS,
            "amounts: harus berupa tabel [[amounts]]. ",
            "(amounts: expected [[amounts]] tables)",
        ),
        (
            "amounts = ['x']\n" + AMOUNTS,
            "amounts: setiap entri harus berupa tabel [[amounts]]. ",
            "(amounts: every entry must be an [[amounts]] table)",
        ),
        (
            AMOUNTS + "[[amounts]]\ncolumn = 'Urea'\nseason = 'MT1'\nproduct = 'urea'\n",
            "amounts: setiap entri memerlukan column, season, product dan input_type "
            "('input_type' tidak ada). ",
            "(amounts: every entry needs column, season, product, input_type "
            "(missing 'input_type'))",
        ),
    ],
)
def test_a_broken_mapping_file_is_refused_in_indonesian_and_english(
    text: str, indonesian: str, english: str
) -> None:
    with pytest.raises(MappingError) as refused:
        parse_mapping(text)
    message = str(refused.value)
    assert message.startswith(indonesian) and message.endswith(english)


def test_a_mapping_feeding_an_unknown_field_or_missing_a_required_one_is_refused() -> None:
    unknown = FARMERS.replace('"Status" = "land_status"', '"Status" = "status_lahan"')
    with pytest.raises(MappingError) as refused:
        extension.check_mapping(parse_mapping(unknown))
    assert str(refused.value).startswith(
        "pemetaan uji: kolom tujuan tidak dikenal untuk target farmers: status_lahan; "
        "yang ada: area_ha, "
    )
    assert str(refused.value).endswith(
        ". (mapping uji: unknown field(s) for target farmers: status_lahan)"
    )
    no_nik = FARMERS.replace('"NIK" = "nik"\n', "")
    with pytest.raises(MappingError) as refused:
        extension.check_mapping(parse_mapping(no_nik))
    assert str(refused.value) == (
        "pemetaan uji: tidak ada kolom sumber yang mengisi nik. (mapping uji: no column feeds nik)"
    )
    with pytest.raises(MappingError, match=r"tidak ada pemetaan 'nope'; .*\(no mapping 'nope'\)"):
        load_mapping("nope")


def test_an_unknown_target_or_an_unfed_field_is_refused_in_indonesian_and_english() -> None:
    with pytest.raises(MappingError) as refused:
        extension.check_mapping(parse_mapping(FARMERS.replace('"farmers"', '"petani"')))
    assert str(refused.value) == (
        "pemetaan uji: target 'petani' tidak dikenal; yang ada: farmer_groups, farmers, plots, "
        "extension_visits, input_plans. (mapping uji: unknown target 'petani')"
    )
    with pytest.raises(MappingError) as refused:
        extension.check_mapping(
            parse_mapping(AMOUNTS.replace("[mapping]", "[mapping]\nname='rdkk'"))
        )
    assert str(refused.value) == (
        "pemetaan rdkk: tidak ada kolom sumber yang mengisi village_code, [[amounts]], "
        "year atau season. "
        "(mapping rdkk: no column feeds village_code, [[amounts]], year or season)"
    )


def test_an_opensid_mapping_missing_a_table_or_a_required_field_is_refused_in_both() -> None:
    shipped = (MAPPINGS_DIR / "opensid.toml").read_text(encoding="utf-8")
    without_keluarga = shipped.split("[keluarga.columns]")[0]
    with pytest.raises(MappingError) as refused:
        opensid.check_mapping(parse_mapping(without_keluarga))
    assert str(refused.value) == (
        "pemetaan opensid: tabel [keluarga.columns] wajib ada. "
        "(mapping opensid: a [keluarga.columns] table is required)"
    )
    unfed = shipped.replace('"nik" = "nik"\n', "").replace('"kk_level" = "kk_level"\n', "")
    with pytest.raises(MappingError) as refused:
        opensid.check_mapping(parse_mapping(unfed))
    assert str(refused.value) == (
        "pemetaan opensid: tidak ada kolom penduduk yang mengisi nik, kk_level. "
        "(mapping opensid: no penduduk column feeds nik, kk_level)"
    )


def test_a_mapping_file_that_is_not_utf8_is_refused_in_indonesian_and_english(
    tmp_path: Path,
) -> None:
    path = tmp_path / "petani.toml"
    path.write_bytes(FARMERS.replace("Milik", "Milik \u00e9").encode("latin-1"))
    with pytest.raises(MappingError) as refused:
        load_mapping(str(path))
    message = str(refused.value)
    assert message.startswith(f"tidak dapat membaca {path}: 'utf-8' codec can't decode")
    assert message.endswith(f". (cannot read {path})")


def test_dates_and_decimal_commas_as_indonesian_exports_write_them() -> None:
    assert to_iso_date("15/03/2021") == "2021-03-15"
    assert to_iso_date("2021-01-05 09:30:00") == "2021-01-05"
    assert to_iso_date("31/02/2026") == "31/02/2026"  # left for the model to refuse
    assert to_number("0,35") == "0.35" and to_number("1.250") == "1.250"


def test_csv_with_semicolons_keeps_the_line_a_record_starts_on() -> None:
    table = read_csv('a;b\n1;"two\nlines"\n\n3;4\n')
    assert table.header == ["a", "b"]
    assert [(r.line, r.cells) for r in table.records] == [(2, ["1", "two\nlines"]), (5, ["3", "4"])]


def test_json_records_know_their_line_and_numbers_are_remembered() -> None:
    table = read_json('{"data": [\n {"NIK": 3204051203800001},\n "x",\n {"Kode": "1"}\n]}')
    assert table.header == ["NIK", "Kode"]
    assert [(r.line, r.cells, r.problem) for r in table.records] == [
        (2, ["3204051203800001", ""], ""),
        (3, ["", ""], "bukan objek JSON (not a JSON object)"),
        (4, ["", "1"], ""),
    ]
    assert table.records[0].numeric == {"NIK"}


def test_xlsx_rows_are_sheet_rows_and_a_numeric_nik_is_flagged() -> None:
    table = read_table(FIXTURES / "petani-rusak.xlsx")
    assert table.header[:3] == ["No", "Nama Petani", "NIK"]
    ujang = next(r for r in table.records if r.line == 3)
    assert "NIK" in ujang.numeric and ujang.cells[2] == "3204050101750004"
    first = next(r for r in table.records if r.line == 2)
    assert "NIK" not in first.numeric
