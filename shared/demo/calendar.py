"""Months of the demo history and days within them (never after ``today``)."""

from __future__ import annotations

import calendar
import random
from datetime import date

from shared.demo.model import HISTORY_START

Month = tuple[int, int]
START: Month = (HISTORY_START.year, HISTORY_START.month)


def add(month: Month, n: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + n
    return index // 12, index % 12 + 1


def number(month: Month) -> int:
    """Months since the start of the history (0 for 2023-03)."""
    return (month[0] - START[0]) * 12 + month[1] - START[1]


def of(day: date) -> Month:
    return day.year, day.month


class Clock:
    """The history runs from 2023-03 to ``today``; a day after today is never produced."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.last: Month = of(today)

    def months(self, first: Month = START) -> list[Month]:
        out, month = [], max(first, START)
        while month <= self.last:
            out.append(month)
            month = add(month, 1)
        return out

    def day(self, rng: random.Random, month: Month, lo: int = 1, hi: int = 28) -> date | None:
        """A day of the month (drawn whatever ``today`` is, so earlier draws never shift)."""
        last = calendar.monthrange(*month)[1]
        chosen = date(month[0], month[1], min(rng.randint(lo, hi), last))
        return chosen if chosen <= self.today else None

    def years(self, month: Month) -> float:
        """Years since the start: prices drift up about 4 % a year."""
        return number(month) / 12
