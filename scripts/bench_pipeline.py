#!/usr/bin/env python3
"""Imaging pipeline benchmark: prints figures and ratios measured in one run on this machine.

1. bare cv2.imencode of a FullHD frame at quality 75, frames/s (one thread)
2. the whole pipeline (render, process, encode) at FullHD, unpaced, frames/s and its ratio to 1.
3. server CPU idle, with 1 and with 20 concurrent MJPEG clients at FullHD/30, and their ratio
4. frames/s each client received

    python scripts/bench_pipeline.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import psutil

from roto_server.device.hardware import SimulatedHardware
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera
from roto_server.imaging.sources import SyntheticSource

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from tests.server_process import ServerProcess


def make_camera(paced: bool) -> Camera:
    unit = ControlUnit(Path(tempfile.mkdtemp()), SimulatedHardware(seed=1))
    unit.boot()
    unit.store.set_facts({"RPM0": 3000, "RPM1": 3000})
    return Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)], paced=paced)


def bare_encode_fps(seconds: float) -> float:
    camera = make_camera(paced=False)
    frame = camera.stream.process(camera.settings(), time.monotonic())
    cv2.setNumThreads(1)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])
        n += 1
    return n / (time.perf_counter() - start)


async def _pipeline_fps(seconds: float) -> float:
    camera = make_camera(paced=False)
    camera.start()
    try:
        n = 0
        start = 0.0
        async for _frame in camera.stream.frames():
            if n == 0:
                start = time.perf_counter()  # skip start-up and cache building
            n += 1
            if n > 1 and time.perf_counter() - start >= seconds:
                break
        return (n - 1) / (time.perf_counter() - start)
    finally:
        camera.stop()


class MjpegClient(threading.Thread):
    """Reads the stream over a raw socket and counts parts (cheap, so the client is not the bottleneck)."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.token = token
        self.parts = 0
        self.stop = threading.Event()

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.sendall(f"GET /camera.mjpeg?token={self.token} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        tail = b""
        marker = b"--rotoframe\r\n"
        while not self.stop.is_set():
            n = sock.recv_into(view)
            if not n:
                break
            chunk = tail + bytes(view[:n])
            self.parts += chunk.count(marker)
            tail = chunk[-(len(marker) - 1) :]
        sock.close()


def server_cpu(server: ServerProcess, clients: int, seconds: float) -> tuple[float, list[float]]:
    readers = [MjpegClient(server.port, server.token) for _ in range(clients)]
    for reader in readers:
        reader.start()
    time.sleep(2.0)  # every client connected and streaming
    proc = psutil.Process(server.proc.pid)
    before = proc.cpu_times()
    counts = [r.parts for r in readers]
    start = time.perf_counter()
    time.sleep(seconds)
    after = proc.cpu_times()
    elapsed = time.perf_counter() - start
    fps = [(r.parts - c) / elapsed for r, c in zip(readers, counts, strict=True)]
    for reader in readers:
        reader.stop.set()
    for reader in readers:
        reader.join(timeout=5)
    used = (after.user - before.user) + (after.system - before.system)
    time.sleep(1.0)
    return used / elapsed, fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    args = parser.parse_args()

    bare = bare_encode_fps(args.seconds / 2)
    print(f"bare cv2.imencode FullHD q75:        {bare:7.1f} frames/s")
    whole = asyncio.run(_pipeline_fps(args.seconds))
    print(
        f"whole pipeline FullHD (unpaced):     {whole:7.1f} frames/s  = {whole / bare:.2f} x bare encode "
        f"(target >= 0.80)"
    )

    with tempfile.TemporaryDirectory() as data:
        server = ServerProcess(Path(data) / "data", args=["--log-level", "warning"])
        try:
            idle, _ = server_cpu(server, 0, args.seconds)
            one, fps_one = server_cpu(server, 1, args.seconds)
            twenty, fps_twenty = server_cpu(server, 20, args.seconds)
        finally:
            server.stop()
    print(f"server CPU, no stream client (idle):   {idle * 100:6.1f} % of one core")
    print(f"server CPU, 1 MJPEG client FullHD/30:  {one * 100:6.1f} % of one core")
    print(
        f"server CPU, 20 MJPEG clients:          {twenty * 100:6.1f} % of one core  = {twenty / one:.2f} x one "
        f"client (target <= 1.30)"
    )
    print(f"delivered fps, 1 client:               {fps_one[0]:6.1f}")
    print(
        f"delivered fps, 20 clients:             min {min(fps_twenty):.1f}  mean "
        f"{sum(fps_twenty) / len(fps_twenty):.1f}  max {max(fps_twenty):.1f}"
    )


if __name__ == "__main__":
    main()
