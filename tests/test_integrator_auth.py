"""What an integrator following the vendor docs hits: login token, challenge order, form bodies, CORS."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from roto_server.config import parse_config
from tests.inprocess import InProcessServer
from tests.server_process import ServerProcess

ORIGIN = "http://dashboard.example:3000"


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = InProcessServer(tmp_path_factory.mktemp("cors") / "data", args=["--cors-origin", ORIGIN])
    yield proc
    proc.stop()


def curl(*args: str) -> tuple[str, str]:
    """Headers and body of one curl call."""
    done = subprocess.run(["curl", "-s", "-i", "--max-time", "10", *args], capture_output=True, text=True, check=True)
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    return head, body


def test_login_token_is_at_the_top_level_for_jq_dot_token(cors_server: ServerProcess) -> None:
    login = json.dumps({"username": "admin", "password": cors_server.admin_password})
    _, body = curl("-X", "POST", cors_server.url("/api/login"), "-d", login)
    answer = json.loads(body)
    assert answer["token"] == answer["data"]["token"] and answer["status"] == "success"
    head, _ = curl("-H", f"Authorization: Bearer {answer['token']}", cors_server.url("/api/status"))
    assert head.startswith("HTTP/1.1 200")


def test_challenges_offer_digest_sha256_first(cors_server: ServerProcess) -> None:
    head, _ = curl("-g", cors_server.url("/api?get=[light0]"))
    challenges = [line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("www-auth")]
    kinds = [
        c.split(",")[0].split()[0] + (" " + c.split("algorithm=")[1].split(",")[0] if "algorithm" in c else "")
        for c in challenges
    ]
    assert kinds == ["Digest SHA-256", "Digest MD5", "Basic", "Bearer"]


def test_a_form_encoded_post_says_what_to_send_and_changes_nothing(cors_server: ServerProcess) -> None:
    before = cors_server.state("light0")["light0"]
    flipped = "false" if before else "true"
    head, body = curl("-u", f"API-User:{cors_server.token}", "-d", f"light0={flipped}", cors_server.url("/api"))
    assert head.startswith("HTTP/1.1 400")
    error = json.loads(body)
    assert error["field"] == "light0"
    assert "JSON object" in error["error"] and "GET /api?light0=" in error["error"]
    assert cors_server.state("light0")["light0"] == before
    # curl -d with a JSON body (the README's own example) still works
    head, body = curl("-u", f"API-User:{cors_server.token}", "-d", f'{{"light0": {flipped}}}', cors_server.url("/api"))
    assert head.startswith("HTTP/1.1 200") and json.loads(body) == {"light0": not before}


@pytest.mark.parametrize("path", ["/api", "/api/settings"])
def test_cors_preflight_for_every_api(cors_server: ServerProcess, path: str) -> None:
    preflight = requests.options(
        cors_server.url(path),
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    answer = requests.post(
        cors_server.url("/api"),
        json={"get": ["light0"]},
        headers={"Origin": ORIGIN},
        auth=("API-User", cors_server.token),
        timeout=5,
    )
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Roto-Notices" in answer.headers["Access-Control-Expose-Headers"]


def test_cors_preflight_and_headers_for_the_configured_origin_only(cors_server: ServerProcess) -> None:
    preflight = requests.options(
        cors_server.url("/api/status"),
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=5,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    answer = requests.get(
        cors_server.url("/api/status"),
        headers={"Origin": ORIGIN},
        auth=("admin", cors_server.admin_password),
        timeout=5,
    )
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = requests.get(cors_server.url("/api/status"), headers={"Origin": ORIGIN}, timeout=5)
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    stranger = requests.get(cors_server.url("/api/status"), headers={"Origin": "http://evil.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in stranger.headers
    other_preflight = requests.options(
        cors_server.url("/api/status"),
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in other_preflight.headers


def test_cors_is_off_by_default(shared_server: ServerProcess, tmp_path: Path) -> None:
    answer = requests.get(shared_server.url("/api/info"), headers={"Origin": ORIGIN}, timeout=5)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers


def test_cors_origin_comes_from_its_flag_or_variable() -> None:
    assert parse_config([], {"ROTO_CORS_ORIGIN": ORIGIN}).cors_origin == ORIGIN
    assert parse_config(["--cors-origin", "https://a.example"], {"ROTO_CORS_ORIGIN": ORIGIN}).cors_origin == (
        "https://a.example"
    )
    assert parse_config([], {}).cors_origin is None
