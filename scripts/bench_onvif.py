#!/usr/bin/env python3
"""ONVIF latency under load: GetProfiles and PullMessages p99 with 10 concurrent clients on loopback.

Starts a real roto-server (port 0), then runs ``--clients`` clients at once, each signing every request
with its own WS-Security PasswordDigest (fresh nonce): a GetProfiles loop, and a PullMessages loop on
each client's own subscription while a writer flips light0 through the C2 API. Prints the p50/p99 of
the GetProfiles round trip, the PullMessages round trip with messages waiting (Timeout PT0S), and the
delivery delay of an event to a waiting long poll (C2 write → PullMessages returned).

    PYTHONPATH=. python scripts/bench_onvif.py --clients 10 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.onvif_soap import envelope, security
from tests.server_process import ADMIN_PASSWORD, ServerProcess


def figures(values: list[float]) -> str:
    return f"p50 {p(values, 0.5):.1f} ms  p99 {p(values, 0.99):.1f} ms"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def call(client: httpx.AsyncClient, path: str, body: str | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else envelope(body, security("admin", ADMIN_PASSWORD))
    res = await client.post(path, content=content)
    res.raise_for_status()
    return res


def signed(body: str, n: int) -> list[bytes]:
    """Envelopes signed ahead (each its own nonce), so the timing measures the unit rather than the client."""
    return [envelope(body, security("admin", ADMIN_PASSWORD)) for _ in range(n)]


async def profiles_loop(client: httpx.AsyncClient, n: int, out: list[float]) -> None:
    for body in signed("<trt:GetProfiles/>", n):
        start = time.perf_counter()
        await call(client, "/onvif/media_service", body)
        out.append(time.perf_counter() - start)


async def subscribe(client: httpx.AsyncClient) -> str:
    res = await call(client, "/onvif/event_service", "<tev:CreatePullPointSubscription/>")
    address = res.text.split("Address>", 1)[1].split("<", 1)[0]
    return "/" + address.split("/", 3)[3]


async def pull_loop(client: httpx.AsyncClient, path: str, n: int, out: list[float]) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await call(
            client,
            path,
            "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout>"
            "<tev:MessageLimit>50</tev:MessageLimit></tev:PullMessages>",
        )
        out.append(time.perf_counter() - start)


async def delivery(base: str, clients: list[httpx.AsyncClient], paths: list[str], rounds: int) -> list[float]:
    delays: list[float] = []
    writes: list[float] = []
    async with httpx.AsyncClient(base_url=base, auth=("admin", ADMIN_PASSWORD)) as writer:
        # every write must change light0, or no event comes and the polls time out: start from its value
        light = (await writer.post("/api", json={"get": ["light0"]})).json()["light0"]
        for _ in range(rounds):
            light = not light
            polls = [
                asyncio.create_task(
                    call(
                        c,
                        p_,
                        "<tev:PullMessages><tev:Timeout>PT5S</tev:Timeout>"
                        "<tev:MessageLimit>50</tev:MessageLimit></tev:PullMessages>",
                    )
                )
                for c, p_ in zip(clients, paths, strict=True)
            ]
            await asyncio.sleep(0.2)  # every poll waiting first: 50 ms left some still in flight, timing the client
            written = time.perf_counter()
            await writer.post("/api", json={"light0": light})
            writes.append(time.perf_counter() - written)
            for poll in asyncio.as_completed(polls):
                await poll
                delays.append(time.perf_counter() - written)
    print(f"(the C2 writes themselves: {figures(writes)}, slowest {max(writes) * 1000:.1f} ms)")
    return delays


async def bench(base: str, clients_n: int, requests: int) -> None:
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(clients_n)]
    try:
        for c in clients:  # warm up connections
            await call(c, "/onvif/media_service", "<trt:GetProfiles/>")
        timings: list[float] = []
        await asyncio.gather(*(profiles_loop(c, requests, timings) for c in clients))
        print(f"GetProfiles  {clients_n} clients x {requests}: {figures(timings)}")
        paths = [await subscribe(c) for c in clients]
        pulls: list[float] = []
        await asyncio.gather(*(pull_loop(c, path, requests, pulls) for c, path in zip(clients, paths, strict=True)))
        print(f"PullMessages {clients_n} clients x {requests} (PT0S): {figures(pulls)}")
        delays = await delivery(base, clients, paths, 20)
        print(
            f"event delivery C2 write → {clients_n} long polls: p50 {p(delays, 0.5):.1f} ms  "
            f"p99 {p(delays, 0.99):.1f} ms  (mean {statistics.mean(delays) * 1000:.1f} ms)"
        )
    finally:
        for c in clients:
            await c.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200, help="requests per client and measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = ServerProcess(Path(data))
        try:
            asyncio.run(bench(server.base, args.clients, args.requests))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
