"""Money is whole rupiah. A derived amount rounds half up, as a cashier would (Python's
``round`` rounds half to even: 2.5 -> 2)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def rupiah_amount(quantity: float, unit_price: int) -> int:
    exact = Decimal(str(quantity)) * Decimal(unit_price)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
