"""No input gives a 5xx or kills a WebSocket: cases that once did, and hypothesis over every entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from websocket import WebSocket, create_connection

from tests.fuzz_cases import Driver, cases
from tests.inprocess import InProcessServer
from tests.media_files import wait_for
from tests.server_process import ServerProcess

HUGE = "9" * 400
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = InProcessServer(
        tmp_path_factory.mktemp("fuzz") / "data", args=["--rate-limit-http", "0", "--rate-limit-ws", "0"]
    )
    yield proc
    proc.stop()
    assert "Traceback" not in proc.log()


def admin(server: ServerProcess) -> tuple[str, str]:
    return ("admin", server.admin_password)


def post(server: ServerProcess, path: str, body: str | bytes) -> requests.Response:
    return requests.post(server.url(path), data=body, auth=admin(server), timeout=30)


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/api", DEEP, None, "nested too deeply"),
        ("/api", DEEP_OBJECT, None, "nested too deeply"),
        ("/api", '{"a":' * 40 + "1" + "}" * 40, "a", "nested more than 32"),
        ("/api/settings", DEEP, None, "nested too deeply"),
        ("/api/settings", '{"pip-mode": []}', "pip-mode", "0, 1, 2, 3 or 4"),
        ("/api/settings", '{"main-camera": {}}', "main-camera", "1 or 2"),
        ("/api/settings/cam1-sensor", "[]", "cam1-sensor", "1 or 2"),
        ("/api/settings/pip-mode", DEEP, "pip-mode", "nested too deeply"),
        ("/api/backup/tags", DEEP, None, "nested too deeply"),
        ("/api/backup/tags", '{"creationTime": 1e308}', "createTag.creationTime", "9999"),
        ("/api/backup/tags", '{"creationTime": -62200000000}', "createTag.creationTime", "1970"),
        ("/api/backup/tags", '{"creationTime": 253402300800}', "createTag.creationTime", "9999"),
        ("/api/backup/tags", '{"creationTime": "0000-01-01T00:00:00+00:00"}', "createTag.creationTime", "unix"),
        ("/api/backup/tags", '{"creationTime": "10000-01-01T00:00:00+00:00"}', "createTag.creationTime", "unix"),
        ("/api/backup/tags", '{"title": "\\ud800"}', "title", "lone surrogate"),
        ("/api/login", DEEP, "username", "username"),
        ("/api/storages/net", '{"path": "\\udcff"}', "path", "lone surrogate"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else None,  # the test id lands in an env variable
)
def test_bad_json_bodies_get_a_400_naming_the_field(
    fuzz_server: ServerProcess, path: str, body: str, field: str | None, words: str
) -> None:
    res = post(fuzz_server, path, body)
    assert res.status_code == 400, res.text[:300]
    assert res.json().get("field") == field and words in res.json()["error"]


def test_huge_numbers_in_exponent_notation_are_refused_too(fuzz_server: ServerProcess) -> None:
    before = fuzz_server.state("zoom0", "pan0", "recordingPictureQuality")
    res = post(fuzz_server, "/api", '{"zoom0": 1e20, "pan0": {"x": 1e300}, "recordingPictureQuality": -1e16}')
    assert res.status_code == 200 and res.json() == before
    notices = json.loads(res.headers["X-Roto-Notices"])
    assert [n["variable"] for n in notices] == ["zoom0", "pan0", "recordingPictureQuality"]
    assert all("between -1e15 and 1e15" in n["message"] for n in notices), notices
    res = requests.get(fuzz_server.url("/api"), params={"zoom0": "1e16"}, auth=admin(fuzz_server), timeout=10)
    assert res.json() == {"zoom0": before["zoom0"]} and "1e+16" in res.headers["X-Roto-Notices"]


def test_huge_integers_and_unicode_digits_are_refused_by_name(fuzz_server: ServerProcess) -> None:
    before = fuzz_server.state("pan0", "gain")
    res = post(fuzz_server, "/api", '{"pan0": {"x": ' + HUGE + '}, "gain": -' + HUGE + "}")
    assert res.status_code == 200 and res.json() == before
    notices = json.loads(res.headers["X-Roto-Notices"])
    assert [(n["variable"], "400 digits" in n["message"]) for n in notices] == [("pan0", True), ("gain", True)]
    res = requests.get(
        fuzz_server.url("/api"), params={"gain": "²", "pan0": '{"x": ' + HUGE + "}"}, auth=admin(fuzz_server)
    )
    assert res.status_code == 200 and res.json() == before
    assert "digits 0-9" in res.headers["X-Roto-Notices"]
    width = requests.get(fuzz_server.url("/camera.jpeg"), params={"width": "²"}, auth=admin(fuzz_server), timeout=10)
    assert width.status_code == 400 and width.json()["field"] == "width"
    since = requests.get(fuzz_server.url("/api/backup/files"), params={"from": "²"}, auth=admin(fuzz_server))
    assert since.status_code == 400 and since.json()["field"] == "from"


def _socket(server: ServerProcess, path: str) -> WebSocket:
    ws = create_connection(f"ws://127.0.0.1:{server.port}{path}?user=admin&password={server.admin_password}")
    ws.recv()
    return ws


def _until(ws: WebSocket, check: Any) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv())
        if check(message):
            return message  # type: ignore[no-any-return]


def test_websockets_answer_bad_messages_and_stay_open(fuzz_server: ServerProcess) -> None:
    c2, v1 = _socket(fuzz_server, "/api"), _socket(fuzz_server, "/api/v1")
    for text in (DEEP, DEEP_OBJECT, '{"createTag": {"title": "\\ud800"}}'):
        c2.send(text)
        note = _until(c2, lambda m: "notification" in m)["notification"]
        assert note["level"] == "error" and ("nested" in note["message"] or "surrogate" in note["message"])
        v1.send(text)
        error = _until(v1, lambda m: "error" in m)
        assert error["error"] == "Invalid value" and "JSON object" in error["message"]
    v1.send('{"pip-mode": [], "cam1-light": false}')
    assert _until(v1, lambda m: "error" in m)["key"] == "pip-mode"
    c2.send(json.dumps({"get": ["light0"]}))
    assert "light0" in _until(c2, lambda m: "light0" in m)
    v1.send(json.dumps({"get": ["cam1-light"]}))
    assert _until(v1, lambda m: "cam1-light" in m) == {"cam1-light": True}  # the refused batch changed nothing
    c2.close()
    v1.close()


def test_a_request_failing_half_way_is_applied_announced_and_saved(server: ServerProcess) -> None:
    ws = create_connection(server.ws_url, timeout=10)
    ws.recv()
    body = '{"light0": false, "changePostName": "x", "pan0": {"x": ' + HUGE + "}}"
    res = requests.post(server.url("/api"), data=body, auth=("API-User", server.token), timeout=10)
    assert res.status_code == 200
    assert res.json() == {"light0": False, "changePostName": "x", "pan0": {"x": 50.0, "y": 50.0}}
    assert [n["variable"] for n in json.loads(res.headers["X-Roto-Notices"])] == ["pan0"]
    told = _until(ws, lambda m: "changePostName" in m)
    assert told["light0"] is False and told["changePostName"] == "x"
    saved = server.data_dir / "settings.json"
    wait_for(lambda: saved.exists() and '"changePostName": "x"' in saved.read_text(), what="settings saved")
    ws.close()


_DRIVERS: dict[int, Driver] = {}


@settings(max_examples=1200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(case=cases())
def test_any_input_to_any_entry_point_gives_no_server_error(fuzz_server: ServerProcess, case: Any) -> None:
    driver = _DRIVERS.setdefault(fuzz_server.port, Driver(fuzz_server))
    driver.failures.clear()
    driver.run(case)
    assert not driver.failures
    assert driver.broken_invariants() == []  # every setting still passes the catalogue's validation


def test_long_values_are_quoted_short_in_notices(fuzz_server: ServerProcess) -> None:
    # clients read at most 64 KiB per header line; a notice quoting the whole value broke them
    before = post(fuzz_server, "/api", json.dumps({"get": ["light0", "pip"]})).json()  # the fuzzer ran first
    res = post(fuzz_server, "/api", json.dumps({"light0": "x" * 100_000, "pip": [1] * 30_000}))
    assert res.status_code == 200 and res.json() == before  # both refused, nothing changed
    notices = json.loads(res.headers["X-Roto-Notices"])
    assert [n["variable"] for n in notices] == ["light0", "pip"] and len(res.headers["X-Roto-Notices"]) < 1000
