"""HTTPS and WSS with real clients that verify the certificate (curl --cacert, websocket-client, requests)."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websocket import create_connection

from roto_server.tls import TlsError, device_certificate, operator_certificate
from tests.media_files import wait_for
from tests.server_process import ADMIN_PASSWORD, TOKEN, ServerProcess


def https_port(server: ServerProcess) -> int:
    return int(server.state("httpsStatus")["httpsStatus"]["port"])


def handshake_fingerprint(port: int, cacert: Path) -> str:
    """SHA-256 of the certificate the server presents, as AA:BB:..."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), ca_certs=str(cacert))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()


def colon_hex(fingerprint: str) -> str:
    return ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2))


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("https") / "data", ["--https-port", "0"])
    yield proc
    proc.stop()


def test_curl_trusts_the_generated_certificate_by_its_file(secure: ServerProcess) -> None:
    port, cacert = https_port(secure), secure.data_dir / "https-cert.pem"
    for host in ("127.0.0.1", "localhost"):  # both are subject alternative names
        out = subprocess.run(
            ["curl", "-sS", "-g", "--cacert", str(cacert), f"https://{host}:{port}/api?token={TOKEN}&get=[swVersion]"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert out.returncode == 0, out.stderr
        assert "swVersion" in json.loads(out.stdout)
    key = secure.data_dir / "https-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_https_certificate_describes_what_the_handshake_shows(secure: ServerProcess) -> None:
    port, cacert = https_port(secure), secure.data_dir / "https-cert.pem"
    described = secure.state("httpsCertificate")["httpsCertificate"]
    assert described["sha256Fingerprint"] == colon_hex(handshake_fingerprint(port, cacert))
    assert described["selfSigned"] is True and described["source"] == "generated"
    assert {"localhost", "127.0.0.1"} <= set(described["subjectAltNames"])
    assert described["notBefore"] < described["notAfter"]
    urls = secure.state("connectionUrls")["connectionUrls"]
    assert urls["https"] == [f"https://127.0.0.1:{port}/api"] and urls["wss"] == [f"wss://127.0.0.1:{port}/api"]
    assert f"127.0.0.1:{port} (HTTPS)" in secure.log()  # start-up output names the HTTPS address too


@pytest.mark.parametrize(("path", "key"), [("/api", "cam0Exists"), ("/api/v1", "cam1-exists")])
def test_websockets_over_tls(secure: ServerProcess, path: str, key: str) -> None:
    port, cacert = https_port(secure), secure.data_dir / "https-cert.pem"
    ws = create_connection(f"wss://127.0.0.1:{port}{path}?token={TOKEN}", sslopt={"ca_certs": str(cacert)}, timeout=10)
    try:
        assert json.loads(ws.recv())[key] is True  # the whole state in that API's vocabulary, over TLS
    finally:
        ws.close()


def test_session_cookie_is_secure_only_over_https(secure: ServerProcess) -> None:
    port, cacert = https_port(secure), secure.data_dir / "https-cert.pem"
    login = {"username": "admin", "password": ADMIN_PASSWORD}
    over_tls = requests.post(f"https://127.0.0.1:{port}/api/login", json=login, verify=str(cacert), timeout=5)
    in_clear = requests.post(secure.url("/api/login"), json=login, timeout=5)
    assert over_tls.ok and in_clear.ok
    assert "secure" in over_tls.headers["Set-Cookie"].lower()
    assert "secure" not in in_clear.headers["Set-Cookie"].lower()


def test_the_certificate_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, ["--https-port", "0"])
    try:
        before = handshake_fingerprint(https_port(first), data / "https-cert.pem")
    finally:
        first.stop()
    second = ServerProcess(data, ["--https-port", "0"])
    try:
        assert handshake_fingerprint(https_port(second), data / "https-cert.pem") == before
    finally:
        second.stop()


def test_the_operators_certificate_is_served(tmp_path: Path) -> None:
    own = device_certificate(tmp_path / "own", "camera.example.org", [])  # any valid pair will do
    args = ["--https-port", "0", "--tls-cert", str(own.cert_path), "--tls-key", str(own.key_path)]
    server = ServerProcess(tmp_path / "data", args)
    try:
        port = https_port(server)
        described = server.state("httpsCertificate")["httpsCertificate"]
        assert described["source"] == "operator" and "camera.example.org" in described["subject"]
        assert described["sha256Fingerprint"] == colon_hex(handshake_fingerprint(port, own.cert_path))
        assert not (tmp_path / "data" / "https-cert.pem").exists()  # nothing generated
    finally:
        server.stop()


def test_an_operator_certificate_that_does_not_load_stops_the_start(tmp_path: Path) -> None:
    bogus = tmp_path / "cert.pem"
    bogus.write_text("not a certificate")
    command = [sys.executable, "-m", "roto_server", "--host", "127.0.0.1", "--http-port", "0"]
    command += ["--data-dir", str(tmp_path / "data"), "--tls-cert", str(bogus), "--tls-key", str(bogus)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"{bogus} is not a PEM certificate" in out.stdout + out.stderr
    half = subprocess.run([*command[:-2]], capture_output=True, text=True, timeout=60)
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr


def test_operator_pairs_are_checked_file_by_file(tmp_path: Path) -> None:
    one = device_certificate(tmp_path / "one", "one.example.org", [])
    other = device_certificate(tmp_path / "other", "other.example.org", [])
    with pytest.raises(TlsError, match="is not an unencrypted PEM private key"):
        operator_certificate(one.cert_path, one.cert_path)
    with pytest.raises(TlsError, match=r"cannot read .*missing\.pem: No such file"):
        operator_certificate(tmp_path / "missing.pem", one.key_path)
    with pytest.raises(TlsError, match=r"cannot use certificate .* with key"):
        operator_certificate(one.cert_path, other.key_path)  # a key that belongs to another certificate
    assert operator_certificate(one.cert_path, one.key_path).describe()["source"] == "operator"


def test_https_port_moves_at_run_time(secure: ServerProcess) -> None:
    old, cacert = https_port(secure), secure.data_dir / "https-cert.pem"
    with socket.socket() as probe:  # a free port (another process could take it first: a tiny race)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert secure.post({"httpsPort": port}, auth=("admin", ADMIN_PASSWORD)).json() == {"httpsPort": port}

    def curl(at: int) -> int:
        url = f"https://127.0.0.1:{at}/api?token={TOKEN}&get=[swVersion]"
        return subprocess.run(["curl", "-sS", "-g", "--cacert", str(cacert), url], capture_output=True).returncode

    wait_for(lambda: curl(port) == 0, timeout=10, what="HTTPS on the new port")
    wait_for(lambda: curl(old) == 7, timeout=10, what="the old HTTPS port refusing")  # 7: could not connect
    assert https_port(secure) == port
