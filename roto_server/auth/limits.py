"""Fixed-window counters per client: O(1) per check, memory bounded however many clients call.

When the table is full, idle entries go first, then the least recently seen clients that are
still under their limit; a client over its limit is dropped only when nothing else is left (and
then the one that went over first), so flooding new keys cannot reopen a lockout.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

MAX_KEYS = 20_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window ends


class WindowLimiter:
    def __init__(self, limit: int, period: float, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.period = period
        # two tables so eviction never has to scan: clients under their limit, by last use,
        # and clients over it, by the moment they went over (roughly by window end)
        self._open: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._over: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._max_keys = max_keys

    def __len__(self) -> int:
        return len(self._open) + len(self._over)

    def _current(self, key: Hashable, now: float) -> tuple[float, int]:
        start, count = self._over.get(key) or self._open.get(key) or (now, 0)
        if now - start >= self.period:
            start, count = now, 0
        return start, count

    def check(self, key: Hashable, now: float) -> Decision:
        """Would one more event be allowed? (Nothing is counted.)"""
        start, count = self._current(key, now)
        reset = max(1, math.ceil(start + self.period - now))
        return Decision(count < self.limit, self.limit, max(0, self.limit - count), reset)

    def hit(self, key: Hashable, now: float) -> Decision:
        """Count one event and say whether it was within the limit."""
        start, count = self._current(key, now)
        count += 1
        if count >= self.limit and key in self._over:
            self._over[key] = (start, count)  # keeps its place: the table stays ordered by window
        else:
            self._open.pop(key, None)
            self._over.pop(key, None)
            (self._over if count >= self.limit else self._open)[key] = (start, count)
        self._evict(now)
        reset = max(1, math.ceil(start + self.period - now))
        return Decision(count <= self.limit, self.limit, max(0, self.limit - count), reset)

    def _evict(self, now: float) -> None:
        while len(self) > self._max_keys:
            oldest_over = next(iter(self._over.values()), None)
            if oldest_over is not None and now - oldest_over[0] >= self.period:
                self._over.popitem(last=False)  # its window is over: it limits nothing any more
            elif self._open:
                self._open.popitem(last=False)  # the least recently seen client under its limit
            else:  # only live lockouts left: free the one that went over first
                self._over.popitem(last=False)
