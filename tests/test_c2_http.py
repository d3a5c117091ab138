"""The C2 HTTP API at /api, exercised with requests and curl against a real server."""

from __future__ import annotations

import base64
import json
import subprocess

import requests

from tests.server_process import ServerProcess


def test_get_without_parameters_returns_the_whole_readable_state(shared_server: ServerProcess) -> None:
    state = shared_server.get().json()
    assert len(state) == 108  # 110 variables minus the write-only takePicture and createTag
    assert state["cam0Exists"] is True and state["record"] == "stop"
    assert state["pan0"] == {"x": 50.0, "y": 50.0}
    assert state["oct0"].endswith("°C") and state["psi0"].endswith("mbar")
    assert isinstance(state["seconds"], int) and len(state["time"]) == 6


def test_get_list_returns_only_the_named_variables_in_order(shared_server: ServerProcess) -> None:
    res = shared_server.get(get="[light0,record,recordTime,pan0,nonsense,takePicture]")
    assert res.status_code == 200
    assert list(res.json()) == ["light0", "record", "recordTime", "pan0"]


def test_a_repeated_poll_sees_every_change(server: ServerProcess) -> None:
    polls = [server.get(get="[light0,sharpness]").json() for _ in range(3)]  # answered from one rendering
    assert polls == [{"light0": True, "sharpness": polls[0]["sharpness"]}] * 3
    requests.post(server.url("/api"), params={"token": server.token}, json={"light0": False, "sharpness": 3}, timeout=5)
    assert server.get(get="[light0,sharpness]").json() == {"light0": False, "sharpness": 3}
    server.get(light0="true")  # a write through the query between two identical polls
    assert server.get(get="[light0,sharpness]").json() == {"light0": True, "sharpness": 3}


def test_set_via_query_converts_text_and_lists_touched_variables(server: ServerProcess) -> None:
    url = server.url(f"/api?token={server.token}&light0=false&record=start&sharpness=99&expo=abc")
    res = requests.get(url, timeout=5)
    assert res.json() == {"light0": False, "record": "start", "sharpness": 15, "expo": 10.0}
    notices = json.loads(res.headers["X-Roto-Notices"])
    assert {n["variable"] for n in notices} == {"sharpness", "expo"}
    assert server.get(record="stop").json() == {"record": "stop"}
    assert server.state("light0", "sharpness") == {"light0": False, "sharpness": 15}


def test_query_order_is_execution_order(server: ServerProcess) -> None:
    base = server.url(f"/api?token={server.token}")
    res = requests.get(base + "&whiteBalance=false&redGain=30&get=[redGain]", timeout=5)
    assert res.json() == {"whiteBalance": False, "redGain": 30}
    res = requests.get(base + "&redGain=-5&whiteBalance=true&get=[redGain,whiteBalance]", timeout=5)
    assert res.json() == {"redGain": -5, "whiteBalance": True}
    res = requests.get(base + "&redGain=12&whiteBalance=false", timeout=5)
    assert res.json() == {"redGain": 12, "whiteBalance": False}  # kept while whiteBalance was on
    notice = json.loads(res.headers["X-Roto-Notices"])[0]
    assert notice == {
        "variable": "redGain",
        "level": "info",
        "message": "redGain: kept; takes effect when whiteBalance is false",
    }


def test_post_body_in_key_order_with_relative_pan_and_zoom(server: ServerProcess) -> None:
    res = server.post({"pan0": {"x": -10.5, "y": -10}, "zoom0": 20000})
    assert res.json() == {"pan0": {"x": 39.5, "y": 40.0}, "zoom0": 20000}
    res = server.post({"zoom0": 20000, "pan0": {"y": 100}, "get": ["pan0", "light0"]})
    assert res.json() == {"zoom0": 31424, "pan0": {"x": 39.5, "y": 100.0}, "light0": True}


def test_post_with_a_body_but_no_content_type(server: ServerProcess) -> None:
    res = requests.post(server.url(f"/api?user=API-User&token={server.token}"), '{"light0": false}', timeout=5)
    assert res.json() == {"light0": False}


def test_malformed_bodies_are_400_and_change_nothing(server: ServerProcess) -> None:
    before = server.state("light0", "sharpness")
    auth = ("API-User", server.token)
    for body in (b'{"light0": false,', b'[{"light0": false}]', b'"light0"', b'{"light0": false, "get": 5}'):
        res = requests.post(server.url("/api"), data=body, auth=auth, timeout=5)
        assert res.status_code == 400, body
        assert "error" in res.json()
    huge = json.dumps({"light0": False, "changeVideoName": "x" * (1024 * 1024)}).encode()
    res = requests.post(server.url("/api"), data=huge, auth=auth, timeout=10)
    assert res.status_code == 400 and "larger than" in res.json()["error"]
    assert server.state("light0", "sharpness") == before


