"""Per-client rate limits: v1 HTTP per minute, v1 WebSocket messages per second; C2 /api unlimited."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests
from websocket import create_connection

from tests.inprocess import InProcessServer


def test_http_v1_limit_with_headers_and_c2_unlimited(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data", args=["--rate-limit-http", "5"])
    try:
        answers = [requests.get(server.url("/api/info"), timeout=5) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
        assert all(a.headers["X-RateLimit-Limit"] == "5" for a in answers)
        refused = answers[-1]
        assert refused.json() == {
            "error": "Rate limit exceeded",
            "limit": 5,
            "period": "minute",
            "retry_after": int(refused.headers["Retry-After"]),
        }
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        for _ in range(20):  # the C2 API keeps its polling-friendly behaviour
            res = requests.get(server.url("/api"), params={"token": server.token, "get": "[light0]"}, timeout=5)
            assert res.status_code == 200 and "X-RateLimit-Limit" not in res.headers
    finally:
        server.stop()


def test_websocket_v1_limit_keeps_the_connection(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data", args=["--rate-limit-ws", "3"])
    try:
        ws = create_connection(f"ws://127.0.0.1:{server.port}/api/v1?token={server.token}", timeout=10)
        ws.recv()
        for _ in range(5):
            ws.send(json.dumps({"get": ["fps"]}))
        replies = [json.loads(ws.recv()) for _ in range(5)]
        assert [r.get("fps") for r in replies[:3]] == [30, 30, 30]
        assert replies[3:] == [{"error": "Rate limit exceeded", "limit": 3, "period": "second", "retry_after": 1}] * 2
        time.sleep(1.1)  # the next one-second window
        ws.send(json.dumps({"get": ["fps"]}))  # the same connection is served again
        reply = json.loads(ws.recv())
        while "info" in reply or "notification" in reply or set(reply) - {"fps"}:
            reply = json.loads(ws.recv())  # skip broadcasts of unrelated changes
        assert reply == {"fps": 30}
        ws.close()
    finally:
        server.stop()


def test_c2_limit_when_configured_carries_its_headers(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data", args=["--rate-limit-c2", "4"])
    try:  # the start-up request counted one already
        answers = [requests.get(server.url("/api/"), params={"token": server.token, "get": "[light0]"}, timeout=5)]
        answers += [requests.post(server.url("/api"), params={"token": server.token}, json={}, timeout=5)]
        answers += [requests.get(server.url("/api"), params={"token": server.token}, timeout=5)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
        assert requests.get(server.url("/api"), params={"token": server.token}, timeout=5).status_code == 429
        assert "X-RateLimit-Limit" not in requests.get(server.url("/"), timeout=5).headers  # the page is not counted
    finally:
        server.stop()
