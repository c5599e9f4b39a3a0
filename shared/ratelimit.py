"""Per-token limits: a careless or hostile client cannot flood a village's records, nor use
the NIK/KK lookup as an oracle to enumerate numbers.

Counted per principal (role and subject) in this process with a sliding-window counter
(the ``limits`` library; O(1) per request, where a moving window keeps a log of every hit);
an exceeded limit is a 429 with ``Retry-After``. Writes have one limit
(``LUMBUNG_WRITE_RATE``), NIK/KK lookups a much lower one of their own
(``LUMBUNG_LOOKUP_RATE``). Other reads are not limited here: they are cheap, served from
precomputed documents, and reveal nothing a token's scope does not already show. The
asyncio flavour of the library is used: its in-memory storage schedules expiry as a task on
the event loop, where the threaded one starts a timer thread every few writes, blocking the
loop while it starts.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio import storage, strategies

from shared.errors import Problem
from shared.language import Text, say


class TokenLimiter:
    """One rule (``"60/minute"``) counted per token; ``counted`` names what it counts."""

    counted: Text = say("permintaan", "requests")

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self._item = parse(rule)
        self._limiter = strategies.SlidingWindowCounterRateLimiter(storage.MemoryStorage())

    async def wait_s(self, who: str) -> int | None:
        """Count one request of ``who``: None within the limit, else the whole seconds to
        wait before the next one may pass (the refused request is not counted)."""
        if await self._limiter.hit(self._item, who):
            return None
        reset = (await self._limiter.get_window_stats(self._item, who)).reset_time
        return max(1, math.ceil(reset - time.time()))

    def refusal(self, wait_s: int) -> Problem:
        """The 429 for a request past the limit, with ``Retry-After``."""
        what = self.counted
        return Problem(
            429,
            say(
                f"terlalu banyak {what.id} untuk token ini (batas {self.rule}); coba lagi nanti",
                f"too many {what.en} for this token (limit {self.rule}); retry later",
            ),
            headers={"Retry-After": str(wait_s)},
        )

    async def check(self, who: str) -> None:
        """Count one request of ``who``; past the limit, raise the 429."""
        wait = await self.wait_s(who)
        if wait is not None:
            raise self.refusal(wait)


class WriteLimiter(TokenLimiter):
    counted = say("penulisan", "writes")


class LookupLimiter(TokenLimiter):
    counted = say("pencarian NIK atau nomor KK", "NIK or KK number lookups")
