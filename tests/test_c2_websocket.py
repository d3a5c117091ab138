"""The C2 WebSocket API at /api: initial state, live changes from every source, slow peers."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
import requests
from websocket import WebSocket, WebSocketBadStatusException, create_connection

from tests.server_process import ServerProcess


def recv_until(ws: WebSocket, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    """Read messages until one satisfies predicate; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if predicate(msg):
            return msg  # type: ignore[no-any-return]
    raise AssertionError("expected message never arrived")


def test_first_message_is_the_whole_state(shared_server: ServerProcess) -> None:
    ws = create_connection(shared_server.ws_url, timeout=10)
    first = json.loads(ws.recv())
    ws.close()
    assert first == {
        **shared_server.get().json(),
        **{k: first[k] for k in ("time", "seconds", "oct0", "oct1", "psi0", "psi1", "RPM0", "RPM1", "fpgaTemp")},
    }
    assert len(first) == 108


def test_handshake_without_valid_credentials_is_401(shared_server: ServerProcess) -> None:
    for url in (f"ws://127.0.0.1:{shared_server.port}/api", f"ws://127.0.0.1:{shared_server.port}/api?token=x"):
        with pytest.raises(WebSocketBadStatusException) as info:
            create_connection(url, timeout=5)
        assert info.value.status_code == 401


def test_changes_from_http_and_other_clients_reach_everyone(server: ServerProcess) -> None:
    a = create_connection(server.ws_url, timeout=10)
    b = create_connection(server.ws_url, timeout=10)
    a.recv()
    b.recv()
    server.get(light1="false")
    assert recv_until(a, lambda m: "light1" in m)["light1"] is False
    assert recv_until(b, lambda m: "light1" in m)["light1"] is False
    a.send(json.dumps({"pip": 3}))
    assert recv_until(b, lambda m: "pip" in m)["pip"] == 3
    assert recv_until(a, lambda m: "pip" in m)["pip"] == 3
    assert server.state("pip") == {"pip": 3}
    a.close()
    b.close()


def test_hardware_changes_are_pushed(server: ServerProcess) -> None:
    ws = create_connection(server.ws_url, timeout=10)
    assert json.loads(ws.recv())["dictRotation0"] is True
    recv_until(ws, lambda m: m.get("RPM0", 0) > 2900)  # the disc spins up after power-on
    ws.send(json.dumps({"dictRotation0": False}))
    msg = recv_until(ws, lambda m: m.get("RPM0") == 0)  # and coasts down to a stop
    assert msg["RPM0"] == 0
    ws.close()


def test_refused_writes_are_explained_to_the_sender(server: ServerProcess) -> None:
    ws = create_connection(server.ws_url, timeout=10)
    ws.recv()
    ws.send(json.dumps({"recordingStorage": "no-such-uuid", "brightness": 3}))
    note = recv_until(ws, lambda m: "notification" in m)["notification"]
    assert note["variable"] == "recordingStorage" and "no storage with uuid" in note["message"]
    note = recv_until(ws, lambda m: "notification" in m)["notification"]
    assert note["variable"] == "brightness" and "exposure" in note["message"]
    ws.send("not json")
    note = recv_until(ws, lambda m: "notification" in m)["notification"]
    assert note["level"] == "error" and "JSON" in note["message"]
    ws.send(json.dumps({"get": ["light0", "zoom1"]}))
    assert recv_until(ws, lambda m: "zoom1" in m) == {"light0": True, "zoom1": 0}
    ws.close()


def test_a_client_that_never_reads_does_not_stall_others(server: ServerProcess) -> None:
    # a raw TCP peer completes the handshake, then never reads: its socket buffers fill up
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(
        (
            f"GET /api?token={server.token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    live = create_connection(server.ws_url, timeout=10)
    live.recv()
    names = ["changeVideoName", "changeImageName", "changePostName", "changeBackupPostName"]
    for i in range(300):  # ~300 large changes: far more than the stuck peer's buffers hold
        server.post({name: f"{'n' * 60}{i}" for name in names})
    last = recv_until(live, lambda m: m.get("changeVideoName", "").endswith("299"))
    assert last["changeVideoName"] == "n" * 60 + "299"
    assert requests.get(server.url("/api"), params={"token": server.token, "get": "[light0]"}, timeout=5).ok
    stuck.close()
    live.close()
