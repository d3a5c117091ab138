#!/usr/bin/env python3
"""roto-tui preview benchmark: prints figures measured in one run on this machine.

roto-tui runs in a pseudo-terminal of 80x24 and of 200x60, on the preview screen, against a
real roto-server. For each size and colour mode it reports the frames per second shown, the
TUI process's CPU, and the bytes per second written to the terminal (what would cross an SSH
link). Targets: >= 15 fps at 80x24 using < 25 % of one core.

    python scripts/bench_tui.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from tests.server_process import ServerProcess


def measure(server: ServerProcess, cols: int, rows: int, colours: str, seconds: float) -> tuple[float, float, float]:
    stats = Path(tempfile.mkstemp(suffix=".json")[1])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    tui = Path(sys.executable).with_name("roto-tui")
    proc = subprocess.Popen(
        [
            str(tui),
            server.base,
            "--token",
            server.token,
            "--screen",
            "preview",
            "--colours",
            colours,
            "--stats",
            str(stats),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    written = 0
    counting = threading.Event()
    stop = threading.Event()

    def drain() -> None:
        nonlocal written
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:
                    return
                if counting.is_set():
                    written += len(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        time.sleep(4.0)  # start-up, connection, first frames
        frames0 = json.loads(stats.read_text() or "{}").get("frames", 0)
        cpu0 = psutil.Process(proc.pid).cpu_times()
        counting.set()
        start = time.perf_counter()
        time.sleep(seconds)
        elapsed = time.perf_counter() - start
        cpu1 = psutil.Process(proc.pid).cpu_times()
        frames1 = json.loads(stats.read_text() or "{}").get("frames", 0)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=10)
        os.close(master)
        stats.unlink(missing_ok=True)
    cpu = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
    return (frames1 - frames0) / elapsed, cpu, written / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = ServerProcess(Path(data) / "data", args=["--log-level", "warning"])
        try:
            for cols, rows in ((80, 24), (200, 60)):
                for colours in ("256", "truecolor", "ascii"):
                    fps, cpu, rate = measure(server, cols, rows, colours, args.seconds)
                    print(
                        f"preview {cols}x{rows} {colours:9s}: {fps:5.1f} fps, TUI CPU {cpu * 100:5.1f} % of one "
                        f"core, {rate / 1024:7.1f} KiB/s to the terminal"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
