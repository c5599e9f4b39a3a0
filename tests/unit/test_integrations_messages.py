"""Row error reasons: each pydantic error type the importers map, produced by pydantic itself
(so a renamed type or ctx key fails here), in Bahasa Indonesia with English in brackets."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from shared.importer import header_errors
from shared.integrations.mapping import parse_mapping
from shared.integrations.messages import MESSAGES, api_reason, missing, reason
from shared.language import Invalid, say


class Status(enum.Enum):
    OWNED = "owned"
    RENTED = "rented"


class Inner(BaseModel):
    n: int = 0


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: str
    day: date | None = None
    when: datetime | None = None
    whole: int | None = None
    number: float | None = None
    finite: Annotated[float, Field(allow_inf_nan=False)] = 0
    positive: Annotated[int, Field(gt=0)] = 1
    at_least: Annotated[int, Field(ge=1)] = 1
    below: Annotated[float, Field(lt=10.5)] = 0
    at_most: Annotated[int, Field(le=5)] = 0
    short: Annotated[str, Field(min_length=3)] = "abc"
    long: Annotated[str, Field(max_length=4)] = ""
    few: Annotated[list[int], Field(min_length=1)] = [1]
    many: Annotated[list[int], Field(max_length=2)] = []
    text: str = ""
    code: Annotated[str, Field(pattern=r"^[0-9]{10}$")] = "0123456789"
    channel: Literal["market", "shop"] = "market"
    status: Status = Status.OWNED
    even: int = 0
    both: int = 0
    link: HttpUrl | None = None
    flag: bool = False
    items: list[int] = []
    inner: Inner | None = None
    mapping: dict[str, int] = {}

    @field_validator("both")
    @classmethod
    def _both(cls, value: int) -> int:
        if value < 0:
            raise Invalid(say("tidak boleh negatif", "must not be negative"))
        return value

    @field_validator("even")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value


KNOWN = ("village_code", "members")
DROP = object()  # leave the field out


def _error(**values: Any) -> dict[str, Any]:
    """The one error pydantic gives for these values (a valid model otherwise)."""
    body = {k: v for k, v in {"required": "x", **values}.items() if v is not DROP}
    with pytest.raises(ValidationError) as caught:
        Everything.model_validate(body)
    (error,) = caught.value.errors()
    return dict(error)


CASES = [
    ("missing", {"required": DROP}, "wajib diisi (required)"),
    (
        "date_from_datetime_parsing",
        {"day": "20x5-01-01"},
        "bukan tanggal yang sah, contoh 2025-01-31 (not a valid date, e.g. 2025-01-31)",
    ),
    (
        "datetime_from_date_parsing",
        {"when": "2025-13-01T00:00"},
        "bukan tanggal yang sah, contoh 2025-01-31 (not a valid date, e.g. 2025-01-31)",
    ),
    ("int_parsing", {"whole": "abc"}, "harus bilangan bulat (must be a whole number)"),
    ("int_from_float", {"whole": 1.5}, "harus bilangan bulat (must be a whole number)"),
    ("float_parsing", {"number": "1,5x"}, "harus angka (must be a number)"),
    ("finite_number", {"finite": float("inf")}, "harus angka (must be a number)"),
    ("greater_than", {"positive": 0}, "harus lebih dari 0 (must be greater than 0)"),
    ("greater_than_equal", {"at_least": 0}, "paling sedikit 1 (must be at least 1)"),
    ("less_than", {"below": 11}, "harus kurang dari 10.5 (must be less than 10.5)"),
    ("less_than_equal", {"at_most": 6}, "paling banyak 5 (must be at most 5)"),
    (
        "string_too_short",
        {"short": "ab"},
        "paling sedikit 3 karakter (must have at least 3 characters)",
    ),
    (
        "string_too_long",
        {"long": "abcde"},
        "paling banyak 4 karakter (must have at most 4 characters)",
    ),
    ("too_short", {"few": []}, "paling sedikit 1 isian (must have at least 1 items)"),
    ("too_long", {"many": [1, 2, 3]}, "paling banyak 2 isian (must have at most 2 items)"),
    ("string_type", {"text": 5}, "harus berupa teks (must be text)"),
    (
        "string_pattern_mismatch",
        {"code": "12345"},
        "tidak sesuai pola ^[0-9]{10}$ (does not match the pattern)",
    ),
    (
        "literal_error",
        {"channel": "pasar"},
        "harus salah satu dari: market, shop (must be one of these)",
    ),
    ("enum", {"status": "milik"}, "harus salah satu dari: owned, rented (must be one of these)"),
    ("extra_forbidden", {"alamat": "Jl. Fiktif"}, "kolom tidak dikenal (unknown field)"),
    ("value_error", {"even": 3}, "nilai tidak sah (invalid value: must be even)"),
    ("url_parsing", {"link": "nope"}, "bukan URL yang sah (not a valid URL)"),
    ("url_type", {"link": 5}, "bukan URL yang sah (not a valid URL)"),
    (
        "url_scheme",
        {"link": "ftp://example.org"},
        "skema URL harus 'http' atau 'https' (the URL scheme must be 'http' or 'https')",
    ),
    (
        "url_too_long",
        {"link": "http://example.org/" + "a" * 3000},
        "URL paling panjang 2083 karakter (a URL must have at most 2083 characters)",
    ),
    ("bool_parsing", {"flag": "maybe"}, "harus true atau false (must be true or false)"),
    ("bool_type", {"flag": [1]}, "harus true atau false (must be true or false)"),
    ("list_type", {"items": 5}, "harus berupa daftar (must be a list)"),
    ("dict_type", {"mapping": 5}, "harus berupa objek (must be an object)"),
    ("model_type", {"inner": 5}, "harus berupa objek (must be an object)"),
]


@pytest.mark.parametrize(("kind", "values", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_mapped_error_type_reads_in_indonesian_with_english_in_brackets(
    kind: str, values: dict[str, Any], expected: str
) -> None:
    error = _error(**values)

    assert error["type"] == kind
    assert reason(error) == expected


def test_every_type_in_the_table_has_a_case_or_shares_its_sentence_with_one() -> None:
    covered = {kind for kind, _, _ in CASES}
    sentences = {MESSAGES[kind] for kind in covered}
    assert {k for k, texts in MESSAGES.items() if texts not in sentences} == set()
    assert covered <= set(MESSAGES)


def test_an_enum_names_the_source_values_the_mapping_accepts_instead_of_codes() -> None:
    error = _error(channel="Pasar Desa")

    assert reason(error, ("Pasar", "Toko")) == (
        "harus salah satu dari: Pasar, Toko (must be one of these)"
    )


def test_an_unknown_type_keeps_pydantics_english_message() -> None:
    error = _error(day=[2025])  # a list is no date: date_type, which the table maps

    assert error["type"] == "date_type"
    assert reason({**error, "type": "uuid_parsing"}) == error["msg"]


def test_a_validator_s_refusal_in_both_languages_reads_as_written() -> None:
    error = _error(both=-1)

    assert error["type"] == "value_error"
    assert reason(error) == "tidak boleh negatif (must not be negative)"
    assert api_reason(error) == ("tidak boleh negatif", "Value error, must not be negative")
    plain = _error(even=3)
    assert api_reason(plain) == ("nilai tidak sah: must be even", "Value error, must be even")


def test_a_ctx_without_the_value_the_sentence_names_keeps_the_message() -> None:
    error = {"type": "greater_than", "msg": "Input should be greater than 0", "ctx": {}}

    assert reason(error) == "Input should be greater than 0"


def test_missing_is_the_reason_pydantic_gives_a_missing_value() -> None:
    assert missing() == reason(_error(required=DROP)) == "wajib diisi (required)"


def test_a_mapping_keeps_its_source_values_as_written_for_the_report() -> None:
    mapping = parse_mapping(
        '[mapping]\ntarget = "plots"\n[columns]\n"Status" = "land_status"\n'
        '[values.land_status]\n"Milik Sendiri" = "owned"\n"Sewa" = "rented"\n'
    )

    assert mapping.main.accepted("land_status") == ("Milik Sendiri", "Sewa")
    assert mapping.main.accepted("village_code") == ()
    assert mapping.main.translate("land_status", "  milik   sendiri ") == "owned"


def test_header_problems_name_each_column_in_indonesian_with_english_in_brackets() -> None:
    errors = header_errors(["village", "members", "members"], ["village_code"], KNOWN)

    assert [(e.line, e.field, e.reason) for e in errors] == [
        (
            1,
            "village",
            "kolom tidak dikenal; kolom yang ada: village_code, members (unknown column)",
        ),
        (1, "members", "kolom muncul dua kali (column appears twice)"),
        (1, "village_code", "kolom wajib tidak ada (required column is missing)"),
    ]
