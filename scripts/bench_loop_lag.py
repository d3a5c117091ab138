#!/usr/bin/env python3
"""Event-loop lag while both recorders write to a slow storage: prints p50/p99/max in one run.

A slow stick is simulated by wrapping the storage writes with a delay (a real slow medium needs FUSE or
a device, neither here): every muxed frame waits ``--frame-ms`` and every backup index transaction
``--index-ms``. The device runs in-process (no HTTP) with manual recording FullHD and Visual Backup on;
a probe task sleeps 5 ms at a time and records how late it wakes up. Two modes in one run:
``thread`` (the writer threads as built) and ``inline`` (the same work run on the loop, as before).

    python scripts/bench_loop_lag.py [--seconds 8] [--frame-ms 10] [--index-ms 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roto_server.assembly import build_device
from roto_server.device.store import Set
from roto_server.recording import backup, manual
from roto_server.recording.container import SegmentWriter
from roto_server.recording.index import BackupIndex
from roto_server.recording.writing import FileWorker

PROBE_S = 0.005


class InlineWorker:
    """FileWorker's interface, doing the work on the event loop: the behaviour before the writer threads."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def post(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    async def close(self) -> None:
        return None


def slow_down(cls: type, method: str, seconds: float) -> None:
    original = getattr(cls, method)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)  # the medium stalls the calling thread, as a real slow write does
        return original(*args, **kwargs)

    setattr(cls, method, slow)


async def measure(seconds: float) -> list[float]:
    lags = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        await asyncio.sleep(PROBE_S)
        lags.append((time.perf_counter() - start - PROBE_S) * 1000)
    return lags


async def run(mode: str, seconds: float) -> tuple[list[float], int]:
    worker: Any = InlineWorker if mode == "inline" else FileWorker
    manual.FileWorker = worker  # type: ignore[attr-defined]
    backup.FileWorker = worker  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").mkdir()
        device = build_device(Path(tmp) / "data", ("synthetic", "none"), Path(tmp) / "storages", 2.0)
        await device.start()
        try:
            store = device.unit.store
            result = store.apply([Set("record", "start"), Set("backupActive", True)], "admin")
            assert not result.notices, result.notices
            await asyncio.sleep(1.0)  # the first files are open
            lags = await measure(seconds)
            store.apply([Set("record", "stop"), Set("backupActive", False)], "admin")
        finally:
            await device.stop()
        frames = sum(p.stat().st_size for p in (Path(tmp) / "storages").rglob("*.mkv"))
    return lags, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--frame-ms", type=float, default=10.0)
    parser.add_argument("--index-ms", type=float, default=40.0)
    args = parser.parse_args()
    slow_down(SegmentWriter, "write", args.frame_ms / 1000)
    for method in ("open_file", "extend", "complete", "remove_files"):
        slow_down(BackupIndex, method, args.index_ms / 1000)
    print(f"slow storage: {args.frame_ms:g} ms per muxed frame, {args.index_ms:g} ms per index transaction")
    print("| mode | loop lag p50 | p99 | max | bytes recorded |")
    print("|---|---|---|---|---|")
    for mode in ("thread", "inline"):
        lags, written = asyncio.run(run(mode, args.seconds))
        q = statistics.quantiles(lags, n=100)
        print(f"| {mode} | {q[49]:.2f} ms | {q[98]:.2f} ms | {max(lags):.1f} ms | {written / 1e6:.1f} MB |")


if __name__ == "__main__":
    main()
