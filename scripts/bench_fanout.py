"""WebSocket fan-out: how long after the HTTP answer does one change reach each of N clients?

End to end (the default): a real roto-server on 127.0.0.1 (port 0, no camera heads) and a bare Sanic
app that answers the HTTP write first and then sends the change to each client in a loop, one
``json.dumps`` and one awaited send per client (the naive baseline), measured in the same run. The N
WebSocket clients live in worker processes of their own (``--workers``), not in the process that
writes the change, so the writer's timing is not queued behind N receives; each worker drives its
clients with websockets' sans-I/O protocol in one selector loop, so a receipt costs microseconds.
Every process reads the same CLOCK_MONOTONIC; a delay is a client's receipt minus the moment the
writer had the HTTP answer.

    PYTHONPATH=. python scripts/bench_fanout.py --clients 100 --changes 200

``--in-process`` runs the server side alone (the store, the hub, N ClientSessions over sockets whose
send is a no-op) and prints how long one change takes to reach every session, with the shared
rendering and with one rendering per client (as before it existed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from roto_server.api.c2 import C2Vocabulary
from roto_server.api.hub import Hub
from roto_server.api.socket_session import ClientSession, SocketRegistry
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import Attempt
from roto_server.device.store import Set, StateStore
from roto_shared.catalogue import load_catalogue
from tests.server_process import ServerProcess

KEY = "changeVideoName"

# The naive baseline: every change is answered, then sent to each client in turn, each with its own
# encoding and an awaited send (what a server without a hub or shared rendering would do).
NAIVE_APP = """
import asyncio, json, socket
from sanic import Sanic
from sanic.response import json as json_response
app = Sanic("naive")
clients = set()
@app.websocket("/ws")
async def ws(request, ws):
    clients.add(ws)
    try:
        await ws.send(json.dumps({}))
        async for _ in ws:
            pass
    finally:
        clients.discard(ws)
async def fan_out(values):
    for client in list(clients):
        await client.send(json.dumps(values))
@app.post("/change")
async def change(request):
    asyncio.get_running_loop().create_task(fan_out(request.json))
    return json_response(request.json)
async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print("listening on 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
    server = await app.create_server(sock=sock, return_asyncio_server=True)
    await server.startup()
    await server.serve_forever()
asyncio.run(main())
"""


class Client:
    """One WebSocket connection driven by websockets' sans-I/O protocol over a plain socket."""

    def __init__(self, url: str) -> None:
        uri = parse_uri(url)
        self.sock = socket.create_connection((uri.host, uri.port), timeout=60)
        self.protocol = ClientProtocol(uri, max_size=2**22)
        self.protocol.send_request(self.protocol.connect())
        self.flush()
        self.opened = False  # the handshake answered and the full state received

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def receive(self) -> list[bytes]:
        """The text messages that arrived (an answered ping included nothing to report)."""
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed a connection")
        self.protocol.receive_data(data)
        texts = [e.data for e in self.protocol.events_received() if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
        self.flush()  # pongs
        return texts


def worker_clients(url: str, count: int) -> None:
    """A worker process: ``count`` connections; one stdout line per change once all of them have it.

    The clients are websockets' sans-I/O protocol in one selector loop rather than asyncio clients:
    a receipt costs a few microseconds instead of a task step, so the figure is the server's
    delivery, not this process's queue of receives (it shares the machine's two cores)."""
    clients = [Client(url) for _ in range(count)]
    selector = selectors.DefaultSelector()
    for client in clients:
        selector.register(client.sock, selectors.EVENT_READ, client)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    pattern = re.compile(rb'"' + KEY.encode() + rb'":\s*"([^"]+)"')
    arrivals: dict[str, list[float]] = {}
    waiting = count
    while True:
        for key, _ in selector.select():
            now = time.monotonic()
            client = key.data
            if client is None:  # the writer says it is done
                print(json.dumps(arrivals), flush=True)
                return
            for text in client.receive():
                if not client.opened:
                    client.opened = True  # the first message is the full state
                    waiting -= 1
                    if waiting == 0:
                        print("ready", flush=True)
                    continue
                found = pattern.search(text)
                if found:
                    value = found.group(1).decode()
                    got = arrivals.setdefault(value, [])
                    got.append(now)
                    if len(got) == count:
                        print("all", value, flush=True)


def measure(ws_url: str, write: Callable[[str], None], clients: int, changes: int, workers: int) -> list[float]:
    """Delays (ms) from each HTTP answer to each client's receipt, clients spread over ``workers`` processes."""
    shares = [clients // workers + (1 if i < clients % workers else 0) for i in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", ws_url, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in shares
        if n
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        answered: dict[str, float] = {}
        for i in range(changes):
            value = f"fanout{i}"
            write(value)
            answered[value] = time.monotonic()
            for proc in procs:  # the next change only once every client has this one
                assert proc.stdout is not None and proc.stdout.readline().split() == ["all", value]
        delays: list[float] = []
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("done\n")
            proc.stdin.flush()
            for value, times in json.loads(proc.stdout.readline()).items():
                delays += [(t - answered[value]) * 1000 for t in times]
        return sorted(delays)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def ours(clients: int, changes: int, workers: int) -> list[float]:
    server = ServerProcess(Path(tempfile.mkdtemp()) / "data", args=["--head0", "none", "--head1", "none"])
    http = requests.Session()
    api = server.url("/api")

    def write(value: str) -> None:
        answer = http.post(api, params={"token": server.token}, data=json.dumps({KEY: value}), timeout=10)
        assert answer.status_code == 200, answer.text

    try:
        return measure(f"ws://127.0.0.1:{server.port}/api?token={server.token}", write, clients, changes, workers)
    finally:
        server.stop()


def naive(clients: int, changes: int, workers: int) -> list[float]:
    proc = subprocess.Popen([sys.executable, "-c", NAIVE_APP], stdout=subprocess.PIPE, text=True)
    http = requests.Session()
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        wait_listening(port)

        def write(value: str) -> None:
            answer = http.post(f"http://127.0.0.1:{port}/change", data=json.dumps({KEY: value}), timeout=10)
            assert answer.status_code == 200, answer.text

        return measure(f"ws://127.0.0.1:{port}/ws", write, clients, changes, workers)
    finally:
        proc.terminate()
        proc.wait(10)


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


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
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--in-process", action="store_true", help="the server side alone, shared vs per client")
    parser.add_argument("--worker", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_clients(args.worker[0], int(args.worker[1]))
        return
    if args.in_process:
        for shared in (False, True):
            delays = asyncio.run(in_process(args.clients, args.changes, shared))
            label = "shared rendering" if shared else "per-client rendering"
            report(f"{args.clients} sessions, last arrival after a change, {label}", delays)
        return
    for name, bench in (("roto-server", ours), ("naive bare Sanic", naive)):
        delays = bench(args.clients, args.changes, args.workers)
        report(f"{name}, {args.clients} clients in {args.workers} processes, {args.changes} changes", delays)


if __name__ == "__main__":
    main()
