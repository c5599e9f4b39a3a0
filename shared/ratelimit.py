"""Per-token write limits: a careless or hostile client cannot flood a village's records.

Counted per principal (role and subject) in this process with a moving window (the
``limits`` library); an exceeded limit is a 429 with ``Retry-After``. Reads are not
limited here: they are cheap and served from precomputed documents.
"""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies

from shared.errors import Problem


class WriteLimiter:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self._item = parse(rule)
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def check(self, who: str) -> None:
        if self._limiter.hit(self._item, who):
            return
        reset = self._limiter.get_window_stats(self._item, who).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise Problem(
            429,
            f"too many writes for this token (limit {self.rule}); retry later",
            headers={"Retry-After": str(wait)},
        )
