"""roto-server's command line: flags, ROTO_* variables, generated credentials."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from roto_server.config import parse_config
from tests.inprocess import InProcessServer
from tests.server_process import ServerProcess

FLAGS = [
    "--host",
    "--http-port",
    "--data-dir",
    "--api-token",
    "--admin-password",
    "--log-level",
    "--anonymous-read",
    "--storage-root",
    "--segment-seconds",
    "--head0",
    "--head1",
    "--metrics-open",
]


def test_help_explains_every_flag_and_its_variable() -> None:
    out = subprocess.run([sys.executable, "-m", "roto_server", "--help"], capture_output=True, text=True, check=True)
    for flag in FLAGS:
        assert flag in out.stdout
        env = "ROTO_" + flag.removeprefix("--").replace("-", "_").upper()
        assert env in out.stdout.replace("\n", " ").replace(" ", ""), env


def test_flags_win_over_environment() -> None:
    env = {
        "ROTO_HOST": "127.0.0.2",
        "ROTO_HTTP_PORT": "8123",
        "ROTO_DATA_DIR": "/tmp/x",
        "ROTO_API_TOKEN": "e",
        "ROTO_ADMIN_PASSWORD": "a",
        "ROTO_LOG_LEVEL": "debug",
    }
    cfg = parse_config([], env)
    assert (cfg.host, cfg.http_port, str(cfg.data_dir), cfg.api_token, cfg.admin_password, cfg.log_level) == (
        "127.0.0.2",
        8123,
        "/tmp/x",
        "e",
        "a",
        "debug",
    )
    cfg = parse_config(["--http-port", "9000", "--api-token", "flag"], env)
    assert (cfg.http_port, cfg.api_token) == (9000, "flag")


def test_generated_token_is_stored_printed_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, credentials=False)
    first.stop()
    creds_file = data / "credentials.json"
    stored = json.loads(creds_file.read_text())
    assert stat.S_IMODE(os.stat(creds_file).st_mode) == 0o600
    assert f"API token (API-User password): {stored['apiToken']}" in first.log()
    assert stored["adminPassword"] not in first.log()
    assert f"admin password is stored in {creds_file} (key adminPassword)" in first.log()
    second = ServerProcess(data, credentials=False)
    try:
        res = requests.get(second.url("/api"), params={"token": stored["apiToken"], "get": "[light0]"}, timeout=5)
        assert res.json() == {"light0": True}
        res = requests.get(second.url("/api"), auth=("admin", stored["adminPassword"]), timeout=5)
        assert res.ok
        # the banner names the ONVIF device service, and that URL answers an unauthenticated ONVIF call
        onvif_url = next(line.split()[-1] for line in second.log().splitlines() if line.strip().startswith("ONVIF:"))
        assert onvif_url == second.url("/onvif/device_service")
        envelope = (
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
        )
        res = requests.post(onvif_url, data=envelope, headers={"Content-Type": "application/soap+xml"}, timeout=5)
        assert res.status_code == 200 and "SystemDateAndTime" in res.text
    finally:
        second.stop()


def test_token_from_environment(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", credentials=False, env={"ROTO_API_TOKEN": "from-env"})
    try:
        assert requests.get(server.url("/api"), params={"token": "from-env"}, timeout=5).ok
        assert "from-env" not in server.log()
    finally:
        server.stop()


def test_stored_http_port_is_used_at_the_next_start(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    data = tmp_path / "data"
    first = ServerProcess(data)
    assert first.post({"httpPort": free}, auth=("admin", first.admin_password)).json() == {"httpPort": free}
    first.stop()
    proc = subprocess.Popen(
        [sys.executable, "-m", "roto_server", "--host", "127.0.0.1", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ROTO_RTSP_PORT": "0"},  # RTSP's stored port is a fixed one (8554)
    )
    try:
        assert proc.stdout is not None
        line = ""
        while "listening on" not in line:
            line = proc.stdout.readline()
            assert line, "server exited"
        assert line.strip().endswith(f"127.0.0.1:{free}")
        status = requests.get(
            f"http://127.0.0.1:{free}/api", params={"get": "[httpStatus]"}, auth=("admin", "x"), timeout=5
        )
        assert status.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_storage_root_that_does_not_exist_is_created_with_a_warning(tmp_path: Path) -> None:
    typo = tmp_path / "meda"  # the operator meant /media, where the sticks are mounted
    unit = InProcessServer(tmp_path / "data", args=["--storage-root", str(typo)])
    try:
        assert (typo / "internal").is_dir()
        assert f"storage root {typo} did not exist" in unit.log()
    finally:
        unit.stop()
    fresh = InProcessServer(tmp_path / "fresh")  # the default root inside the data folder is no mistake
    try:
        assert "did not exist" not in fresh.log()
    finally:
        fresh.stop()


@pytest.mark.parametrize("option", ["--head0", "--head1"])
def test_a_bad_head_names_its_option(option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_config([option, str(tmp_path / "missing.mp4")], {})
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"{option}: " in error and "missing.mp4" in error and "--head0/--head1" not in error
