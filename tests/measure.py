"""Measuring helpers shared by the benchmark scripts (they import the test harness from the repository)."""

from __future__ import annotations

import time

import psutil


def cpu_share(pid: int | None, seconds: float) -> float:
    """CPU time of a process (all its threads) over ``seconds`` of wall clock, as a share of one core.

    ``pid`` None measures the calling process.
    """
    process = psutil.Process(pid)
    before, start = process.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after = process.cpu_times()
    return (after.user + after.system - before.user - before.system) / (time.monotonic() - start)
