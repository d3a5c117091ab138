"""GET /api/health and GET /metrics (issue 10, "Operations"), against real server processes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

from tests.media_files import make_storage, wait_for
from tests.server_process import ServerProcess

PROXIED = {"SANIC_REAL_IP_HEADER": "x-real-ip"}  # roto behind a proxy that names the client
REMOTE = {"X-Real-IP": "192.0.2.7"}  # a client on another machine, as the proxy reports it


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(
    server: ServerProcess, headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None
) -> Samples:
    """Every sample of GET /metrics by (name, sorted labels), parsed by prometheus-client's own parser."""
    res = requests.get(server.url("/metrics"), headers=headers, auth=auth, timeout=10)
    assert res.status_code == 200, res.text
    assert res.headers["Content-Type"].startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(res.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("healthy") / "data")
    yield proc
    proc.stop()


def test_health_is_public_and_healthy_on_a_fresh_unit(healthy: ServerProcess) -> None:
    res = requests.get(healthy.url("/api/health"), timeout=10)  # no credentials: monitors probe it
    assert res.status_code == 200
    doc = res.json()
    assert doc["status"] == "healthy"
    assert set(doc["checks"]) == {"camera", "storage", "network", "files"}
    assert all(check["ok"] is True and check["message"] for check in doc["checks"].values()), doc
    assert doc["checks"]["camera"]["message"] == "head 0 and head 1 connected"
    assert f"HTTP on port {healthy.port}" in doc["checks"]["network"]["message"]
    assert str(healthy.data_dir) not in res.text  # public: no paths
    document = requests.get(healthy.url("/api/openapi.json"), timeout=10).json()
    schema = document["paths"]["/api/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft7Validator(schema).validate(doc)  # the published document describes it


def test_health_says_what_is_wrong(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text("{broken")
    server = ServerProcess(data, ["--head0", "none", "--head1", "none"])
    try:
        small = make_storage(data / "storages", "small", quota=1024 * 1024)  # below the 2 MiB reserve: full
        uid = wait_for(
            lambda: [u for u, d in server.state("diskStorages")["diskStorages"].items() if d["name"] == "small"]
        )
        assert server.post({"recordingStorage": uid[0]}).status_code == 200
        doc = requests.get(server.url("/api/health"), timeout=10).json()
        assert doc["status"] == "degraded"
        assert doc["checks"]["camera"] == {"ok": False, "message": "no camera head is connected"}
        assert (
            doc["checks"]["storage"]["ok"] is False and "storage small is full" in doc["checks"]["storage"]["message"]
        )
        assert doc["checks"]["files"]["ok"] is False and "settings.json" in doc["checks"]["files"]["message"]
        assert doc["checks"]["network"]["ok"] is True
        shutil.rmtree(small)  # the stick is pulled

        def storage_gone() -> bool:
            check = requests.get(server.url("/api/health"), timeout=10).json()["checks"]["storage"]
            return "is not connected" in check["message"] and check["ok"] is False

        wait_for(storage_gone, what="the health check noticing the storage left")
        found = samples(server)
        assert value(found, "roto_health_check_ok", check="camera") == 0
        assert value(found, "roto_health_check_ok", check="network") == 1
        assert value(found, "roto_storage_available", role="recording") == 0
    finally:
        server.stop()


def test_metrics_follow_the_live_unit(healthy: ServerProcess) -> None:
    before = samples(healthy)
    assert [v for (name, _labels), v in before.items() if name == "roto_info"] == [1]
    assert value(before, "roto_recording_state", state="stop") == 1
    assert value(before, "roto_storage_available", role="recording") == 1
    assert value(before, "roto_storage_free_bytes", role="recording") > 0
    clients = [websocket.create_connection(healthy.ws_url, timeout=10) for _ in range(2)]
    try:
        for ws in clients:
            json.loads(ws.recv())  # joined: the full state arrived
        assert value(samples(healthy), "roto_websocket_clients") == value(before, "roto_websocket_clients") + 2
    finally:
        for ws in clients:
            ws.close()
    assert requests.get(healthy.url("/camera.jpeg"), params={"token": healthy.token}, timeout=10).status_code == 200
    with requests.get(
        healthy.url("/camera.mjpeg"), params={"token": healthy.token, "width": 320}, stream=True, timeout=10
    ) as mjpeg:
        parts = mjpeg.iter_content(4096)  # kept: dropping the iterator would close the stream
        assert next(parts)

        def one_reader() -> bool:
            return samples(healthy).get(("roto_stream_readers", (("kind", "stream"), ("width", "320")))) == 1

        wait_for(one_reader, what="the MJPEG client counted as a reader of its rendition")
    assert requests.get(healthy.url("/api"), params={"token": "wrong"}, timeout=10).status_code == 401

    def clients_gone() -> Samples | None:
        found = samples(healthy)
        return found if value(found, "roto_websocket_clients") == 0 else None

    after = wait_for(clients_gone, what="the closed WebSocket clients leaving the hub")
    assert value(after, "roto_frames_produced_total") > value(before, "roto_frames_produced_total")
    assert value(after, "roto_frames_encoded_total", kind="stream", width="full") >= 1
    assert value(after, "roto_auth_failures_total") == value(before, "roto_auth_failures_total") + 1
    assert value(after, "roto_event_loop_lag_seconds_count") > 0
    assert value(after, "roto_event_loop_lag_recent_max_seconds") < 1.0


def test_metrics_are_for_admin_or_this_machine(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", ["--head0", "none", "--head1", "none", "--rate-limit-http", "3"], env=PROXIED
    )
    try:
        assert value(samples(server), "roto_rate_limit_refusals_total", api="v1-http") == 0  # local: no credentials
        statuses = [requests.get(server.url("/api/info"), timeout=10).status_code for _ in range(5)]
        assert statuses.count(429) == 2
        assert value(samples(server), "roto_rate_limit_refusals_total", api="v1-http") == 2  # /metrics is not limited
        anonymous = requests.get(server.url("/metrics"), headers=REMOTE, timeout=10)
        assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
        operator = requests.get(server.url("/metrics"), headers=REMOTE, auth=("API-User", server.token), timeout=10)
        assert operator.status_code == 403 and "admin" in operator.json()["error"]
        assert samples(server, headers=REMOTE, auth=("admin", server.admin_password))
    finally:
        server.stop()


def test_metrics_open_serves_everyone(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", ["--head0", "none", "--head1", "none"], env={**PROXIED, "ROTO_METRICS_OPEN": "1"}
    )
    try:
        assert value(samples(server, headers=REMOTE), "roto_websocket_clients") == 0
    finally:
        server.stop()
