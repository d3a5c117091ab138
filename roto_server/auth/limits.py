"""Fixed-window counters per client: O(1) per check, memory bounded however many clients call."""

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
        self._windows: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._max_keys = max_keys

    def _current(self, key: Hashable, now: float) -> tuple[float, int]:
        start, count = self._windows.get(key, (now, 0))
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
        self._windows[key] = (start, count)
        self._windows.move_to_end(key)
        while len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)  # the least recently seen client
        reset = max(1, math.ceil(start + self.period - now))
        return Decision(count <= self.limit, self.limit, max(0, self.limit - count), reset)
