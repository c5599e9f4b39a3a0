"""Row error reasons in Bahasa Indonesia first, English in brackets.

``reason`` turns one pydantic error (``ValidationError.errors()`` item) into a short
sentence from a table keyed by the error's ``type``, filled from its ``ctx``: ``"harus lebih
dari 0 (must be greater than 0)"``. A type the table does not know keeps pydantic's English
message. When the import's mapping translates a column's source values, an enum error lists
those values (what people type in their files) instead of the internal codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from shared.language import Invalid, Text

# pydantic error type -> (Bahasa Indonesia, English); {name} is filled from the error's ctx
_DATE = ("bukan tanggal yang sah, contoh 2025-01-31", "not a valid date, e.g. 2025-01-31")
_WHOLE = ("harus bilangan bulat", "must be a whole number")
_NUMBER = ("harus angka", "must be a number")
_ONE_OF = ("harus salah satu dari: {expected}", "must be one of these")
MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("wajib diisi", "required"),
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_type": _DATE,
    "datetime_parsing": _DATE,
    "datetime_from_date_parsing": _DATE,
    "datetime_type": _DATE,
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_type": _WHOLE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": _NUMBER,
    "greater_than": ("harus lebih dari {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("paling sedikit {ge}", "must be at least {ge}"),
    "less_than": ("harus kurang dari {lt}", "must be less than {lt}"),
    "less_than_equal": ("paling banyak {le}", "must be at most {le}"),
    "string_too_short": (
        "paling sedikit {min_length} karakter",
        "must have at least {min_length} characters",
    ),
    "string_too_long": (
        "paling banyak {max_length} karakter",
        "must have at most {max_length} characters",
    ),
    "too_short": ("paling sedikit {min_length} isian", "must have at least {min_length} items"),
    "too_long": ("paling banyak {max_length} isian", "must have at most {max_length} items"),
    "string_type": ("harus berupa teks", "must be text"),
    "string_pattern_mismatch": (
        "tidak sesuai pola {pattern}",
        "does not match the pattern",
    ),
    "enum": _ONE_OF,
    "literal_error": _ONE_OF,
    "extra_forbidden": ("kolom tidak dikenal", "unknown field"),
    "url_parsing": ("bukan URL yang sah", "not a valid URL"),
    "url_type": ("bukan URL yang sah", "not a valid URL"),
    "url_scheme": (
        "skema URL harus {expected_schemes}",
        "the URL scheme must be {expected_schemes}",
    ),
    "url_too_long": (
        "URL paling panjang {max_length} karakter",
        "a URL must have at most {max_length} characters",
    ),
    "bool_parsing": ("harus true atau false", "must be true or false"),
    "bool_type": ("harus true atau false", "must be true or false"),
    "list_type": ("harus berupa daftar", "must be a list"),
    "dict_type": ("harus berupa objek", "must be an object"),
    "model_type": ("harus berupa objek", "must be an object"),
    "model_attributes_type": ("harus berupa objek", "must be an object"),
    "value_error": ("nilai tidak sah", "invalid value: {error}"),
}
_QUOTED = re.compile(r"'([^']*)'")


def bilingual(indonesian: str, english: str) -> str:
    """How the import commands say things: Bahasa Indonesia first, English in brackets."""
    return f"{indonesian} ({english})"


def sentence(indonesian: str, english: str) -> str:
    """A whole sentence for the operator (refusals, notices): ``"<kalimat>. (<sentence>)"``."""
    return f"{indonesian}. ({english})"


def _text(value: Any) -> str:
    """A ctx value as people write it: 0.0 -> 0, 1e8 -> 100000000."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expected(ctx: Mapping[str, Any], accepted: Sequence[str]) -> str:
    """The values an enum accepts: the source values when the mapping translates them, else
    the codes pydantic lists (``'a', 'b' or 'c'``) without the English ``or``."""
    if accepted:
        return ", ".join(accepted)
    listed = str(ctx.get("expected", ""))
    return ", ".join(_QUOTED.findall(listed)) or listed


def _filled(error: Mapping[str, Any], accepted: Sequence[str]) -> tuple[str, str] | None:
    """The table's two sentences for one pydantic error, filled from its ctx, or None."""
    own = (error.get("ctx") or {}).get("error")
    if isinstance(own, Invalid):  # a validator's refusal, written in both languages
        return own.text
    texts = MESSAGES.get(str(error.get("type")))
    if texts is None:
        return None
    ctx = {k: _text(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx, accepted)
    try:
        english = texts[1].format(**ctx)
        if "expected_schemes" in ctx:  # pydantic lists them in English: 'http' or 'https'
            ctx["expected_schemes"] = ctx["expected_schemes"].replace(" or ", " atau ")
        return texts[0].format(**ctx), english
    except (KeyError, IndexError):  # a ctx without the value the sentence names
        return None


def reason(error: Mapping[str, Any], accepted: Sequence[str] = ()) -> str:
    """The reason to report for one pydantic error; ``accepted``: the source values the
    mapping translates for this field (none: the model's own values are shown)."""
    filled = _filled(error, accepted)
    if filled is None:
        return str(error.get("msg", ""))
    return bilingual(*filled)


def api_reason(error: Mapping[str, Any]) -> Text:
    """One pydantic error of a request, for the API: the table's Bahasa Indonesia, and
    pydantic's own English message (complete, as English clients have always read it)."""
    english = str(error.get("msg", ""))
    own = (error.get("ctx") or {}).get("error")
    if error.get("type") == "value_error" and own is not None and not isinstance(own, Invalid):
        return Text(f"nilai tidak sah: {own}", english)  # the reason, if only in English
    filled = _filled(error, ())
    return Text(filled[0] if filled is not None else english, english)


def missing() -> str:
    """The reason for a required value that is missing (as pydantic's ``missing``)."""
    return reason({"type": "missing"})


# reasons of the importers' own checks, shared by several of them
FUTURE = bilingual("tidak boleh tanggal yang akan datang", "must not be in the future")
SIXTEEN_DIGITS = bilingual("harus 16 digit", "must be 16 digits")
AS_NUMBER = bilingual(
    "tersimpan sebagai angka, digit bisa hilang: format sebagai teks",
    "stored as a number, so digits may be lost: format it as text",
)
NO_HOUSEHOLD = bilingual(
    "tidak ada rumah tangga terdaftar di desa ini dengan NIK ini",
    "no registered household of this village has this NIK",
)
TWICE = bilingual("muncul dua kali", "appears twice")