def test_missing_or_wrong_credentials_are_401_with_a_challenge(shared_server: ServerProcess) -> None:
    url = shared_server.url("/api")
    bad = [
        requests.get(url, timeout=5),
        requests.get(url, params={"token": "wrong"}, timeout=5),
        requests.get(url, params={"user": "admin", "token": shared_server.token}, timeout=5),
        requests.get(url, params={"user": "nobody", "password": shared_server.token}, timeout=5),
        requests.get(url, auth=("API-User", "wrong"), timeout=5),
        requests.get(url, headers={"Authorization": "Basic !!!"}, timeout=5),
        requests.get(url, headers={"Authorization": "Bearer abc"}, timeout=5),
        requests.post(url, json={"light0": False}, timeout=5),
    ]
    for res in bad:
        assert res.status_code == 401
        assert res.headers["WWW-Authenticate"].startswith("Digest realm=")  # strongest first
        assert "error" in res.json()
    assert shared_server.token not in shared_server.log()


def test_every_credential_form_of_the_spec_works(shared_server: ServerProcess) -> None:
    url = shared_server.url("/api")
    t, pw = shared_server.token, shared_server.admin_password
    good = [
        {"token": t},
        {"password": t},
        {"user": "API-User", "token": t},
        {"user": "admin", "password": pw},
        {"user": "admin", "token": pw},
    ]
    for params in good:
        assert requests.get(url, params={**params, "get": "[light0]"}, timeout=5).json() == {"light0": True}
    basic = base64.b64encode(f"admin:{pw}".encode()).decode()
    res = requests.get(url, headers={"Authorization": f"Basic {basic}"}, params={"get": "[hostname]"}, timeout=5)
    assert list(res.json()) == ["hostname"]


def test_curl_examples_from_the_spec(shared_server: ServerProcess) -> None:
    url = shared_server.url("/api")
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "GET",
            "-G",
            url,
            "-d",
            f"token={shared_server.token}",
            "-d",
            "get=[light0,record,recordTime,pan0]",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    assert json.loads(out.stdout) == {"light0": True, "record": "stop", "recordTime": 0, "pan0": {"x": 50.0, "y": 50.0}}
    out = subprocess.run(
        ["curl", "-s", "-X", "GET", "-G", url, "-u", f"API-User:{shared_server.token}"],
        capture_output=True,
        check=True,
        text=True,
    )
    assert json.loads(out.stdout)["cam0Exists"] is True


def test_admin_only_settings_need_the_admin(server: ServerProcess) -> None:
    # httpsPort while HTTPS is off: an admin-only setting whose write binds no fixed port
    res = server.post({"httpsPort": 9443, "mjpgStreamIsOpen": True})
    assert res.json() == {"httpsPort": 8443, "mjpgStreamIsOpen": False}
    assert "admin" in res.headers["X-Roto-Notices"]
    res = server.post({"httpsPort": 9443, "mjpgStreamIsOpen": True}, auth=("admin", server.admin_password))
    assert res.json() == {"httpsPort": 9443, "mjpgStreamIsOpen": True}


def test_head_temperatures_and_rotation_are_live(shared_server: ServerProcess) -> None:
    state = shared_server.state("RPM0", "rpm0", "psi0", "psiSetpoint", "cfg30", "cfg41", "hostname", "macAddr")
    assert state["rpm0"] == 3000 and 0 <= state["RPM0"] <= 3100
    assert abs(int(state["psi0"].removesuffix("mbar")) - 1150) < 200
    assert state["cfg30"] == "60" and state["cfg41"] == "0"
    import socket

    assert state["hostname"] == socket.gethostname()


def test_c2_answer_headers_are_the_bytes_sanic_would_send() -> None:
    from sanic.response import HTTPResponse

    from roto_server.api.c2 import C2Answer

    headers = {"X-Roto-Notices": '[{"a": "b"}]', "X-Bad": "one\r\nSet-Cookie: x=1\x00", "content-length": "2"}
    ours = C2Answer(b"{}", headers=headers, content_type="application/json")
    sanic = HTTPResponse(b"{}", headers=headers, content_type="application/json")
    assert list(ours.processed_headers) == list(sanic.processed_headers)
    assert (b"X-Bad", b"oneSet-Cookie: x=1") in list(ours.processed_headers)
