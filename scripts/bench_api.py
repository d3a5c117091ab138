#!/usr/bin/env python3
"""C2 HTTP API throughput against a bare Sanic app, and MJPEG fps while the API is hammered, in one run.

1. wrk -t2 -c50 on ``GET /api?token=...&get=[light0,record,recordTime,pan0]`` of a real roto-server,
   and on a bare Sanic app (one process, a JSON answer of the same size) started the same way, all
   servers up at once and measured in turns for a few rounds: the ratio of each round and their median.
2. frames/s an MJPEG client (/camera.mjpeg) receives alone, and while wrk hammers the API: the ratio.

    python scripts/bench_api.py [--seconds 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness
from tests.server_process import ServerProcess

# A bare Sanic app answering the same JSON. "uvloop": app.run as Sanic's docs show it (uvloop, which
# Sanic picks when installed); "asyncio": on the standard asyncio loop, as roto_server/serve.py runs.
BARE_APP = """
import asyncio, socket, sys
from sanic import Sanic
from sanic.response import json
app = Sanic("bare")
@app.get("/api")
async def api(request):
    return json({"light0": True, "record": "stop", "recordTime": 0, "pan0": 0})
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
if sys.argv[1] == "uvloop":
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
else:
    async def main():
        server = await app.create_server(sock=sock, return_asyncio_server=True)
        await server.startup()
        await server.serve_forever()
    asyncio.run(main())
"""
QUERY = "get=[light0,record,recordTime,pan0]"


def wrk(url: str, seconds: float) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds:g}s", url], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


@contextmanager
def bare_server(loop: str) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, loop], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield f"{url}?{QUERY}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def roto_server(args: list[str]) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", args=args, env={"ROTO_RATE_LIMIT_HTTP": "100"})  # the default limits
        try:
            yield server
        finally:
            server.stop()


def api_url(server: ServerProcess) -> str:
    return f"{server.url('/api')}?token={server.token}&{QUERY}"


def mjpeg_fps(url: str, seconds: float, result: list[float]) -> None:
    parts = 0
    with requests.get(url, stream=True, timeout=10) as response:
        start = time.monotonic()
        for chunk in response.iter_content(65536):
            parts += chunk.count(b"Content-Type: image/jpeg")
            if time.monotonic() - start >= seconds:
                break
    result.append(parts / (time.monotonic() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs on each server, taken in turns")
    args = parser.parse_args()
    seconds = args.seconds
    with ExitStack() as servers:
        server = servers.enter_context(roto_server([]))
        targets = {
            "ours": api_url(server),
            "headless": api_url(servers.enter_context(roto_server(["--head0", "none", "--head1", "none"]))),
            "asyncio": servers.enter_context(bare_server("asyncio")),
            "uvloop": servers.enter_context(bare_server("uvloop")),
        }
        assert requests.get(targets["ours"], timeout=5).json().keys() == {"light0", "record", "recordTime", "pan0"}
        # in turns, so a slow spell of this shared machine hits every server alike
        rates: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                rates[name].append(wrk(url, seconds))
        stream = f"{server.url('/camera.mjpeg')}?token={server.token}"
        alone: list[float] = []
        mjpeg_fps(stream, seconds, alone)
        loaded: list[float] = []
        reader = threading.Thread(target=mjpeg_fps, args=(stream, seconds, loaded))
        reader.start()
        hammered = wrk(targets["ours"], seconds)
        reader.join()

    def ratios(name: str, base: str) -> str:
        each = [ours / bare for ours, bare in zip(rates[name], rates[base], strict=True)]
        return f"{statistics.median(each):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in each)})"

    ours = statistics.median(rates["ours"])
    print(f"{args.rounds} rounds of wrk -t2 -c50 -d{seconds:g}s on each server in turn; medians")
    print("| figure | measured | target |")
    print("|---|---|---|")
    print(f"| C2 GET /api?token&get=[4 names] | {ours:.0f} req/s | |")
    for loop in ("asyncio", "uvloop"):
        rate = statistics.median(rates[loop])
        print(f"| bare Sanic JSON GET on {loop} | {rate:.0f} req/s: ours = {ratios('ours', loop)} | >= 0.80x |")
    headless = statistics.median(rates["headless"])
    print(f"| the same, no camera heads | {headless:.0f} req/s: {ratios('headless', 'asyncio')} asyncio | |")
    print(f"| API while an MJPEG client reads | {hammered:.0f} req/s | |")
    fps = f"{alone[0]:.1f} / {loaded[0]:.1f} = {loaded[0] / alone[0]:.2f}x"
    print(f"| MJPEG fps alone / while hammered | {fps} | >= 0.95x |")


if __name__ == "__main__":
    main()
