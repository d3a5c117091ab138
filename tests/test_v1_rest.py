"""REST API v1 and the authentication methods, with requests and curl."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.inprocess import InProcessServer
from tests.media_files import ffprobe, wait_for
from tests.server_process import ServerProcess


class MD5Digest(requests.auth.AuthBase):
    """Answer the server's MD5 challenge by the RFC 7616 formula (requests itself picks a challenge)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = str(request.url)
        challenge = requests.get(url, timeout=5).raw.headers.getlist("WWW-Authenticate")
        md5 = next(c for c in challenge if "algorithm=MD5" in c)
        params = dict(part.strip().split("=", 1) for part in md5[len("Digest ") :].split(","))
        nonce, opaque = params["nonce"].strip('"'), params["opaque"].strip('"')
        uri = url.split(":", 2)[2].split("/", 1)[1]
        uri = "/" + uri

        def h(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        response = h(f"{h(f'{self.user}:roto:{self.password}')}:{nonce}:00000001:abc:auth:{h(f'GET:{uri}')}")
        request.headers["Authorization"] = (
            f'Digest username="{self.user}", realm="roto", nonce="{nonce}", uri="{uri}", algorithm=MD5, '
            f'response="{response}", qop=auth, nc=00000001, cnonce="abc", opaque="{opaque}"'
        )
        return request


def data(res: requests.Response) -> Any:
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["status"] == "success" and isinstance(body["timestamp"], int)
    return body["data"]


def curl(*args: str) -> tuple[int, str]:
    done = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


def test_info_is_public_and_the_rest_needs_credentials(shared_server: ServerProcess) -> None:
    info = data(requests.get(shared_server.url("/api/info"), timeout=5))
    assert info["apiVersion"] == "v1" and info["capabilities"]["heads"] == 2
    # every protocol the unit serves is announced, so discovery clients do not skip ONVIF or RTSP
    assert info["capabilities"]["onvif"] is True and "rtsp" in info["capabilities"]["streams"]
    for path in (
        "/api/status",
        "/api/camera/status",
        "/api/streams",
        "/api/recordings",
        "/api/settings",
        "/api/snapshot",
    ):
        res = requests.get(shared_server.url(path), timeout=5)
        assert res.status_code == 401 and "error" in res.json()
        offered = res.raw.headers.getlist("WWW-Authenticate")
        assert [c.split()[0] for c in offered] == ["Digest", "Digest", "Basic", "Bearer"]
        assert "algorithm=SHA-256" in offered[0] and "algorithm=MD5" in offered[1]


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_curl_digest(shared_server: ServerProcess, algorithm: str) -> None:
    # curl picks the first Digest challenge (SHA-256); requests' digest auth is used for MD5
    if algorithm == "SHA-256":
        code, body = curl(
            "--digest", "-u", f"admin:{shared_server.admin_password}", shared_server.url("/api/camera/status")
        )
        assert code == 200 and json.loads(body)["data"]["cameras"][0]["camera"] == 1
    else:
        res = requests.get(shared_server.url("/api/status"), auth=MD5Digest("API-User", shared_server.token), timeout=5)
        assert data(res)["record"] == "stop"
    code, _ = curl("--digest", "-u", "admin:wrong", shared_server.url("/api/status"))
    assert code == 401


def test_basic_bearer_cookie_and_logout(server: ServerProcess, tmp_path: Path) -> None:
    code, body = curl("-u", f"API-User:{server.token}", server.url("/api/streams"))
    assert code == 200 and json.loads(body)["data"][0]["name"] == "mjpeg"
    jar = tmp_path / "jar"
    code, body = curl(
        "-c",
        str(jar),
        "-X",
        "POST",
        server.url("/api/login"),
        "-d",
        json.dumps({"username": "admin", "password": server.admin_password}),
    )
    token = json.loads(body)["data"]["token"]
    assert code == 200 and json.loads(body)["data"]["role"] == "admin"
    assert "#HttpOnly_" in jar.read_text() and "roto_session" in jar.read_text()
    code, body = curl("-H", f"Authorization: Bearer {token}", "-X", "POST", server.url("/api/recording/start"))
    assert code == 200 and json.loads(body)["data"] == {"record": "start"}
    code, body = curl("-b", str(jar), "-X", "POST", server.url("/api/recording/stop"))
    assert code == 200 and json.loads(body)["data"] == {"record": "stop"}
    res = requests.post(
        server.url("/api/login"), json={"username": "admin", "password": server.admin_password}, timeout=5
    )
    assert "HttpOnly" in res.headers["Set-Cookie"] and "SameSite=Strict" in res.headers["Set-Cookie"]
    code, _ = curl("-H", f"Authorization: Bearer {token}", "-X", "POST", server.url("/api/logout"))
    assert code == 200
    code, _ = curl("-H", f"Authorization: Bearer {token}", server.url("/api/status"))
    assert code == 401  # revoked
    code, body = curl("-b", str(jar), server.url("/api/status"))  # the same session's cookie
    assert code == 401 and "session has ended" in json.loads(body)["error"]


def test_failed_logins_are_limited_per_address_and_user(server: ServerProcess) -> None:
    url = server.url("/api/status")
    codes = [requests.get(url, auth=("admin", "guess"), timeout=5).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    res = requests.get(url, auth=("admin", server.admin_password), timeout=5)
    assert res.status_code == 429 and int(res.headers["Retry-After"]) > 0
    assert res.json() == {
        "error": "Too many failed logins",
        "limit": 5,
        "period": "5 minutes",
        "retry_after": int(res.headers["Retry-After"]),
    }
    assert requests.get(url, auth=("API-User", server.token), timeout=5).status_code == 200  # another user


def test_settings_in_v1_units(server: ServerProcess) -> None:
    auth = ("API-User", server.token)
    settings = data(requests.get(server.url("/api/settings"), auth=auth, timeout=5))
    assert settings["resolution"] == "1920x1080" and settings["main-camera"] == 1
    answer = data(requests.post(server.url("/api/settings/jpeg-quality"), data="60", auth=auth, timeout=5))
    assert answer == {"jpeg-quality": 60, "info": ["jpeg-quality"]}
    answer = data(requests.post(server.url("/api/settings/resolution"), data="1280x720", auth=auth, timeout=5))
    assert answer["resolution"] == "1280x720" and server.state("recordingResolution")["recordingResolution"] == "HD"
    res = requests.post(
        server.url("/api/settings"), json={"auto-exposure": False, "brightness": 150}, auth=auth, timeout=5
    )
    assert res.status_code == 400 and res.json()["field"] == "brightness"
    assert res.json()["errors"][0]["message"] == "Value must be between 0 and 100"
    assert server.state("exposure") == {"exposure": True} and res.json()["applied"] == {}  # all or nothing
    res = requests.post(server.url("/api/settings"), json={"contrast": 10, "record": "pause"}, auth=auth, timeout=5)
    assert res.status_code == 400 and res.json()["field"] == "record"  # refused when run: contrast is put back
    assert data(requests.get(server.url("/api/settings"), auth=auth, timeout=5))["contrast"] == settings["contrast"]
    answer = data(requests.post(server.url("/api/settings"), json={"brightness": 75}, auth=auth, timeout=5))
    assert answer["brightness"] == 75 and answer["info"] == ["brightness"]
    assert any("nearest step (79)" in n["message"] for n in answer["notices"])
    assert server.state("brightness") == {"brightness": 4}
    assert data(requests.get(server.url("/api/settings"), auth=auth, timeout=5))["brightness"] == 75
    server.post({"brightness": 5})
    assert data(requests.get(server.url("/api/settings"), auth=auth, timeout=5))["brightness"] == 86
    assert requests.post(server.url("/api/settings/nope"), data="1", auth=auth, timeout=5).status_code == 404
    res = requests.post(server.url("/api/settings"), json={"cam1-exists": False}, auth=auth, timeout=5)
    assert res.status_code == 403


def test_recordings_listing_download_and_snapshot(server: ServerProcess) -> None:
    auth = ("API-User", server.token)
    server.post({"record": "start"})
    wait_for(lambda: server.state("recordTime")["recordTime"] >= 1, what="recording")
    server.post({"record": "stop", "backupActive": True})
    listing = wait_for(
        lambda: [
            r
            for r in data(requests.get(server.url("/api/recordings"), auth=auth, timeout=5))["recordings"]
            if r["type"] == "backup"
        ],
        what="a backup file",
    )
    everything = data(requests.get(server.url("/api/recordings"), auth=auth, timeout=5))
    assert {r["type"] for r in everything["recordings"]} == {"recording", "backup"}
    created = [r["created"] for r in everything["recordings"]]
    assert created == sorted(created, reverse=True)
    page = data(requests.get(server.url("/api/recordings?per_page=1&page=2"), auth=auth, timeout=5))
    assert len(page["recordings"]) == 1 and page["total"] == everything["total"]
    manual = next(r for r in everything["recordings"] if r["type"] == "recording")
    assert "/" not in manual["id"] and manual["name"] not in manual["id"]
    res = requests.get(server.url(f"/api/recordings/{manual['id']}"), auth=auth, timeout=10)
    assert res.status_code == 200 and res.headers["Content-Type"] == "video/x-matroska"
    part = requests.get(
        server.url(f"/api/recordings/{manual['id']}"), auth=auth, headers={"Range": "bytes=0-9"}, timeout=10
    )
    assert part.status_code == 206 and part.content == res.content[:10]
    assert requests.get(server.url("/api/recordings/Li4vLi4v"), auth=auth, timeout=5).status_code == 404
    assert listing
    jpeg = requests.get(server.url("/api/snapshot"), auth=auth, timeout=10)
    assert jpeg.headers["Content-Type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    server.post({"backupActive": False})
    path = server.data_dir / "storages" / "internal" / "roto" / "recordings"
    assert ffprobe(next(path.glob("*.mkv")))["codec"] == "mjpeg"


def test_permissions_of_users(shared_server: ServerProcess) -> None:
    mine = data(
        requests.get(
            shared_server.url("/api/users/API-User/permissions"), auth=("API-User", shared_server.token), timeout=5
        )
    )
    assert mine["role"] == "operator" and mine["permissions"] == ["read", "write"]
    assert "httpPort" not in mine["write"] and "light0" in mine["write"]
    assert (
        requests.get(
            shared_server.url("/api/users/admin/permissions"), auth=("API-User", shared_server.token), timeout=5
        ).status_code
        == 403
    )
    admin = data(
        requests.get(
            shared_server.url("/api/users/admin/permissions"), auth=("admin", shared_server.admin_password), timeout=5
        )
    )
    assert "httpPort" in admin["write"]


def test_anonymous_read_only_when_enabled(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data", args=["--anonymous-read"])
    try:
        assert data(requests.get(server.url("/api/status"), timeout=5))["record"] == "stop"
        state = requests.get(server.url("/api"), timeout=5).json()
        assert "light0" in state and "userAuthentication" not in state  # a viewer's view
        res = requests.get(server.url("/api?light0=false"), timeout=5)
        assert res.json() == {"light0": True} and "viewer" not in res.headers.get("X-Roto-Notices", "viewer")
        assert requests.post(server.url("/api/recording/start"), timeout=5).status_code == 403
    finally:
        server.stop()
    again = InProcessServer(tmp_path / "data")  # the flag is not saved: without it, credentials again
    try:
        assert requests.get(again.url("/api/status"), timeout=5).status_code == 401
        again.post({"userAuthentication": {"enabled": False}}, auth=("admin", again.admin_password))
        assert data(requests.get(again.url("/api/status"), timeout=5))["record"] == "stop"  # the state's way
    finally:
        again.stop()


@pytest.mark.parametrize(("query", "field"), [("page=0", "page"), ("per_page=x", "per_page"), ("page=²", "page")])
def test_paging_errors_name_the_argument_at_fault(server: InProcessServer, query: str, field: str) -> None:
    res = requests.get(server.url(f"/api/recordings?{query}"), auth=("API-User", server.token), timeout=5)
    assert res.status_code == 400 and res.json()["field"] == field


def test_login_and_settings_errors_name_what_is_wrong(server: InProcessServer) -> None:
    login = server.url("/api/login")
    for body, field in (({"username": "admin"}, "password"), ({"password": "x"}, "username"), ([], "username")):
        res = requests.post(login, json=body, timeout=5)
        assert res.status_code == 400 and res.json()["field"] == field, body
    res = requests.post(server.url("/api/settings/brightness"), data="abc", auth=("API-User", server.token), timeout=5)
    assert res.status_code == 400 and "a number between 0 and 100" in res.json()["errors"][0]["message"]
