"""The v1 vocabulary: the mapping onto C2 and WebSocket /api/v1 against a real server."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websocket import WebSocket, WebSocketBadStatusException, create_connection

from roto_server.api import v1_ops
from roto_server.api.v1_mapping import BY_KEY, V1_KEYS, InvalidV1Value, to_v1
from roto_server.device import rules
from roto_server.device.store import StateStore
from roto_shared.catalogue import load_catalogue
from tests.server_process import ServerProcess


def test_every_v1_key_names_a_catalogue_variable() -> None:
    catalogue = load_catalogue()
    assert {k.variable for k in V1_KEYS} <= set(catalogue)
    assert len({k.key for k in V1_KEYS}) == len(V1_KEYS) == 23  # 3 a head, 7 image controls, 11 others


@pytest.mark.parametrize(
    ("key", "v1", "c2"),
    [
        ("brightness", 0, -7),
        ("brightness", 50, 0),
        ("brightness", 100, 7),
        ("contrast", 0, 1.0),
        ("contrast", 100, 2.5),
        ("gain", 100, 42),
        ("red-gain", 0, -128),
        ("sharpness", 100, 15),
        ("main-camera", 2, True),
        ("cam2-sensor", 1, 0),
        ("resolution", "1280x720", "HD"),
        ("record", True, "start"),
        ("record", "off", "stop"),
        ("record", "pause_release", "release"),
        ("noise-suppression", True, True),
    ],
)
def test_values_map_onto_c2(key: str, v1: Any, c2: Any) -> None:
    assert BY_KEY[key].to_c2(v1) == c2


def test_values_map_back_and_bad_values_say_what_is_allowed() -> None:
    assert to_v1({"brightness": 7, "cameraSwitch": False, "recordingResolution": "4K", "record": "pause"}) == {
        "brightness": 100,
        "main-camera": 1,
        "resolution": "3840x2160",
        "record": "pause",
    }
    for key, bad, message in (
        ("brightness", 101, "between 0 and 100"),
        ("main-camera", 3, "1 or 2"),
        ("record", "maybe", "pause_release"),
        ("fps", 7, "one of 1, 5"),
    ):
        with pytest.raises(InvalidV1Value, match=message):
            BY_KEY[key].to_c2(bad)


def v1(server: ServerProcess, query: str | None = None) -> WebSocket:
    return create_connection(f"ws://127.0.0.1:{server.port}/api/v1?{query or 'token=' + server.token}", timeout=10)


def until(ws: WebSocket, check: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = json.loads(ws.recv())
        if check(message):
            return message  # type: ignore[no-any-return]
    raise AssertionError("no such message")


def test_v1_socket_refuses_wrong_credentials(shared_server: ServerProcess) -> None:
    # no credentials at all is an in-band login (tests/test_security_sockets.py); wrong ones are refused
    with pytest.raises(WebSocketBadStatusException) as info:
        create_connection(f"ws://127.0.0.1:{shared_server.port}/api/v1?token=wrong", timeout=5)
    assert info.value.status_code == 401


def test_v1_set_get_errors_and_broadcast_both_ways(server: ServerProcess) -> None:
    ws = v1(server)
    first = json.loads(ws.recv())
    assert first["cam1-exists"] is True and first["main-camera"] == 1 and first["resolution"] == "1920x1080"
    c2 = create_connection(server.ws_url, timeout=10)
    c2.recv()
    ws.send(json.dumps({"brightness": 75}))  # auto exposure is on: kept, acts once it is off
    answer = until(ws, lambda m: "info" in m)
    notices = answer.pop("notices")
    assert answer == {"brightness": 75, "info": ["brightness"]}  # reads back as written, not 79
    assert [(n["key"], n["level"]) for n in notices] == [("brightness", "info"), ("brightness", "info")]
    assert notices[0]["message"] == "brightness: kept; takes effect when auto-exposure is false"
    assert "nearest step (79)" in notices[1]["message"]
    assert until(c2, lambda m: "brightness" in m)["brightness"] == 4
    ws.send(json.dumps({"get": ["brightness"]}))
    assert until(ws, lambda m: "brightness" in m) == {"brightness": 75}
    ws.send(json.dumps({"auto-exposure": False, "brightness": 100}))
    answer = until(ws, lambda m: "info" in m)
    assert answer == {"auto-exposure": False, "brightness": 100, "info": ["auto-exposure", "brightness"]}
    assert until(c2, lambda m: "brightness" in m)["brightness"] == 7  # v1 -> C2
    c2.send(json.dumps({"sharpness": 15}))
    assert until(ws, lambda m: "sharpness" in m and "info" not in m)["sharpness"] == 100  # C2 -> v1
    ws.send(json.dumps({"brightness": 150, "cam1-exists": False, "nonsense": 1}))
    errors = [until(ws, lambda m: "error" in m) for _ in range(3)]
    assert [(e["error"], e["key"]) for e in errors] == [
        ("Invalid value", "brightness"),
        ("Permission denied", "cam1-exists"),
        ("Invalid value", "nonsense"),
    ]
    assert errors[0]["message"] == "Value must be between 0 and 100"
    ws.send(json.dumps({"get": ["brightness", "resolution", "unknown"]}))
    assert until(ws, lambda m: "resolution" in m and "info" not in m) == {"brightness": 100, "resolution": "1920x1080"}
    ws.close()
    c2.close()


def test_a_v1_batch_is_all_or_nothing_and_speaks_v1() -> None:
    store = StateStore(load_catalogue())
    rules.install(store)
    store.set_facts({"cam0Exists": True, "cam1Exists": False})
    result = v1_ops.write(store, "operator", {"cam1-light": False, "contrast": 10, "cam2-light": True})
    assert result.values == {} and result.changed == []
    assert result.errors == [
        {
            "error": "Invalid value",
            "key": "cam2-light",
            "message": "cam2-light belongs to camera 2, which is not connected",
        }
    ]
    assert store["light0"] is True and store["contrast"] == store.catalogue["contrast"].default  # nothing applied
    assert v1_ops.v1_text("brightness: kept; takes effect when exposure is false") == (
        "brightness: kept; takes effect when auto-exposure is false"
    )
    assert v1_ops.v1_text("cameraSwitch: camera head 1 is not connected") == "main-camera: camera 2 is not connected"


def test_in_band_login(shared_server: ServerProcess) -> None:
    ws = v1(shared_server)
    ws.recv()
    ws.send(json.dumps({"username": "admin", "password": "wrong"}))
    assert until(ws, lambda m: "error" in m)["error"] == "Authentication failed"
    ws.send(json.dumps({"username": "admin", "password": shared_server.admin_password}))
    answer = until(ws, lambda m: "authenticated" in m)
    assert answer == {"authenticated": True, "user": "admin", "permissions": ["read", "write", "admin"]}
    ws.close()


def test_docs_mapping_table_is_generated_from_the_code() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "v1_table.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
