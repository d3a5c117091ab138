"""WS-Discovery: the sans-IO responder, and the real `wsdiscovery` client finding the unit inside network namespaces."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from roto_server.protocols.wsd import codec
from roto_server.protocols.wsd.responder import Responder, scope_matches
from tests.onvif_soap import envelope

TARGET = codec.Target(
    "urn:uuid:0b7c2d36-0000-5000-8000-000000000001",
    ("onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/name/unit-7"),
    ("http://192.0.2.5:8080/onvif/device_service",),
)


def probe(types: str = "dn:NetworkVideoTransmitter", scopes: str = "", message_id: str = "urn:uuid:probe-1") -> bytes:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        f"<s:Header><a:MessageID>{message_id}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>"
        f"<s:Body><d:Probe><d:Types>{types}</d:Types><d:Scopes>{scopes}</d:Scopes></d:Probe></s:Body></s:Envelope>"
    ).encode()


def test_a_matching_probe_gets_probe_matches_relating_to_it() -> None:
    responder = Responder(lambda local: TARGET, instance_id=7)
    reply = responder.answer(probe(scopes="onvif://www.onvif.org/name"), "192.0.2.5")
    assert reply is not None
    assert b"<a:RelatesTo>urn:uuid:probe-1</a:RelatesTo>" in reply
    assert b"http://192.0.2.5:8080/onvif/device_service" in reply
    assert b"dn:NetworkVideoTransmitter tds:Device" in reply


def test_probes_for_other_types_or_scopes_and_garbage_stay_unanswered() -> None:
    responder = Responder(lambda local: TARGET, instance_id=7)
    assert responder.answer(probe(types="dn:Printer"), "192.0.2.5") is None
    assert responder.answer(probe(scopes="onvif://www.onvif.org/name/other"), "192.0.2.5") is None
    assert responder.answer(b"<not xml", "192.0.2.5") is None
    assert responder.answer(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "192.0.2.5") is None


def test_scope_matching_follows_rfc3986_segments() -> None:
    assert scope_matches("onvif://www.onvif.org/Profile", "onvif://www.onvif.org/Profile/Streaming", None)
    assert not scope_matches("onvif://www.onvif.org/Prof", "onvif://www.onvif.org/Profile/Streaming", None)


def test_resolve_answers_only_for_the_units_address() -> None:
    responder = Responder(lambda local: TARGET, instance_id=7)
    resolve = probe().replace(
        b"<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes></d:Scopes></d:Probe>",
        f"<d:Resolve><a:EndpointReference><a:Address>{TARGET.address}</a:Address>"
        "</a:EndpointReference></d:Resolve>".encode(),
    )
    reply = responder.answer(resolve, "192.0.2.5")
    assert reply is not None and b"ResolveMatch" in reply
    assert responder.answer(resolve.replace(TARGET.address.encode(), b"urn:uuid:someone-else"), "192.0.2.5") is None


def _can_make_namespaces() -> str | None:
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"rotoprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"network namespaces are not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair: the unit in one (10.213.0.1), a client in the other (10.213.0.2)."""
    why = _can_make_namespaces()
    if why:
        pytest.skip(why)
    tag = uuid.uuid4().hex[:6]
    unit, client = f"rotou{tag}", f"rotoc{tag}"
    steps = [
        ["ip", "netns", "add", unit],
        ["ip", "netns", "add", client],
        ["ip", "link", "add", f"vu{tag}", "type", "veth", "peer", "name", f"vc{tag}"],
        ["ip", "link", "set", f"vu{tag}", "netns", unit],
        ["ip", "link", "set", f"vc{tag}", "netns", client],
    ]
    for ns, dev, address in ((unit, f"vu{tag}", "10.213.0.1"), (client, f"vc{tag}", "10.213.0.2")):
        steps += [
            ["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", dev],
            ["ip", "-n", ns, "link", "set", dev, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", dev],
        ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield unit, client
    finally:
        for ns in (unit, client):  # deleting a namespace takes its end of the veth pair, and so the pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


FIND = """
import json, sys
from wsdiscovery.discovery import ThreadedWSDiscovery
from wsdiscovery import QName
wsd = ThreadedWSDiscovery()
wsd.start()
try:
    found = wsd.searchServices(types=[QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter")],
                               timeout=float(sys.argv[1]))
    print(json.dumps([{"xaddrs": s.getXAddrs(), "scopes": [str(x) for x in s.getScopes()], "epr": s.getEPR()}
                      for s in found]))
finally:
    wsd.stop()
"""


LISTEN = """
import socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("", 3702))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.255.255.250"),
                socket.inet_aton("10.213.0.2")))
sock.settimeout(60)
print("ready", flush=True)
while True:
    data = sock.recv(65536)
    for action in ("Hello", "Bye"):
        if f"discovery/{action}<".encode() in data:
            print(action, flush=True)
            if action == "Bye":
                sys.exit(0)
"""


def test_wsdiscovery_finds_the_unit_in_a_namespace(namespaces: tuple[str, str], tmp_path: Path) -> None:
    unit_ns, client_ns = namespaces
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    announcements = subprocess.Popen(
        ["ip", "netns", "exec", client_ns, sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, text=True
    )
    assert announcements.stdout is not None and announcements.stdout.readline().strip() == "ready"
    server = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            unit_ns,
            sys.executable,
            "-m",
            "roto_server",
            "--host",
            "0.0.0.0",
            "--http-port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--api-token",
            "ns-token",
            "--admin-password",
            "ns-admin",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        port, lines, deadline = None, [], time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"listening on [\d.]+:(\d+)", line):
                port = int(match.group(1))
        assert port is not None, "".join(lines)
        xaddr = f"http://10.213.0.1:{port}/onvif/device_service"
        found: list[dict[str, object]] = []
        for _ in range(3):  # the unit joins the group right after its servers start
            out = subprocess.run(
                ["ip", "netns", "exec", client_ns, sys.executable, "-c", FIND, "2"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            found = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else []
            if found:
                break
        assert [f["xaddrs"] for f in found] == [[xaddr]], out.stderr[-2000:]
        assert "onvif://www.onvif.org/Profile/Streaming" in found[0]["scopes"]  # type: ignore[operator]
        # and the XAddr it found answers from the client's side
        answer = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                client_ns,
                "curl",
                "-s",
                "-H",
                "Content-Type: application/soap+xml",
                "--data-binary",
                envelope("<tds:GetSystemDateAndTime/>").decode(),
                xaddr,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "UTCDateTime" in answer.stdout
        server.terminate()
        server.wait(timeout=15)
        heard, _ = announcements.communicate(timeout=30)
        assert heard.split() == ["Hello", "Bye"]  # announced at start and at stop, on the namespace's link
    finally:
        for proc in (server, announcements):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_discovery_is_on_by_default_and_can_be_turned_off() -> None:
    from roto_server.config import parse_config

    assert parse_config([], {}).discovery is True
    assert parse_config(["--no-discovery"], {}).discovery is False
    assert parse_config([], {"ROTO_DISCOVERY": "0"}).discovery is False
