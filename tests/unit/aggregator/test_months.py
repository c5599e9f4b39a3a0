"""Months as YYYY-MM strings: arithmetic, ends and windows."""

from __future__ import annotations

from datetime import date

import pytest

from services.aggregator.domain.months import (
    add_months,
    month_end,
    month_of,
    month_range,
    month_start,
    months_between,
    parse_month,
    window,
)


def test_month_of_accepts_dates_iso_days_and_months() -> None:
    assert month_of(date(2026, 2, 28)) == "2026-02"
    assert month_of("2026-02-28") == "2026-02"
    assert month_of("2026-11") == "2026-11"


def test_add_months_crosses_year_boundaries_both_ways() -> None:
    assert add_months("2026-01", -1) == "2025-12"
    assert add_months("2025-12", 1) == "2026-01"
    assert add_months("2026-06", -12) == "2025-06"
    assert add_months("2026-06", 0) == "2026-06"
    assert months_between("2025-11", "2026-02") == 3


def test_month_end_knows_leap_years_and_month_start_is_the_first() -> None:
    assert month_end("2024-02") == date(2024, 2, 29)
    assert month_end("2026-02") == date(2026, 2, 28)
    assert month_end("2026-12") == date(2026, 12, 31)
    assert month_start("2026-12") == date(2026, 12, 1)


def test_window_is_the_n_months_ending_with_the_month_oldest_first() -> None:
    w = window("2026-06", 12)
    assert len(w) == 12
    assert w[0] == "2025-07" and w[-1] == "2026-06"
    assert window("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_month_range_is_inclusive_and_empty_when_reversed() -> None:
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_range("2026-03", "2026-03") == ["2026-03"]
    assert month_range("2026-03", "2026-02") == []


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", ""])
def test_a_malformed_month_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_month(bad)
    with pytest.raises(ValueError):
        add_months(bad, 1)
