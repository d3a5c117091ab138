#!/usr/bin/env python3
"""WebRTC benchmark against a real roto-server (ROTO_FRAME_CODE=1: every frame carries its render time).

1. glass-to-glass latency of /stream1 (FullHD30) through the seed's offer/answer: the render time drawn into the
   picture, read back from the frame an aiortc client decoded, p50/p90
2. offer request to the first decoded frame
3. server CPU (all its threads, share of one core) with 1 and with 4 WebRTC viewers of /stream1, and the ratio:
   the viewers share the one encoder, so each further viewer costs only packetizing and SRTP

The clients run in this process (aioice patched to gather on 127.0.0.1, the server told the same by its test-only
ROTO_WEBRTC_LOOPBACK); their decoding costs this process CPU, not the server's.

    PYTHONPATH=. python scripts/bench_webrtc.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aioice.ice
import requests
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from roto_server.imaging.pipeline import CODE_BITS, read_time_code
from tests.measure import cpu_share
from tests.server_process import ServerProcess

MASK = 2**CODE_BITS - 1


class Viewer:
    """One aiortc client of the seed's offer/answer flow."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.pc = RTCPeerConnection()
        self.track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self.pc.on("track", lambda track: self.track.done() or self.track.set_result(track))

    async def connect(self) -> MediaStreamTrack:
        auth = ("API-User", self.server.token)
        offer = (await asyncio.to_thread(requests.get, self.server.url("/api/webrtc/offer"), auth=auth)).json()
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = {"type": "answer", "sdp": self.pc.localDescription.sdp, "id": offer["id"]}
        posted = await asyncio.to_thread(requests.post, self.server.url("/api/webrtc/answer"), json=answer, auth=auth)
        posted.raise_for_status()
        return await asyncio.wait_for(self.track, 10)


async def latencies_ms(server: ServerProcess, frames: int) -> tuple[list[float], float]:
    viewer = Viewer(server)
    start = time.perf_counter()
    try:
        track = await viewer.connect()
        out: list[float] = []
        first = None
        index = 0
        while len(out) < frames:
            frame = await track.recv()
            now = int(time.monotonic() * 1000) & MASK
            first = first or time.perf_counter() - start
            index += 1
            if index > 30:  # past the start-up burst
                out.append(float((now - read_time_code(frame.to_ndarray(format="gray"))) & MASK))  # type: ignore[union-attr]
        return out, first or 0.0
    finally:
        await viewer.pc.close()


async def drain(track: MediaStreamTrack) -> None:
    while True:
        await track.recv()


async def viewers_cpu(server: ServerProcess, count: int, seconds: float) -> float:
    viewers = [Viewer(server) for _ in range(count)]
    tracks = [await viewer.connect() for viewer in viewers]
    drains = [asyncio.create_task(drain(track)) for track in tracks]
    try:
        await asyncio.sleep(2)  # every viewer past its first keyframe
        return await asyncio.to_thread(cpu_share, server.proc.pid, seconds)  # the viewers keep draining meanwhile
    finally:
        for task in drains:
            task.cancel()
        for viewer in viewers:
            await viewer.pc.close()


async def figures(server: ServerProcess, seconds: float) -> None:
    lags, first = await latencies_ms(server, 150)
    lags.sort()
    print(
        f"WebRTC glass-to-glass FullHD30: p50 {statistics.median(lags):.0f} ms, p90 {lags[int(len(lags) * 0.9)]:.0f} ms"
    )
    print(f"offer request to first decoded frame: {first:.2f} s")
    one = await viewers_cpu(server, 1, seconds)
    four = await viewers_cpu(server, 4, seconds)
    print(f"roto-server FullHD30 over WebRTC: 1 viewer {one * 100:.1f} %, 4 viewers {four * 100:.1f} % of a core,")
    print(f"  ratio {four / one:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each CPU measurement")
    args = parser.parse_args()
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    with tempfile.TemporaryDirectory() as folder:
        server = ServerProcess(Path(folder), env={"ROTO_FRAME_CODE": "1", "ROTO_WEBRTC_LOOPBACK": "1"})
        try:
            asyncio.run(figures(server, args.seconds))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
