#!/usr/bin/env python3
"""Visual Backup benchmark: prints figures measured in one run on this machine.

1. how long the ring buffer takes to decide what to delete with 100,000 backup files indexed
   (target: < 50 ms), for a typical split (a few files) and a large catch-up (1,000 files)
2. server CPU idle, with Visual Backup, and with Visual Backup plus a manual recording

    python scripts/bench_backup.py [--files 100000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

from roto_server.recording.index import BackupIndex, plan_deletions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from tests.server_process import ServerProcess


def build_index(path: Path, files: int) -> BackupIndex:
    index = BackupIndex(path)
    with index._db:  # one transaction for the bulk load
        index._db.executemany(
            "INSERT INTO files (name, start, end, size, complete) VALUES (?, ?, ?, ?, 1)",
            ((f"backup_{i:06d}.mkv", i * 300.0, (i + 1) * 300.0, 450_000_000) for i in range(files)),
        )
        index._db.executemany(
            "INSERT INTO tags (file_id, moment, created) VALUES (?, ?, ?)",
            ((i, i * 300.0, i * 300.0) for i in range(1, files, 97)),
        )
    return index


def decide_ms(index: BackupIndex, *, use_complete_space: bool, shortfall_files: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        stored, _, _ = index.totals()
        bps = 1_500_000.0
        if use_complete_space:  # free space short of an hour by `shortfall_files` files' worth
            free = int(3600 * bps) - shortfall_files * 450_000_000 + 1
            plan = plan_deletions(
                index.deletable(),
                free_bytes=free,
                bytes_per_second=bps,
                use_complete_space=True,
                stored_seconds=stored,
                max_seconds=0,
            )
        else:
            plan = plan_deletions(
                index.deletable(),
                free_bytes=0,
                bytes_per_second=bps,
                use_complete_space=False,
                stored_seconds=stored,
                max_seconds=stored - shortfall_files * 300 + 1,
            )
        best = min(best, (time.perf_counter() - start) * 1000)
        assert len(plan) >= shortfall_files - 1, len(plan)
    return best


def server_cpu(pid: int, seconds: float) -> float:
    proc = psutil.Process(pid)
    before, start = proc.cpu_times(), time.perf_counter()
    time.sleep(seconds)
    after = proc.cpu_times()
    return ((after.user - before.user) + (after.system - before.system)) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(Path(tmp) / "index.sqlite3", args.files)
        for mode, label in ((True, "whole space"), (False, "maximum duration")):
            typical = decide_ms(index, use_complete_space=mode, shortfall_files=3)
            large = decide_ms(index, use_complete_space=mode, shortfall_files=1000)
            print(
                f"delete decision, {args.files} files, {label:16s}: {typical:6.1f} ms for 3 files, "
                f"{large:6.1f} ms for 1000 files (target < 50 ms)"
            )
        index.close()

    with tempfile.TemporaryDirectory() as data:
        server = ServerProcess(Path(data) / "data", args=["--log-level", "warning", "--segment-seconds", "10"])
        api, auth = server.url("/api"), ("API-User", server.token)
        try:
            idle = server_cpu(server.proc.pid, args.seconds)
            requests.post(api, json={"backupActive": True}, auth=auth, timeout=10)
            time.sleep(1.0)
            backup = server_cpu(server.proc.pid, args.seconds)
            requests.post(api, json={"record": "start"}, auth=auth, timeout=10)
            time.sleep(1.0)
            both = server_cpu(server.proc.pid, args.seconds)
            state = server.state("recordingResolution", "recordingFps", "backupResolution", "backupFps")
            requests.post(api, json={"record": "stop", "backupActive": False}, auth=auth, timeout=10)
        finally:
            server.stop()
    print(f"server CPU idle:                                {idle * 100:6.1f} % of one core")
    print(
        f"server CPU, Visual Backup {state['backupResolution']}/{state['backupFps']}:               "
        f"{backup * 100:6.1f} % of one core"
    )
    print(
        f"server CPU, backup + manual recording {state['recordingResolution']}/{state['recordingFps']}: "
        f"{both * 100:6.1f} % of one core"
    )


if __name__ == "__main__":
    main()
