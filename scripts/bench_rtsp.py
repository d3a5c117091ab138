#!/usr/bin/env python3
"""RTSP benchmark: figures measured in one run, against the engine with a synthetic source and a real roto-server.

Engine with a synthetic source (--engine):
1. H.264 encode cost of FullHD at 30 fps as a share of one core (libx264 ultrafast + zerolatency, one encoder)
2. CPU of the process that encodes and serves FullHD30 with 1 and with 10 ffmpeg readers (stream copy over TCP)
3. time from the start of a PyAV client (OPTIONS, DESCRIBE, SETUP, PLAY) to its first decoded frame

A real roto-server process (default), started with ROTO_FRAME_CODE=1 so every frame carries its render time:
4. server CPU with 1 and with 10 ffmpeg readers of /stream1 (FullHD30), and the ratio
5. glass-to-glass latency: render time drawn into the picture, read back from the decoded RTSP frame, p50/p90
6. DESCRIBE to the first decoded frame (PyAV, probing off)
7. MJPEG fps delivered at 4K@30 while /stream1 and /stream2 are read (stream1 follows recordingResolution: 4K too)

    PYTHONPATH=. python scripts/bench_rtsp.py [--seconds 8] [--engine]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from roto_server.imaging.h264 import H264Encoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from roto_server.imaging.pipeline import CODE_BITS, read_time_code
from tests.measure import cpu_share
from tests.rtsp_source import ServerThread, pattern
from tests.server_process import ServerProcess

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
        return cpu_share(None, seconds)
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


def engine_figures(seconds: float) -> None:
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


def readers_cpu(server: ServerProcess, url: str, readers: int, seconds: float) -> float:
    """CPU of the server process (all its threads) as a share of one core while `readers` ffmpeg clients read."""
    command = ["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-"]
    clients = [subprocess.Popen(command, stdin=subprocess.DEVNULL) for _ in range(readers)]
    try:
        deadline = time.monotonic() + 20
        while playing(server) < readers and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # every reader past its first keyframe
        return cpu_share(server.proc.pid, seconds)
    finally:
        for client in clients:
            client.terminate()
        for client in clients:
            client.wait(10)


def playing(server: ServerProcess) -> int:
    return int(server.state("rtspStatus")["rtspStatus"].get("playing", 0))


def latencies_ms(url: str, frames: int) -> list[float]:
    """Now minus the render time each decoded frame carries (same machine: one monotonic clock)."""
    mask = 2**CODE_BITS - 1
    out = []
    options = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "fflags": "nobuffer"}
    with av.open(url, options=options, timeout=10) as container:
        for index, frame in enumerate(container.decode(video=0)):
            now = int(time.monotonic() * 1000) & mask
            if index >= 30:  # past the start-up burst
                out.append(float((now - read_time_code(frame.to_ndarray(format="gray"))) & mask))
            if len(out) == frames:
                break
    return out


def describe_to_first_frame(url: str) -> float:
    start = time.perf_counter()
    options = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32"}
    with av.open(url, options=options, timeout=10) as container:
        next(container.decode(video=0))
    return time.perf_counter() - start


def mjpeg_fps(server: ServerProcess, seconds: float) -> float:
    import requests

    response = requests.get(server.url("/camera.mjpeg"), params={"token": server.token}, stream=True, timeout=10)
    parts, start = 0, time.monotonic()
    counting = start + 2.0  # the first seconds include the switch to 4K
    for chunk in response.iter_content(chunk_size=1 << 16):
        now = time.monotonic()
        if now >= counting:
            parts += chunk.count(b"--rotoframe")
        if now - counting > seconds:
            break
    response.close()
    return parts / (time.monotonic() - counting)


def real_server_figures(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = ServerProcess(Path(folder), env={"ROTO_FRAME_CODE": "1"})
        try:
            port = server.state("rtspStatus")["rtspStatus"]["port"]
            base = f"rtsp://API-User:{server.token}@127.0.0.1:{port}"
            one = readers_cpu(server, f"{base}/stream1", 1, seconds)
            ten = readers_cpu(server, f"{base}/stream1", 10, seconds)
            print(f"roto-server FullHD30 /stream1: 1 reader {one * 100:.1f} %, 10 readers {ten * 100:.1f} % of a core,")
            print(f"  ratio {ten / one:.2f}x")
            lags = sorted(latencies_ms(f"{base}/stream1", 150))
            p50, p90 = statistics.median(lags), lags[int(len(lags) * 0.9)]
            print(f"glass-to-glass FullHD30: p50 {p50:.0f} ms, p90 {p90:.0f} ms")
            firsts = sorted(describe_to_first_frame(f"{base}/stream1") for _ in range(5))
            print(f"DESCRIBE to first decoded frame: median {firsts[2]:.2f} s, max {firsts[-1]:.2f} s")
            server.post({"recordingResolution": "4K"}, auth=("admin", server.admin_password))
            command = ["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-c", "copy", "-f", "null", "-"]
            readers = [
                subprocess.Popen([*command[:5], "-i", f"{base}/{path}", *command[5:]], stdin=subprocess.DEVNULL)
                for path in ("stream1", "stream2")
            ]
            try:
                fps = mjpeg_fps(server, seconds)
            finally:
                for reader in readers:
                    reader.terminate()
                    reader.wait(10)
            alone = mjpeg_fps(server, seconds)
            print(
                f"MJPEG 4K@30 delivered: {fps:.1f} fps while stream1 (4K) and stream2 are read, {alone:.1f} fps alone"
            )
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--engine", action="store_true", help="also the engine figures with a synthetic source")
    args = parser.parse_args()
    if args.engine:
        engine_figures(args.seconds)
    real_server_figures(args.seconds)


if __name__ == "__main__":
    main()
