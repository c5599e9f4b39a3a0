"""Calendar months as ``YYYY-MM`` strings: the time unit of the resilience view.

Months are plain strings so ledgers stay JSON documents; ``YYYY-MM`` (and ``YYYY-MM-DD``)
strings sort chronologically, so comparisons need no parsing.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import lru_cache

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    """``text`` if it is a valid ``YYYY-MM`` month, else ValueError."""
    if not isinstance(text, str) or not _MONTH.match(text):
        raise ValueError(f"not a month (YYYY-MM): {text!r}")
    return text


def month_of(d: date | str) -> str:
    """The ``YYYY-MM`` month of a date, an ISO date string or a month string."""
    if isinstance(d, date):
        return f"{d.year:04d}-{d.month:02d}"
    if len(d) == 7:
        return parse_month(d)
    return month_of(date.fromisoformat(d))


def _index(month: str) -> int:
    match = _MONTH.match(month)
    if match is None:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def _from_index(index: int) -> str:
    year, zero_based = divmod(index, 12)
    return f"{year:04d}-{zero_based + 1:02d}"


def add_months(month: str, n: int) -> str:
    return _from_index(_index(month) + n)


def months_between(first: str, last: str) -> int:
    """How many months ``last`` is after ``first`` (negative when before)."""
    return _index(last) - _index(first)


def month_start(month: str) -> date:
    index = _index(month)
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: str) -> date:
    index = _index(month)
    year, mon = index // 12, index % 12 + 1
    return date(year, mon, calendar.monthrange(year, mon)[1])


def window(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first."""
    return list(window_tuple(month, n))


@lru_cache(maxsize=4096)
def window_tuple(month: str, n: int) -> tuple[str, ...]:
    """:func:`window` as a cached tuple, for the scoring hot path."""
    last = _index(month)
    return tuple(_from_index(i) for i in range(last - n + 1, last + 1))


@lru_cache(maxsize=4096)
def last_day(month: str) -> str:
    """The ISO last day of ``month``: facts up to M are those with ``occurred_on <= last_day``."""
    return month_end(month).isoformat()


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, oldest first (empty if reversed)."""
    return [_from_index(i) for i in range(_index(first), _index(last) + 1)]
