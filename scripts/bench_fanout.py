"""WebSocket fan-out: how long after the HTTP answer does one change reach each of N clients?

Starts a roto-server on 127.0.0.1 (port 0), connects N C2 WebSocket clients (and as many v1
clients with --v1: they see no video name, so they only add load), then writes changeVideoName
over HTTP many times and records, per client, the delay
from sending the HTTP request to the arrival of the change (the answer and the arrivals share
this process's event loop, so the request's round trip is included: an upper bound). Prints p50/p99/max in milliseconds.

    PYTHONPATH=. python scripts/bench_fanout.py --clients 100 --changes 200

On a busy machine the client process's own work dominates those figures; ``--in-process`` runs
the server side alone (the store, the hub, N ClientSessions over sockets whose send is a no-op)
and prints how long one change takes to reach every session, with the shared rendering and
with one rendering per client (as before it existed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from roto_server.api.c2 import C2Vocabulary
from roto_server.api.hub import Hub
from roto_server.api.socket_session import ClientSession, SocketRegistry
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import Attempt
from roto_server.device.store import Set, StateStore
from roto_shared.catalogue import load_catalogue
from tests.server_process import ServerProcess


async def client(url: str, key: str, arrivals: dict[str, list[float]], ready: asyncio.Event) -> None:
    async with connect(url, max_size=2**22) as ws:
        await ws.recv()  # the full state
        ready.set()
        async for raw in ws:
            now = time.perf_counter()
            if key in raw:  # cheap: the client process shares the 2 cores with the server
                arrivals.setdefault(json.loads(raw)[key], []).append(now)


async def run(server: ServerProcess, clients: int, changes: int, v1: bool) -> list[float]:
    arrivals: dict[str, list[float]] = {}
    urls = [(f"ws://127.0.0.1:{server.port}/api?token={server.token}", "changeVideoName")] * clients
    if v1:
        urls += [(f"ws://127.0.0.1:{server.port}/api/v1?token={server.token}", "changeVideoName")] * clients
    readies = [asyncio.Event() for _ in urls]
    tasks = [asyncio.create_task(client(url, key, arrivals, r)) for (url, key), r in zip(urls, readies, strict=True)]
    await asyncio.gather(*(r.wait() for r in readies))
    delays: list[float] = []
    async with httpx.AsyncClient(base_url=server.base, params={"token": server.token}) as http:
        for i in range(changes):
            value = f"fanout{i}"
            sent = time.perf_counter()
            await http.post("/api", content=json.dumps({"changeVideoName": value}))
            deadline = time.perf_counter() + 5
            while len(arrivals.get(value, [])) < clients and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            delays += [(t - sent) * 1000 for t in arrivals.get(value, [])]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return delays


class NullSocket:
    def __init__(self, arrived: list[float]) -> None:
        self.arrived = arrived
        self.closed = asyncio.Event()

    async def send(self, text: str) -> None:
        self.arrived.append(time.perf_counter())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.set()

    def __aiter__(self) -> NullSocket:
        return self

    async def __anext__(self) -> str:
        await self.closed.wait()
        raise StopAsyncIteration


async def in_process(clients: int, changes: int, shared: bool) -> list[float]:
    store = StateStore(load_catalogue())
    sockets = SocketRegistry()
    if not shared:
        sockets.rendering = lambda source, session, values: SocketRegistry._render(session, values)  # type: ignore[method-assign]
    ctx = argparse.Namespace(unit=argparse.Namespace(store=store), hub=Hub(store), sockets=sockets)
    arrived: list[float] = []
    attempt = Attempt({}, None, None, "GET", "/api", "127.0.0.1")
    roles = ("operator", "viewer", "admin")
    nulls = [NullSocket(arrived) for _ in range(clients)]
    c2 = C2Vocabulary(store)  # one per path, as in the server
    tasks = [
        asyncio.create_task(
            ClientSession(ws, ctx, Principal("u", roles[i % 3]), attempt, c2, (None, "")).run()  # type: ignore[arg-type]
        )
        for i, ws in enumerate(nulls)
    ]
    while len(arrived) < clients:
        await asyncio.sleep(0.001)
    delays = []
    for i in range(changes):
        arrived.clear()
        start = time.perf_counter()
        store.apply([Set("changeVideoName", f"fanout{i}"), Set("sharpness", 1 + i % 15)], "admin")
        while len(arrived) < clients:
            await asyncio.sleep(0)
        delays.append((arrived[-1] - start) * 1000)
    for ws in nulls:
        await ws.close()
    await asyncio.gather(*tasks)
    return sorted(delays)


def report(label: str, delays: list[float]) -> None:
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(f"{label}: p50 {statistics.median(delays):.2f} ms, p99 {p99:.2f} ms, max {delays[-1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--v1", action="store_true", help="as many /api/v1 clients again")
    parser.add_argument("--in-process", action="store_true", help="the server side alone, shared vs per client")
    args = parser.parse_args()
    if args.in_process:
        for shared in (False, True):
            delays = asyncio.run(in_process(args.clients, args.changes, shared))
            label = "shared rendering" if shared else "per-client rendering"
            report(f"{args.clients} sessions, last arrival after a change, {label}", delays)
        return
    server = ServerProcess(Path(tempfile.mkdtemp()) / "data", args=["--head0", "none", "--head1", "none"])
    try:
        delays = sorted(asyncio.run(run(server, args.clients, args.changes, args.v1)))
    finally:
        server.stop()
    if not delays:
        print("no change arrived")
        return
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(
        f"{args.clients} clients{' (+ as many v1)' if args.v1 else ''}, {args.changes} changes: "
        f"p50 {statistics.median(delays):.2f} ms, p99 {p99:.2f} ms, max {delays[-1]:.2f} ms, "
        f"{len(delays)} arrivals"
    )


if __name__ == "__main__":
    main()
