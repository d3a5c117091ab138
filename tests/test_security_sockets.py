"""Security regressions of the WebSocket APIs: the credential check before every upgrade, secrets kept
out of the log, sockets ended with their login session, C2 message limits, v1 in-band login."""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websocket import ABNF, WebSocket, WebSocketBadStatusException, create_connection

from roto_server.api.socket_session import SocketRegistry
from roto_server.auth import redact
from roto_server.auth.credentials import Principal
from tests.inprocess import InProcessServer
from tests.server_process import ServerProcess

SECRET_TOKEN = "leak-me-token-771"
SECRET_PASSWORD = "leak-me-password-772"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = InProcessServer(tmp_path_factory.mktemp("sockets") / "data", args=["--rate-limit-c2", "5"])
    yield proc
    proc.stop()


def ws_url(server: ServerProcess, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def until(ws: WebSocket, check: Any, seconds: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = json.loads(ws.recv())
        if check(message):
            return message  # type: ignore[no-any-return]
    raise AssertionError("no such message")


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/",
        "/api//",
        f"/api/?token={SECRET_TOKEN}",
        f"/api//?user=admin&password={SECRET_PASSWORD}",
        f"/api/v1/?token={SECRET_TOKEN}",
        f"/api/v1//?password={SECRET_PASSWORD}",
    ],
)
def test_every_spelling_of_a_socket_path_checks_credentials_before_the_upgrade(
    shared_server: ServerProcess, path: str
) -> None:
    with pytest.raises(WebSocketBadStatusException) as refused:
        create_connection(ws_url(shared_server, path), timeout=5)
    assert refused.value.status_code == 401
    assert "www-authenticate" in refused.value.resp_headers and b"error" in refused.value.resp_body


def test_refused_handshakes_leave_no_trace_or_secret_in_the_log(shared_server: ServerProcess) -> None:
    for path in ("/api/", f"/api/?token={SECRET_TOKEN}", f"/api/v1/?password={SECRET_PASSWORD}"):
        with pytest.raises(WebSocketBadStatusException):
            create_connection(ws_url(shared_server, path), timeout=5)
    requests.get(shared_server.url("/api"), params={"token": shared_server.token, "get": "[light0]"}, timeout=5)
    log = shared_server.log()
    assert "Traceback" not in log and SECRET_TOKEN not in log and SECRET_PASSWORD not in log


def test_the_log_filter_scrubs_urls_in_messages_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    redact.install()
    url = f"ws://admin:{SECRET_PASSWORD}@127.0.0.1:1/api/?user=admin&token={SECRET_TOKEN}&get=[light0]"
    logging.getLogger("sanic.error").error("Exception occurred while handling uri: %s", repr(url))
    logging.getLogger("roto.c2").warning("client at %s", url)  # a child logger: the root handlers scrub it
    try:
        raise ValueError(f"bad request {url}")
    except ValueError:
        logging.getLogger("sanic.error").exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert SECRET_TOKEN not in text and SECRET_PASSWORD not in text
    assert "token=***&get=[light0]" in text and "admin:***@127.0.0.1" in text


def test_c2_limit_counts_the_slash_path_and_websocket_messages(limited: ServerProcess) -> None:
    params = {"token": limited.token, "get": "[light0]"}  # 1 was ServerProcess's readiness probe
    assert requests.get(limited.url("/api/"), params=params, timeout=5).status_code == 200  # 2
    assert requests.get(limited.url("/api"), params=params, timeout=5).status_code == 200  # 3
    ws = create_connection(limited.ws_url, timeout=10)  # 4: the handshake
    ws.recv()
    ws.send(json.dumps({"get": ["light0"]}))  # 5
    assert until(ws, lambda m: "light0" in m)["light0"] is True
    ws.send(json.dumps({"get": ["light0"]}))  # 6: refused, the connection kept
    note = until(ws, lambda m: "notification" in m)["notification"]
    assert note["level"] == "error" and "Rate limit exceeded" in note["message"] and "retry in" in note["message"]
    refused = requests.get(limited.url("/api/"), params=params, timeout=5)
    assert refused.status_code == 429 and refused.json()["error"] == "Rate limit exceeded"
    ws.close()


