#!/usr/bin/env python3
"""roto-tui preview benchmark: prints figures measured in one run on this machine.

roto-tui runs in a pseudo-terminal of 80x24 and of 200x50, on the preview screen, against a
real roto-server. For each size and colour mode it reports the frames per second shown, the
TUI process's CPU, the bytes per second written to the terminal (what would cross an SSH
link) and the colour error of the picture against the server's JPEG (mean per channel, 0..255,
after a 4x4 blur; for ASCII the brightness error). Targets: >= 20 fps at 80x24 in every mode
using < 20 % of one core; >= 15 fps at 200x50.

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

import cv2
import numpy as np
import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from roto_tui.render import RAMP, ColourMode, StripRenderer, shown_pixels
from tests.server_process import ServerProcess


def colour_error(server: ServerProcess, cols: int, rows: int, mode: ColourMode) -> float:
    """Error of one server frame drawn at the preview's size, against the frame itself."""
    jpeg = requests.get(server.url("/camera.jpeg"), params={"token": server.token, "width": cols}, timeout=10).content
    frame = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    scale = min(cols / frame.shape[1], (rows - 3) * 2 / frame.shape[0])  # the bar, status and footer take 3 rows
    size = round(frame.shape[1] * scale), round(frame.shape[0] * scale / 2) * 2
    source = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    strips = StripRenderer().render(source, mode)
    if mode is ColourMode.ASCII:  # brightness per cell: the ramp's step against the two pixels' mean
        luma = source.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        wanted = (luma[0::2] + luma[1::2]) / 2
        steps = np.array([[RAMP.index(c) for c in strip.text] for strip in strips], np.float32)
        shown = (steps + 0.5) * 255 / len(RAMP)
        return float(np.abs(cv2.blur(shown, (4, 2)) - cv2.blur(wanted, (4, 2))).mean())
    shown_rgb = shown_pixels(strips).astype(np.float32)
    return float(np.abs(cv2.blur(shown_rgb, (4, 4)) - cv2.blur(source.astype(np.float32), (4, 4))).mean())


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
            for cols, rows in ((80, 24), (200, 50)):
                for colours in ("256", "truecolor", "ascii"):
                    fps, cpu, rate = measure(server, cols, rows, colours, args.seconds)
                    error = colour_error(server, cols, rows, ColourMode(colours))
                    print(
                        f"preview {cols}x{rows} {colours:9s}: {fps:5.1f} fps, TUI CPU {cpu * 100:5.1f} % of one "
                        f"core, {rate / 1024:7.1f} KiB/s to the terminal, colour error {error:4.1f}"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
