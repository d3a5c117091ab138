"""The one WebSocket client session, in-process: shared renderings of a change, per role and vocabulary."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from websocket import create_connection

from roto_server.api import socket_session
from roto_server.api.c2 import C2Vocabulary
from roto_server.api.hub import Hub
from roto_server.api.instant_send import InstantSender, instant_sender
from roto_server.api.socket_session import ClientSession, SocketRegistry
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import Attempt
from roto_server.device.store import Set, StateStore
from roto_shared.catalogue import load_catalogue
from tests.inprocess import InProcessServer


class FakeSocket:
    """Records what is sent; never receives anything until closed."""

    def __init__(self, reading: bool = True) -> None:
        self.sent: list[str] = []
        self.reading = asyncio.Event()
        if reading:
            self.reading.set()
        self.closed = asyncio.Event()

    async def send(self, text: str) -> None:
        await self.reading.wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        await self.closed.wait()
        return
        yield ""


@dataclass
class Unit:
    store: StateStore


@dataclass
class Context:
    unit: Unit
    hub: Hub
    sockets: SocketRegistry = field(default_factory=SocketRegistry)


async def wait_until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not check():
            await asyncio.sleep(0.001)


@contextlib.asynccontextmanager
async def sessions(ctx: Context, sockets: list[tuple[FakeSocket, str]]) -> AsyncIterator[None]:
    vocabulary = C2Vocabulary(ctx.unit.store)
    attempt = Attempt({}, None, None, "GET", "/api", "127.0.0.1")
    running = [
        asyncio.create_task(
            ClientSession(ws, ctx, Principal(role, role), attempt, vocabulary, (None, "")).run()  # type: ignore[arg-type]
        )
        for ws, role in sockets
    ]
    await wait_until(lambda: all(ws.sent for ws, _ in sockets if ws.reading.is_set()))  # the first states
    try:
        yield
    finally:
        for ws, _ in sockets:
            ws.reading.set()
            await ws.close()
        await asyncio.gather(*running)


async def test_one_change_is_rendered_once_per_role_and_vocabulary() -> None:
    store = StateStore(load_catalogue())
    ctx = Context(Unit(store), Hub(store))
    operators = [FakeSocket() for _ in range(20)]
    viewers = [FakeSocket() for _ in range(5)]
    pairs = [(ws, "operator") for ws in operators] + [(ws, "viewer") for ws in viewers]
    async with sessions(ctx, pairs):
        store.apply([Set("changeVideoName", "shared"), Set("light0", False)], "admin")
        await wait_until(lambda: all(len(ws.sent) == 2 for ws, _ in pairs))
        first = operators[0].sent[1]
        assert json.loads(first) == {"changeVideoName": "shared", "light0": False}
        assert all(ws.sent[1] is first for ws in operators)  # the very same string: serialized once
        assert all(ws.sent[1] is viewers[0].sent[1] for ws in viewers)


async def test_a_slow_client_gets_its_own_coalesced_rendering() -> None:
    store = StateStore(load_catalogue())
    ctx = Context(Unit(store), Hub(store))
    fast, slow = FakeSocket(), FakeSocket(reading=False)
    slow.sent.append("(not read)")  # lets the start-up wait pass; the slow one still holds its first state
    async with sessions(ctx, [(fast, "operator"), (slow, "operator")]):
        for i in range(3):
            store.apply([Set("changeVideoName", f"v{i}")], "admin")
            await wait_until(lambda i=i: any(f'"v{i}"' in text for text in fast.sent))  # type: ignore[misc]
        store.apply([Set("light0", False)], "admin")
        await wait_until(lambda: any("light0" in text for text in fast.sent))
        slow.reading.set()
        await wait_until(lambda: any("light0" in text for text in slow.sent))
    received: dict[str, Any] = {}
    for text in slow.sent[2:]:
        received.update(json.loads(text))
    assert received == {"changeVideoName": "v2", "light0": False}  # the latest value of each, nothing lost


def test_a_failing_message_costs_that_message_only() -> None:
    class Broken(C2Vocabulary):
        def answer(self, session: ClientSession, doc: dict[str, Any]) -> list[dict[str, Any]]:
            raise RuntimeError("a bug")

    store = StateStore(load_catalogue())
    attempt = Attempt({}, None, None, "GET", "/api", "127.0.0.1")
    ctx = Context(Unit(store), Hub(store))
    session = ClientSession(FakeSocket(), ctx, Principal("admin", "admin"), attempt, Broken(store), (None, ""))  # type: ignore[arg-type]
    replies = session.receive('{"light0": false}')
    assert replies == [
        {
            "notification": {
                "variable": None,
                "level": "error",
                "message": "Internal error: the message failed; see the server log",
            }
        }
    ]
    assert session.receive("[]")[0]["notification"]["message"].startswith("Invalid value")  # still answering


def test_a_change_reaches_real_connections_without_waking_their_tasks(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the installed Sanic, the hub's sweep writes changes itself (the fast path is not silently lost)."""
    written: list[str] = []

    def recording(ws: Any) -> InstantSender | None:
        sender = instant_sender(ws)
        assert sender is not None, "this Sanic's WebSocket connection lacks what instant_send reads"
        send = sender.send
        sender.send = lambda text: (written.append(text), send(text))[1]  # type: ignore[method-assign]
        return sender

    monkeypatch.setattr(socket_session, "instant_sender", recording)
    clients = [create_connection(server.ws_url, timeout=10) for _ in range(3)]
    v1 = create_connection(server.ws_url.replace("/api?", "/api/v1?"), timeout=10)
    for ws in [*clients, v1]:
        assert len(json.loads(ws.recv())) > 20  # the full state
    server.get(light0="false")
    for ws in clients:
        assert json.loads(ws.recv()) == {"light0": False}
    in_v1_words = v1.recv()
    assert json.loads(in_v1_words) == {"cam1-light": False}
    assert sorted(written) == sorted(['{"light0": false}'] * 3 + [in_v1_words])
    for ws in [*clients, v1]:
        ws.close()
