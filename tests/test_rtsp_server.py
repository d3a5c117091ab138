"""The RTSP server of a real roto-server process: the camera's H.264 and recordings, played by real clients
(ffprobe, ffmpeg, GStreamer, OpenCV, PyAV) and raw sockets, through the same users and lockouts as HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import requests

from roto_server.config import parse_config
from roto_server.imaging.encoded import EncodedFrame
from roto_server.protocols.rtsp.messages import InterleavedFrame
from roto_server.protocols.rtsp.sdp import StreamDescription
from tests.media_files import probe_rtsp, wait_for
from tests.rtsp_source import ServerThread
from tests.server_process import ServerProcess
from tests.test_rtsp_engine import RawClient, decoded_frames, gstreamer_has

USER = "API-User"
MAX_PLAYING = 3  # low, so refusing one more session stays cheap
FULL_HD = (1920, 1080)
SUB = (640, 360)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("rtsp"), args=["--rtsp-max-sessions", str(MAX_PLAYING)])
    try:
        yield proc
    finally:
        proc.stop()


def rtsp_port(server: ServerProcess) -> int:
    status = server.state("rtspStatus")["rtspStatus"]
    assert status["running"], status
    return int(status["port"])


def url(server: ServerProcess, path: str = "stream1", *, credentials: bool = True) -> str:
    userinfo = f"{USER}:{server.token}@" if credentials else ""
    return f"rtsp://{userinfo}127.0.0.1:{rtsp_port(server)}/{path}"


def probe(address: str, transport: str = "tcp") -> dict[str, object]:
    done = probe_rtsp(address, transport)
    assert done.returncode == 0, done.stderr
    [stream] = json.loads(done.stdout)["streams"]
    return dict(stream)


def size_of(stream: dict[str, object]) -> tuple[object, object]:
    return stream["width"], stream["height"]


# --- what players see ----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_ffprobe_reports_h264_at_the_c2_resolution(server: ServerProcess, transport: str) -> None:
    assert server.state("recordingResolution")["recordingResolution"] == "FullHD"
    stream = probe(url(server), transport)
    assert (stream["codec_name"], *size_of(stream)) == ("h264", *FULL_HD)


def test_token_in_the_query_and_the_aliases_play(server: ServerProcess) -> None:
    base = url(server, credentials=False).rsplit("/", 1)[0]
    for path in ("stream0", "stream"):
        assert size_of(probe(f"{base}/{path}?token={server.token}", "udp")) == FULL_HD


def test_stream2_is_the_smaller_sub_stream(server: ServerProcess) -> None:
    assert size_of(probe(url(server, "stream2"), "udp")) == SUB


def test_ffmpeg_decodes_60_frames_at_the_configured_fps(server: ServerProcess) -> None:
    command = ["ffmpeg", "-v", "info", "-rtsp_transport", "tcp", "-i", url(server)]
    command += ["-frames:v", "60", "-vf", "showinfo", "-f", "null", "-"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    times = [float(t) for t in re.findall(r"\bn:\s*\d+\s+pts:\s*\d+\s+pts_time:([0-9.]+)", done.stderr)]
    assert len(times) >= 60
    fps = server.state("recordingFps")["recordingFps"]
    # ffmpeg gives the very first frame no timestamp (0); from the second on, RTP timestamps follow the
    # capture times: 1/fps apart, give or take a frame skipped under load
    times = times[1:60]
    assert 0.9 / fps <= (times[-1] - times[0]) / (len(times) - 1) <= 1.25 / fps


@pytest.mark.skipif(
    not gstreamer_has("rtspsrc", "rtph264depay", "h264parse", "avdec_h264"),
    reason="GStreamer with plugins-good, -bad and -libav is not installed",
)
def test_gstreamer_plays_with_credentials(server: ServerProcess) -> None:
    location = url(server, credentials=False)
    pipeline = (
        f"rtspsrc location={location} user-id={USER} user-pw={server.token} protocols=tcp "
        "! rtph264depay ! h264parse ! avdec_h264 ! fakesink num-buffers=30 sync=false silent=false"
    )
    done = subprocess.run(["gst-launch-1.0", "-v", *pipeline.split()], capture_output=True, text=True, timeout=60)
    # one line per decoded picture; I420 of FullHD is 1920 * 1080 * 1.5 bytes
    decoded = re.findall(r"chain\s+\*+ \(fakesink0:sink\) \((\d+) bytes", done.stdout)
    assert decoded == [str(FULL_HD[0] * FULL_HD[1] * 3 // 2)] * 30, done.stdout[-2000:] + done.stderr
    # rtspsrc sometimes trips over its own connection while it tears down after the last buffer (PAUSE and
    # TEARDOWN from two threads); that, and only that, may end the run with an error
    errors = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if line.startswith("ERROR")]
    assert done.returncode == 0 or "Received end-of-file" in done.stdout + done.stderr, errors


def test_opencv_and_pyav_read_frames_of_the_right_size(server: ServerProcess) -> None:
    capture = cv2.VideoCapture(url(server, "stream2"), cv2.CAP_FFMPEG)
    try:
        shapes = [capture.read()[1].shape for _ in range(5)]
    finally:
        capture.release()
    assert shapes == [(SUB[1], SUB[0], 3)] * 5
    with av.open(url(server), options={"rtsp_transport": "tcp"}, timeout=10) as container:
        sizes = [(f.width, f.height) for f, _ in zip(container.decode(video=0), range(5), strict=False)]
    assert sizes == [FULL_HD] * 5


# --- authentication ------------------------------------------------------------------------------------


def test_without_credentials_401_with_digest_and_basic_challenges(server: ServerProcess) -> None:
    client = RawClient(rtsp_port(server))
    try:
        response = client.request("DESCRIBE", client.url, Accept="application/sdp")
    finally:
        client.close()
    assert response.status == 401
    challenges = [v for k, v in response.headers.items if k.lower() == "www-authenticate"]
    assert any(c.startswith("Digest") and "MD5" in c for c in challenges)
    assert any(c.startswith("Digest") and "SHA-256" in c for c in challenges)
    assert any(c.startswith("Basic") for c in challenges)
    done = probe_rtsp(url(server, credentials=False), "tcp")
    assert done.returncode != 0 and "401" in done.stderr


def digest_header(challenge: str, method: str, uri: str, password: str, qop: bool, count: int = 1) -> str:
    """An Authorization value as a client computes it: RFC 2069 style without qop, or RFC 7616 with qop=auth."""
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
    algorithm = fields["algorithm"]
    digest = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]

    def h(text: str) -> str:
        return digest(text.encode()).hexdigest()

    realm, nonce = fields["realm"], fields["nonce"]
    ha1, ha2 = h(f"{USER}:{realm}:{password}"), h(f"{method}:{uri}")
    common = f'username="{USER}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if not qop:
        return f'Digest {common}, algorithm={algorithm}, response="{h(f"{ha1}:{nonce}:{ha2}")}"'
    nc = f"{count:08x}"
    answer = h(f"{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}")
    return f'Digest {common}, algorithm={algorithm}, qop=auth, nc={nc}, cnonce="c0ffee", response="{answer}"'


def play_raw(client: RawClient, authorization: Callable[[str, str], str]) -> bytes:
    """DESCRIBE, SETUP (TCP interleaved) and PLAY with the Authorization the callable gives; the first RTP payload."""
    control = client.url + "/trackID=0"
    described = client.request(
        "DESCRIBE", client.url, Accept="application/sdp", Authorization=authorization("DESCRIBE", client.url)
    )
    assert described.status == 200, described
    transport = "RTP/AVP/TCP;unicast;interleaved=0-1"
    setup = client.request("SETUP", control, Transport=transport, Authorization=authorization("SETUP", control))
    assert setup.status == 200, setup
    assert client.request("PLAY", client.url).status == 200
    packet = client.next(InterleavedFrame)
    assert isinstance(packet, InterleavedFrame) and packet.channel == 0
    return packet.data


@pytest.mark.parametrize(("algorithm", "qop"), [("MD5", False), ("SHA-256", False), ("MD5", True), ("SHA-256", True)])
def test_a_digest_only_client_plays(server: ServerProcess, algorithm: str, qop: bool) -> None:
    client = RawClient(rtsp_port(server))
    try:
        refused = client.request("DESCRIBE", client.url, Accept="application/sdp")
        [challenge] = [v for k, v in refused.headers.items if k.lower() == "www-authenticate" and algorithm in v]

        counts = iter(range(1, 100))  # a client with qop counts its uses of the nonce

        def authorization(method: str, uri: str) -> str:
            return digest_header(challenge, method, uri, server.token, qop, next(counts))

        payload = play_raw(client, authorization)
    finally:
        client.close()
    assert len(payload) > 12  # an RTP packet with a header and H.264 data


def test_a_basic_only_client_plays(server: ServerProcess) -> None:
    basic = "Basic " + base64.b64encode(f"{USER}:{server.token}".encode()).decode()
    client = RawClient(rtsp_port(server))
    try:
        payload = play_raw(client, lambda method, uri: basic)
    finally:
        client.close()
    assert len(payload) > 12


def test_wrong_passwords_count_towards_the_same_lockout_as_http(server: ServerProcess) -> None:
    intruder = "intruder"  # not the API-User, so the lockout leaves the other tests alone
    basic = "Basic " + base64.b64encode(f"{intruder}:guess".encode()).decode()
    statuses = []
    client = RawClient(rtsp_port(server))
    try:
        for _ in range(6):
            statuses.append(client.request("DESCRIBE", client.url, Authorization=basic).status)
    finally:
        client.close()
    assert statuses[:5] == [401] * 5 and statuses[5] == 403
    res = requests.get(server.url("/api"), params={"get": "[cam0Exists]"}, auth=(intruder, "guess"), timeout=10)
    assert res.status_code == 429  # HTTP sees the same lockout


# --- limits and state ------------------------------------------------------------------------------------


def start_raw_player(server: ServerProcess, path: str = "stream1") -> RawClient:
    basic = "Basic " + base64.b64encode(f"{USER}:{server.token}".encode()).decode()
    client = RawClient(rtsp_port(server))
    client.url = client.url.replace("/stream1", f"/{path}")
    play_raw(client, lambda method, uri: basic)
    return client


def test_one_more_than_the_limit_gets_453_while_the_others_play(server: ServerProcess) -> None:
    players = [start_raw_player(server) for _ in range(MAX_PLAYING)]
    try:
        status = wait_for(
            lambda: (s := server.state("rtspStatus")["rtspStatus"]).get("playing") == MAX_PLAYING and s,
            timeout=10,
            what="the sessions in rtspStatus",
        )
        assert status["maxPlaying"] == MAX_PLAYING
        assert {(c["path"], c["transport"], c["address"]) for c in status["clients"]} == {
            ("/stream1", "tcp", "127.0.0.1")
        }
        refused = probe_rtsp(url(server), "tcp")
        assert refused.returncode != 0 and "453" in refused.stderr
        for player in players:  # every one of them still receives pictures
            player.pending.clear()
            assert isinstance(player.next(InterleavedFrame), InterleavedFrame)
    finally:
        for player in players:
            player.close()
    wait_for(lambda: server.state("rtspStatus")["rtspStatus"].get("playing") == 0, timeout=10, what="sessions gone")


def test_at_the_default_limit_the_eleventh_session_gets_453(tmp_path: Path) -> None:
    fresh = ServerProcess(tmp_path / "data")  # --rtsp-max-sessions not given: 10
    players: list[RawClient] = []
    try:
        players = [start_raw_player(fresh, "stream2") for _ in range(10)]
        assert fresh.state("rtspStatus")["rtspStatus"]["playing"] == 10
        refused = probe_rtsp(url(fresh, "stream2"), "tcp")
        assert refused.returncode != 0 and "453" in refused.stderr
        players[0].pending.clear()
        assert isinstance(players[0].next(InterleavedFrame), InterleavedFrame)
    finally:
        for player in players:
            player.close()
        fresh.stop()


def test_anonymous_plays_only_while_anonymous_read_is_on(tmp_path: Path) -> None:
    open_unit = ServerProcess(tmp_path / "data", ["--anonymous-read"])
    try:
        assert size_of(probe(url(open_unit, "stream2", credentials=False))) == SUB
    finally:
        open_unit.stop()


def test_urls_are_listed(server: ServerProcess) -> None:
    port = rtsp_port(server)
    urls = server.state("connectionUrls")["connectionUrls"]["rtsp"]
    assert f"rtsp://127.0.0.1:{port}/stream1" in urls and f"rtsp://127.0.0.1:{port}/stream2" in urls
    res = requests.get(server.url("/api/streams"), params={"token": server.token}, timeout=10)
    listed = {s["name"]: s["url"] for s in res.json()["data"]}
    assert listed["rtsp-stream1"] == f"rtsp://127.0.0.1:{port}/stream1"
    info = requests.get(server.url("/api/info"), params={"token": server.token}, timeout=10).json()
    assert info["data"]["capabilities"]["rtsp"] is True


def test_a_new_session_follows_resolution_and_camera_switch(server: ServerProcess) -> None:
    admin = ("admin", server.admin_password)
    try:
        assert server.post({"recordingResolution": "HD"}, auth=admin).json() == {"recordingResolution": "HD"}
        assert size_of(probe(url(server))) == (1280, 720)
        assert size_of(probe(url(server, "stream2"))) == SUB
        before = rtsp_picture(server)
        assert server.post({"cameraSwitch": True}, auth=admin).json() == {"cameraSwitch": True}
        after = rtsp_picture(server)
        snapshot = requests.get(server.url("/camera.jpeg"), params={"token": server.token}, timeout=10).content
        mjpeg = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR)
        # the other head's picture: far from the first head's, close to what MJPEG shows now
        assert difference(after, mjpeg) < difference(before, mjpeg)
    finally:
        server.post({"recordingResolution": "FullHD", "cameraSwitch": False}, auth=admin)


def rtsp_picture(server: ServerProcess) -> np.ndarray:
    with av.open(url(server), options={"rtsp_transport": "tcp"}, timeout=10) as container:
        return next(container.decode(video=0)).to_ndarray(format="bgr24")


def difference(a: np.ndarray, b: np.ndarray) -> float:
    small = (160, 90)
    return float(cv2.absdiff(cv2.resize(a, small), cv2.resize(b, small)).mean())


def test_recording_plays_a_recording_the_test_made(server: ServerProcess) -> None:
    assert server.post({"record": "start"}).json() == {"record": "start"}
    wait_for(lambda: server.state("recordTime")["recordTime"] >= 2, 20, "two recorded seconds")
    assert server.post({"record": "stop"}).json() == {"record": "stop"}
    wait_for(lambda: server.state("record")["record"] == "stop", what="recording stopped")
    started = time.monotonic()
    stream = probe(url(server, "recording"))
    assert (stream["codec_name"], *size_of(stream)) == ("mjpeg", *FULL_HD)
    frames = decoded_frames(url(server, "recording"), 10_000)  # ends with the file
    assert frames >= 30
    assert time.monotonic() - started >= 1.5  # paced in real time, not as fast as the file reads
    listed = requests.get(server.url("/api/recordings"), params={"token": server.token}, timeout=10).json()
    [made] = [r for r in listed["data"]["recordings"] if r["type"] == "recording"]
    assert decoded_frames(url(server, f"recording?id={made['id']}"), 5) == 5
    missing = probe_rtsp(url(server, "recording?id=nothing.r.here"), "tcp")
    assert missing.returncode != 0 and "404" in missing.stderr


def test_rtsp_on_false_closes_the_listener_at_run_time(server: ServerProcess) -> None:
    port = rtsp_port(server)
    admin = ("admin", server.admin_password)
    assert server.post({"rtspOn": False}, auth=admin).json() == {"rtspOn": False}
    wait_for(lambda: not server.state("rtspStatus")["rtspStatus"]["running"], timeout=10, what="RTSP off")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert "rtsp" not in server.state("connectionUrls")["connectionUrls"]


class FailingSource:
    """A source whose stream breaks at once, as a recording that cannot be read would."""

    def __init__(self, description: StreamDescription) -> None:
        self.description = description

    async def describe(self, path: str, query: Mapping[str, str]) -> StreamDescription | None:
        return self.description

    async def frames(self, path: str, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        raise OSError("the file went away")
        yield  # an async generator all the same


def test_a_stream_that_fails_ends_its_session_and_the_connection() -> None:
    with ServerThread() as rtsp:
        rtsp.server.source = FailingSource(rtsp.source.descriptions["stream1"])
        client = RawClient(rtsp.server.port)
        try:
            assert client.request("DESCRIBE", client.url).status == 200
            transport = "RTP/AVP/TCP;unicast;interleaved=0-1"
            assert client.request("SETUP", client.url + "/trackID=0", Transport=transport).status == 200
            assert client.request("PLAY", client.url).status == 200
            client.sock.settimeout(5)
            # the player learns at once instead of waiting for pictures that never come
            assert client.sock.recv(65536) == b""
        finally:
            client.close()
        assert rtsp.call(lambda: len(rtsp.server.table.sessions)) == 0


def test_rtsp_flags_and_their_variables() -> None:
    assert parse_config([], {}).rtsp_port is None  # the stored rtspOn/rtspPort apply
    config = parse_config([], {"ROTO_RTSP_PORT": "9554", "ROTO_RTSP_MAX_SESSIONS": "4"})
    assert (config.rtsp_port, config.rtsp_max_sessions) == (9554, 4)
    assert parse_config(["--rtsp-port", "0"], {"ROTO_RTSP_PORT": "9554"}).rtsp_port == 0


def test_bad_rtsp_flags_are_refused_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for bad, message in (
        (["--rtsp-port", "70000"], "--rtsp-port must be between 0 and 65535"),
        (["--rtsp-max-sessions", "0"], "--rtsp-max-sessions must be at least 1"),
    ):
        with pytest.raises(SystemExit):
            parse_config(bad, {})
        assert message in capsys.readouterr().err