def login(server: ServerProcess) -> str:
    answer = requests.post(
        server.url("/api/login"), json={"username": "admin", "password": server.admin_password}, timeout=5
    )
    return str(answer.json()["token"])


def close_after_session_ended(ws: WebSocket) -> tuple[list[Any], int | None]:
    """The messages a socket got until the server closed it, and the close code."""
    seen: list[Any] = []
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == ABNF.OPCODE_CLOSE:
            return seen, struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
        if opcode == ABNF.OPCODE_TEXT:
            seen.append(json.loads(frame.data))


def test_logout_closes_the_sockets_opened_with_that_session(server: ServerProcess) -> None:
    token, other = login(server), login(server)
    bearer_c2 = create_connection(ws_url(server, "/api"), header=[f"Authorization: Bearer {token}"], timeout=10)
    cookie_v1 = create_connection(ws_url(server, "/api/v1"), cookie=f"roto_session={token}", timeout=10)
    bystander = create_connection(ws_url(server, "/api"), header=[f"Authorization: Bearer {other}"], timeout=10)
    for ws in (bearer_c2, cookie_v1, bystander):
        assert len(json.loads(ws.recv())) > 10  # the first full state arrived
    answer = requests.post(server.url("/api/logout"), headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert answer.status_code == 200
    for ws in (bearer_c2, cookie_v1):
        seen, code = close_after_session_ended(ws)
        assert code == 1008 and "Session ended" in json.dumps(seen[-1]) and "logged out" in json.dumps(seen[-1])
    bystander.send(json.dumps({"get": ["light0"]}))  # another session's socket keeps working
    assert until(bystander, lambda m: "light0" in m)["light0"] is True
    bystander.close()


def test_a_socket_ends_when_its_session_expires() -> None:
    class Probe:
        def __init__(self, who: Principal) -> None:
            self.who = who
            self.ended = asyncio.Event()
            self.why = ""

        def end(self, why: str) -> None:
            self.why = why
            self.ended.set()

    async def scenario() -> str:
        registry = SocketRegistry()
        probe = Probe(Principal("admin", "admin", "tok", time.time() + 0.05))
        with registry.track(probe):  # type: ignore[arg-type]
            await asyncio.wait_for(probe.ended.wait(), 5)
        return probe.why

    assert asyncio.run(scenario()) == "session expired"


def test_v1_in_band_login(shared_server: ServerProcess) -> None:
    ws = create_connection(ws_url(shared_server, "/api/v1"), timeout=10)  # no credentials: the handshake succeeds
    ws.send(json.dumps({"get": ["fps"]}))
    first = json.loads(ws.recv())  # no state came before the answer
    assert first["error"] == "Authentication required" and "username" in first["message"]
    ws.send(json.dumps({"brightness": 10}))
    assert json.loads(ws.recv())["error"] == "Authentication required"
    ws.send(json.dumps({"username": "admin", "password": "wrong"}))
    assert json.loads(ws.recv())["error"] == "Authentication failed"
    ws.send(json.dumps({"username": "admin", "password": shared_server.admin_password}))
    assert json.loads(ws.recv()) == {"authenticated": True, "user": "admin", "permissions": ["read", "write", "admin"]}
    state = json.loads(ws.recv())
    assert state["fps"] == 30 and "resolution" in state  # then the whole v1 state
    ws.send(json.dumps({"get": ["fps"]}))
    assert until(ws, lambda m: set(m) == {"fps"}) == {"fps": 30}
    ws.close()


def test_v1_in_band_login_as_anonymous_viewer(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data", args=["--anonymous-read"])
    try:
        ws = create_connection(ws_url(server, "/api/v1"), timeout=10)
        assert json.loads(ws.recv())["fps"] == 30  # a viewer gets the state at once
        ws.send(json.dumps({"fps": 15}))
        assert until(ws, lambda m: "error" in m)["key"] == "fps"  # but may not write
        ws.send(json.dumps({"username": "API-User", "password": server.token}))
        assert until(ws, lambda m: "authenticated" in m)["permissions"] == ["read", "write"]
        assert until(ws, lambda m: "fps" in m and "info" not in m)["fps"] == 30  # the operator's state
    finally:
        server.stop()
