"""Per-token write limits: a careless or hostile client cannot flood a village's records.

Counted per principal (role and subject) in this process with a sliding-window counter
(the ``limits`` library; O(1) per write, where a moving window keeps a log of every hit);
an exceeded limit is a 429 with ``Retry-After``. Reads are not limited here: they are
cheap and served from precomputed documents. The asyncio flavour of the library is used:
its in-memory storage schedules expiry as a task on the event loop, where the threaded
one starts a timer thread every few writes, blocking the loop while it starts.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio import storage, strategies

from shared.errors import Problem
from shared.language import say


class WriteLimiter:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self._item = parse(rule)
        self._limiter = strategies.SlidingWindowCounterRateLimiter(storage.MemoryStorage())

    async def check(self, who: str) -> None:
        if await self._limiter.hit(self._item, who):
            return
        reset = (await self._limiter.get_window_stats(self._item, who)).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise Problem(
            429,
            say(
                f"terlalu banyak penulisan untuk token ini (batas {self.rule}); coba lagi nanti",
                f"too many writes for this token (limit {self.rule}); retry later",
            ),
            headers={"Retry-After": str(wait)},
        )
