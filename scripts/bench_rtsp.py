#!/usr/bin/env python3
"""RTSP building-block benchmark (the engine is not wired into roto-server yet): figures measured in one run.

1. H.264 encode cost of FullHD at 30 fps as a share of one core (libx264 ultrafast + zerolatency, one encoder)
2. CPU of the process that encodes and serves FullHD30 with 1 and with 10 ffmpeg readers (stream copy over TCP),
   and their ratio: one encoder is shared, so ten readers should cost little more than one
3. time from the start of a PyAV client (OPTIONS, DESCRIBE, SETUP, PLAY) to its first decoded frame, with the
   client's default stream probing and without it (the difference is the client's, not the server's)

    PYTHONPATH=. python scripts/bench_rtsp.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import av
import psutil

from roto_server.imaging.h264 import H264Encoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from tests.rtsp_source import ServerThread, pattern

FULL_HD = (1920, 1080)


def encode_share_of_a_core(seconds: float) -> float:
    encoder = H264Encoder(*FULL_HD, fps=30)
    frames = [pattern(*FULL_HD, index) for index in range(30)]
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        encoder.encode(frames[count % 30], count / 30)
        count += 1
    return (time.process_time() - cpu) / count * 30


def serving_cpu(server: ServerThread, readers: int, seconds: float) -> float:
    command = ["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", server.url(), "-c", "copy", "-f", "null", "-"]
    clients = [subprocess.Popen(command, stdin=subprocess.DEVNULL) for _ in range(readers)]
    try:
        deadline = time.monotonic() + 20
        while server.call(lambda: server.server.table.playing) < readers and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # let every reader pass its first keyframe
        process = psutil.Process()
        before, start = process.cpu_times(), time.monotonic()
        time.sleep(seconds)
        after = process.cpu_times()
        return (after.user + after.system - before.user - before.system) / (time.monotonic() - start)
    finally:
        for client in clients:
            client.terminate()
        for client in clients:
            client.wait(10)


def first_frame_seconds(server: ServerThread, probe: bool = True) -> float:
    options = {"rtsp_transport": "tcp"}
    if not probe:
        options |= {"analyzeduration": "0", "probesize": "32"}
    start = time.perf_counter()
    with av.open(server.url(), options=options, timeout=10) as container:
        next(container.decode(video=0))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    seconds = parser.parse_args().seconds
    print(f"H.264 FullHD30 encode: {encode_share_of_a_core(seconds) * 100:.1f} % of a core")
    with ServerThread(sizes={"stream1": FULL_HD}) as server:
        time.sleep(1)
        idle = serving_cpu(server, 0, seconds)
        one = serving_cpu(server, 1, seconds)
        ten = serving_cpu(server, 10, seconds)
        firsts = sorted(first_frame_seconds(server) for _ in range(5))
        unprobed = sorted(first_frame_seconds(server, probe=False) for _ in range(5))
    print(f"encode + serve FullHD30, no reader: {idle * 100:.1f} % of a core")
    print(
        f"encode + serve FullHD30, 1 reader: {one * 100:.1f} %, 10 readers: {ten * 100:.1f} %, ratio {ten / one:.2f}x"
    )
    print(f"PyAV start to first decoded frame: median {firsts[2]:.2f} s, max {firsts[-1]:.2f} s")
    print(
        f"  the same with the client's stream probing off (analyzeduration=0, probesize=32): median {unprobed[2]:.3f} s"
    )


if __name__ == "__main__":
    main()
