"""Listeners at run time: ports moved and servers switched while the unit serves, and the app built in-process."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websocket import WebSocket, WebSocketException, create_connection

from roto_server.app import create_app
from roto_server.config import parse_config
from roto_server.device.store import StateStore
from roto_server.listeners import Listeners
from roto_shared.catalogue import load_catalogue
from tests.media_files import wait_for
from tests.server_process import ADMIN_PASSWORD, TOKEN, ServerProcess


def free_port() -> int:
    """A port nobody listens on right now (another process could take it before us: a tiny race)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str, **kwargs: Any) -> bool:
    try:
        return requests.get(url, params={"token": TOKEN, "get": "[swVersion]"}, timeout=2, **kwargs).ok
    except requests.ConnectionError:
        return False


def refused(url: str, **kwargs: Any) -> bool:
    try:
        requests.get(url, params={"token": TOKEN}, timeout=2, **kwargs)
    except requests.ConnectionError:
        return True
    return False


def closed_within(ws: WebSocket, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not ws.recv():  # a close frame reads as empty
                return True
        except WebSocketException:
            return True
    return False


class Unit:
    """A server with HTTP and HTTPS, driven over whichever of the two is up."""

    def __init__(self, data: Path) -> None:
        self.proc = ServerProcess(data, ["--https-port", "0"])
        self.cacert = str(data / "https-cert.pem")
        self.https_port = self.proc.state("httpsStatus")["httpsStatus"]["port"]

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}/api"

    def write(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Write as admin over HTTPS, which these tests never switch off."""
        res = requests.post(self.https, json=body, auth=("admin", ADMIN_PASSWORD), verify=self.cacert, timeout=5)
        assert res.status_code == 200, res.text
        return res.json(), json.loads(res.headers.get("X-Roto-Notices", "[]"))

    def read(self, *names: str) -> dict[str, Any]:
        return self.write({"get": list(names)})[0]


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[Unit]:
    started = Unit(tmp_path / "data")
    yield started
    started.proc.stop()


def test_http_port_moves_at_run_time(unit: Unit) -> None:
    old = f"http://127.0.0.1:{unit.proc.port}/api"
    watcher = create_connection(unit.proc.ws_url, timeout=10)  # a WebSocket client on the old port
    watcher.recv()
    port = free_port()
    values, notices = unit.write({"httpPort": port})
    assert values == {"httpPort": port} and notices == []
    new = f"http://127.0.0.1:{port}/api"
    wait_for(lambda: answers(new), timeout=10, what="the new HTTP port answering")
    wait_for(lambda: refused(old), timeout=10, what="the old HTTP port closed")
    assert closed_within(watcher, 5)  # WebSocket clients of the old port are closed (1001, going away)
    state = unit.read("httpStatus", "connectionUrls")
    assert state["httpStatus"] == {"running": True, "port": port, "address": "127.0.0.1"}
    assert state["connectionUrls"]["http"] == [new]
    assert state["connectionUrls"]["ws"] == [f"ws://127.0.0.1:{port}/api"]
    assert state["connectionUrls"]["https"] == [unit.https]


def test_http_switches_off_and_on_while_https_serves(unit: Unit) -> None:
    http = f"http://127.0.0.1:{unit.proc.port}/api"
    # written over HTTP itself: the write still gets its answer before its listener closes
    assert unit.proc.post({"httpOn": False}, auth=("admin", ADMIN_PASSWORD)).json() == {"httpOn": False}
    wait_for(lambda: refused(http), timeout=10, what="HTTP closed")
    state = unit.read("httpStatus", "connectionUrls", "httpsStatus")
    assert state["httpStatus"]["running"] is False and "http" not in state["connectionUrls"]
    assert state["httpsStatus"]["running"] is True
    # with HTTP off, HTTPS is the last way in: switching it off too is refused, and it keeps serving
    values, notices = unit.write({"httpsOn": False})
    assert values == {"httpsOn": True} and "lock every client out" in notices[0]["message"]
    assert answers(unit.https, verify=unit.cacert)
    assert unit.write({"httpOn": True}) == ({"httpOn": True}, [])
    wait_for(lambda: answers(http), timeout=10, what="HTTP back on its port")


def test_a_taken_port_is_refused_and_the_old_listener_keeps_serving(unit: Unit) -> None:
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        taken = squatter.getsockname()[1]
        values, notices = unit.write({"httpPort": taken})
        assert values == {"httpPort": 8080}  # the stored value stays
        message = notices[0]["message"]
        assert notices[0]["variable"] == "httpPort"
        assert f"cannot listen on 127.0.0.1:{taken}" in message and "in use" in message
        assert f"stays on port {unit.proc.port}" in message
    assert answers(unit.proc.url("/api"))
    assert unit.read("httpStatus")["httpStatus"]["port"] == unit.proc.port


def test_ports_of_a_server_that_is_off_are_only_stored(unit: Unit) -> None:
    assert unit.write({"httpOn": False})[0] == {"httpOn": False}
    # out of range is clamped as for any variable; nothing is bound while HTTP is off
    values, notices = unit.write({"httpPort": 70000})
    assert values == {"httpPort": 65000} and "clamped" in notices[0]["message"]
    assert unit.read("httpStatus")["httpStatus"]["running"] is False


def test_a_port_taken_at_start_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        taken = squatter.getsockname()[1]
        command = [sys.executable, "-m", "roto_server", "--host", "127.0.0.1", "--data-dir", str(tmp_path)]
        command += ["--http-port", str(taken), "--api-token", TOKEN, "--admin-password", ADMIN_PASSWORD]
        command += ["--rtsp-port", "0"]  # RTSP serving alone would not make the unit reachable for its API
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert f"HTTP: cannot listen on 127.0.0.1:{taken}: Address already in use" in out.stdout + out.stderr


def test_a_second_listener_that_cannot_listen_at_start_leaves_the_first_serving(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        taken = squatter.getsockname()[1]
        server = ServerProcess(tmp_path / "data", ["--https-port", str(taken)])
        try:
            status = server.state("httpsStatus")["httpsStatus"]
            assert status == {"running": False, "reason": f"cannot listen on 127.0.0.1:{taken}: Address already in use"}
            assert "https" not in server.state("connectionUrls")["connectionUrls"]
            # once the port is free, writing it (or another) brings HTTPS up
            squatter.close()
            assert server.post({"httpsPort": taken}, auth=("admin", ADMIN_PASSWORD)).json() == {"httpsPort": taken}
            wait_for(lambda: server.state("httpsStatus")["httpsStatus"].get("running"), timeout=10, what="HTTPS up")
        finally:
            server.stop()


async def test_create_app_builds_the_whole_device_in_process(tmp_path: Path) -> None:
    config = parse_config(["--host", "127.0.0.1", "--data-dir", str(tmp_path), "--api-token", TOKEN])
    app = create_app(config, name="roto_in_process")
    # the ASGI test client needs no socket at all; under ASGI the listeners stay closed (the ASGI server owns them)
    _, res = await app.asgi_client.get("/api", params={"token": TOKEN, "get": "[cam0Exists,httpsCertificate]"})
    assert res.status == 200
    assert res.json["cam0Exists"] is True
    assert res.json["httpsCertificate"]["file"] == str(tmp_path / "https-cert.pem")
    assert app.ctx.listeners.bound_ports() == {"http": None, "https": None, "rtsp": None}


class Loopback:
    """A listener kind that binds loopback whatever address it is given, and serves nothing."""

    name = "http"
    schemes = ("http", "ws")

    def bind(self, host: str, port: int) -> socket.socket:
        return socket.create_server(("127.0.0.1", 0))

    async def serve(self, sock: socket.socket) -> Any:
        class Idle:
            async def close(self) -> None:
                return None

        return Idle()


async def test_connection_urls_follow_the_host_addresses() -> None:
    store = StateStore(load_catalogue())
    store.set_facts({"netInfo": [{"connections": [{"address": "192.0.2.7"}]}]})
    listeners = Listeners(store, "0.0.0.0", [Loopback()], {"http": 0})
    await listeners.start()
    port = listeners.bound_ports()["http"]
    assert store["connectionUrls"]["http"] == [f"http://127.0.0.1:{port}/api", f"http://192.0.2.7:{port}/api"]
    store.set_facts({"netInfo": [{"connections": [{"address": "198.51.100.3"}]}, {"connections": []}]})
    await asyncio.sleep(0)  # the refresh runs right after the change event
    assert store["connectionUrls"]["ws"] == [f"ws://127.0.0.1:{port}/api", f"ws://198.51.100.3:{port}/api"]
    await listeners.stop()
    assert listeners.bound_ports() == {"http": None}
