"""The space budget every recorder keeps on its storage: free space (a quota counts) minus a reserve.

Manual recording, pictures and Visual Backup all go through here, so a quota storage or a
nearly full disk is treated the same way by each: refused up front when there is no room
to start, and stopped (or, for Visual Backup, made room for) before the reserve is touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

FREE_SPACE_RESERVE = 2 * 1024 * 1024  # never write the very last bytes: the file system and the index need some
START_MARGIN = 2 * 1024 * 1024  # room a recording or picture needs to be worth starting (a few 4K frames)
USAGE_POLL_S = 2.0  # free space is measured this often (a quota storage is walked); counted down in between

Usage = Callable[[], tuple[int, int, int]]  # (total, used, free) bytes, as Storage.usage


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def shortage(description: Mapping[str, Any], what: str) -> str | None:
    """Why the storage described in the state (``recordingStorage``, ``backupStorage``) has no room to start
    ``what``, or None. Uses the free space the storage service measured last, so no disk I/O."""
    free = int(description.get("free", 0))
    if free >= FREE_SPACE_RESERVE + START_MARGIN:
        return None
    name = description.get("name", description.get("uuid", "?"))
    return (
        f"the storage {name} is full: {_mb(free)} free, {what} needs at least "
        f"{_mb(FREE_SPACE_RESERVE + START_MARGIN)} (a reserve of {_mb(FREE_SPACE_RESERVE)} is kept)"
    )


class SpaceBudget:
    """Bytes a recorder may still write: measured every USAGE_POLL_S in a worker thread, spent in between."""

    def __init__(self, usage: Usage) -> None:
        self._usage = usage
        self._left = 0
        self._measured_at = float("-inf")

    @property
    def left(self) -> int:
        return self._left

    async def measure(self) -> int:
        free = (await asyncio.to_thread(self._usage))[2]
        self._left = free - FREE_SPACE_RESERVE
        self._measured_at = time.monotonic()
        return self._left

    async def allows(self, nbytes: int) -> bool:
        """Whether ``nbytes`` more fit; measures again when the last figure is older than USAGE_POLL_S."""
        if time.monotonic() - self._measured_at > USAGE_POLL_S:
            await self.measure()
        return self._left >= nbytes

    def spend(self, nbytes: int) -> None:
        self._left -= nbytes
