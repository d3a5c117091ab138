"""The asyncio RTSP engine against real clients (ffprobe, ffmpeg, OpenCV, PyAV, GStreamer) on 127.0.0.1,
fed by a synthetic H.264 source; plus raw-socket checks of keep-alive, expiry and malformed input."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import av
import cv2
import numpy as np
import pytest

from roto_server.auth.digest import DigestAuth, DigestError
from roto_server.auth.digest import parse as parse_digest
from roto_server.protocols.rtp.packet import RtpPacket
from roto_server.protocols.rtp.rtcp import ReceiverReport, ReportBlock
from roto_server.protocols.rtsp.auth import AuthAttempt, Granted, Refused
from roto_server.protocols.rtsp.codec import Decoder
from roto_server.protocols.rtsp.messages import Headers, InterleavedFrame, Request, Response
from tests.media_files import probe_rtsp, wait_for
from tests.rtsp_source import FPS, RECORDING_FRAMES, SIZES, ServerThread, pattern

USER, PASSWORD = "API-User", "s3cret-token"


@pytest.fixture(scope="module")
def rtsp() -> Iterator[ServerThread]:
    with ServerThread() as server:
        yield server


def decoded_frames(url: str, count: int, transport: str = "tcp") -> int:
    """How many frames ffmpeg decodes from the URL when asked for `count` (framecrc prints one line per frame)."""
    command = [
        "ffmpeg",
        "-v",
        "error",
        "-rtsp_transport",
        transport,
        "-i",
        url,
        "-frames:v",
        str(count),
        "-f",
        "framecrc",
        "-",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("path", ["stream1", "stream2"])
def test_ffprobe_reports_h264_of_the_streams_size(rtsp: ServerThread, transport: str, path: str) -> None:
    done = probe_rtsp(rtsp.url(path), transport)
    assert done.returncode == 0, done.stderr
    [stream] = json.loads(done.stdout)["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", *SIZES[path])


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_ffmpeg_decodes_60_frames(rtsp: ServerThread, transport: str) -> None:
    assert decoded_frames(rtsp.url(), 60, transport) == 60


# the other dialects are covered without a network in test_rtsp_protocol.py
@pytest.mark.parametrize("spelling", ["stream0", "stream1?tcp", "stream2?udp"])
def test_aliases_and_url_suffixes_play(rtsp: ServerThread, spelling: str) -> None:
    assert decoded_frames(rtsp.url(spelling), 5, "udp" if "udp" in spelling else "tcp") == 5


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtp_jpeg_plays_from_already_encoded_jpeg(transport: str) -> None:
    with ServerThread(jpeg=("stream2",)) as server:
        done = probe_rtsp(server.url("stream2"), transport)
        assert done.returncode == 0, done.stderr
        [stream] = json.loads(done.stdout)["streams"]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", *SIZES["stream2"])
        assert decoded_frames(server.url("stream2"), 10, transport) == 10
        with av.open(server.url("stream2"), options={"rtsp_transport": transport}, timeout=10) as container:
            picture = next(container.decode(video=0)).to_ndarray(format="bgr24").astype(int)
        width, height = SIZES["stream2"]
        # the picture is one of the source's frames (the bar moves 4 px a frame): the tables arrived intact
        error = min(np.abs(picture - pattern(width, height, index)).mean() for index in range(width // 4))
        assert error < 6


def test_opencv_reads_frames_of_the_right_size(rtsp: ServerThread) -> None:
    capture = cv2.VideoCapture(rtsp.url("stream2"), cv2.CAP_FFMPEG)
    try:
        shapes = [capture.read()[1].shape for _ in range(10)]
    finally:
        capture.release()
    width, height = SIZES["stream2"]
    assert shapes == [(height, width, 3)] * 10


def test_pyav_reads_frames_of_the_right_size(rtsp: ServerThread) -> None:
    with av.open(rtsp.url(), options={"rtsp_transport": "tcp"}, timeout=10) as container:
        sizes = []
        for frame in container.decode(video=0):
            sizes.append((frame.width, frame.height))
            if len(sizes) == 10:
                break
    assert sizes == [SIZES["stream1"]] * 10


def gstreamer_has(*elements: str) -> bool:
    if shutil.which("gst-inspect-1.0") is None:
        return False
    return all(subprocess.run(["gst-inspect-1.0", name], capture_output=True).returncode == 0 for name in elements)


@pytest.mark.skipif(
    not gstreamer_has("rtspsrc", "rtph264depay", "h264parse", "avdec_h264"),
    reason="GStreamer with plugins-good, -bad and -libav is not installed",
)
@pytest.mark.parametrize("protocols", ["tcp", "udp"])
def test_gstreamer_plays(rtsp: ServerThread, protocols: str) -> None:
    pipeline = (
        f"rtspsrc location={rtsp.url()} protocols={protocols} ! rtph264depay ! h264parse ! avdec_h264 "
        "! fakesink num-buffers=30 sync=false"
    )
    done = subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- authentication through the callback ----------------------------------------------------------------


def digest_only() -> object:
    digest = DigestAuth("roto")

    def authorize(attempt: AuthAttempt, now: float) -> Granted | Refused:
        header = attempt.authorization or ""
        if header.startswith("Digest "):
            try:
                request = parse_digest(header[7:])
                if request.username == USER:
                    digest.verify(request, PASSWORD, attempt.method, attempt.uri, now)
                    return Granted(USER)
            except DigestError:
                pass
        # MD5 only: the ffmpeg of Debian 12 knows no SHA-256 Digest
        return Refused(tuple(c for c in digest.challenges(now) if "algorithm=MD5" in c))

    return authorize


def basic_only(attempt: AuthAttempt, now: float) -> Granted | Refused:
    if attempt.authorization == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode():
        return Granted(USER)
    return Refused(('Basic realm="roto"',))


@pytest.mark.parametrize("authorize", [digest_only(), basic_only], ids=["digest", "basic"])
def test_clients_play_through_the_auth_callback(authorize: object) -> None:
    with ServerThread(authorize, clock=time.time) as server:  # type: ignore[arg-type]
        refused = probe_rtsp(server.url(), "tcp")
        assert refused.returncode != 0 and "401" in refused.stderr
        wrong = probe_rtsp(server.url(credentials=f"{USER}:nope@"), "tcp")
        assert wrong.returncode != 0 and "401" in wrong.stderr
        assert decoded_frames(server.url(credentials=f"{USER}:{PASSWORD}@"), 10, "tcp") == 10
        assert decoded_frames(server.url(credentials=f"{USER}:{PASSWORD}@"), 10, "udp") == 10


# --- the limit of playing sessions ----------------------------------------------------------------------


def test_the_third_session_gets_453_while_two_keep_playing() -> None:
    with ServerThread(max_playing=2) as server:
        command = [
            "ffmpeg",
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            server.url(),
            "-frames:v",
            "90",
            "-f",
            "framecrc",
            "-",
        ]
        players = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]
        try:
            wait_for(lambda: server.call(lambda: server.server.table.playing) == 2, what="two sessions playing")
            refused = probe_rtsp(server.url(), "tcp")
            assert refused.returncode != 0 and "453" in refused.stderr
            assert server.call(lambda: server.server.table.playing) == 2
            outputs = [player.communicate(timeout=30) for player in players]
        finally:
            for player in players:
                player.kill()
        for player, (out, err) in zip(players, outputs, strict=True):
            assert player.returncode == 0, err
            assert sum(1 for line in out.splitlines() if not line.startswith("#")) == 90


# --- raw sockets: keep-alive, expiry, malformed input ---------------------------------------------------


class RawClient:
    """A bare RTSP client over a socket, for what players do not let a test control."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.decoder, self.pending, self.cseq, self.session = Decoder(), [], 0, ""
        self.skipped: list[object] = []  # what arrived before the event next() returned last
        self.url = f"rtsp://127.0.0.1:{port}/stream1"

    def request(self, method: str, uri: str = "", **fields: str) -> Response:
        self.cseq += 1
        items = [("CSeq", str(self.cseq)), *((k.replace("_", "-"), v) for k, v in fields.items())]
        if self.session:
            items.append(("Session", self.session))
        self.sock.sendall(Request(method, uri or self.url, Headers(tuple(items))).serialize())
        response = self.next(Response)
        assert isinstance(response, Response)
        if session := response.headers.get("Session"):
            self.session = session.split(";")[0]
        return response

    def next(self, kind: type) -> object:
        while True:
            for index, event in enumerate(self.pending):
                if isinstance(event, kind):
                    self.skipped = self.pending[:index]
                    del self.pending[: index + 1]
                    return event
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            self.pending += self.decoder.feed(data)

    def close(self) -> None:
        self.sock.close()


def udp_receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


class SteppedClock:
    """A session clock the test moves forward, so a 60 s timeout can be crossed in a second of real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_udp_session_kept_alive_by_get_parameter_outlives_its_timeout_and_a_silent_one_expires() -> None:
    clock = SteppedClock()
    with ServerThread(clock=clock) as server:
        kept, silent = RawClient(server.server.port), RawClient(server.server.port)
        receivers = [udp_receiver() for _ in range(2)]
        for client, receiver in zip((kept, silent), receivers, strict=True):
            port = receiver.getsockname()[1]
            setup = client.request("SETUP", Transport=f"RTP/AVP;unicast;client_port={port}-{port + 1}")
            assert setup.status == 200 and setup.headers.get("Session", "").endswith("timeout=60")
            assert client.request("PLAY").status == 200
        assert receivers[0].recv(2048)[1] & 0x7F == 96  # RTP of payload type 96 arrives
        for _ in range(3):  # 75 s in all, a keep-alive every 25 s as VLC and NVRs send them
            clock.now += 25
            assert kept.request("GET_PARAMETER").status == 200
        wait_for(lambda: server.call(lambda: len(server.server.table.sessions)) == 1, what="the silent one expired")
        assert silent.request("GET_PARAMETER").status == 454
        receivers[0].setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while receivers[0].recv(2048):  # what queued up meanwhile
                pass
        receivers[0].settimeout(2)
        assert receivers[0].recv(2048)[1] & 0x7F == 96  # and the kept session still streams
        for client, receiver in zip((kept, silent), receivers, strict=True):
            client.close()
            receiver.close()


def test_interleaved_rtp_starts_with_parameter_sets_and_a_keyframe(rtsp: ServerThread) -> None:
    client = RawClient(rtsp.server.port)
    try:
        assert client.request("SETUP", Transport="RTP/AVP/TCP;unicast;interleaved=4-5").status == 200
        assert client.request("PLAY").status == 200
        first = client.next(InterleavedFrame)
        assert isinstance(first, InterleavedFrame) and first.channel == 4
        assert first.data[12] & 0x1F == 7  # SPS first: a new reader starts at a keyframe
        report = client.next(InterleavedFrame)
        while isinstance(report, InterleavedFrame) and report.channel != 5:
            report = client.next(InterleavedFrame)
        assert isinstance(report, InterleavedFrame) and report.data[1] == 200  # an RTCP sender report follows
        assert client.request("TEARDOWN").status == 200
        wait_for(lambda: rtsp.call(lambda: len(rtsp.server.table.sessions)) == 0, what="session removed")
    finally:
        client.close()


def rtp_of(frame: object) -> RtpPacket:
    assert isinstance(frame, InterleavedFrame) and frame.channel == 0
    return RtpPacket.parse(frame.data)


def test_pause_stops_the_packets_and_play_resumes_where_rtp_info_says(rtsp: ServerThread) -> None:
    client = RawClient(rtsp.server.port)
    try:
        assert client.request("SETUP", Transport="RTP/AVP/TCP;unicast;interleaved=0-1").status == 200
        assert client.request("PLAY").status == 200
        last = rtp_of(client.next(InterleavedFrame))
        assert client.request("PAUSE").status == 200
        sent = [rtp_of(f) for f in client.skipped if isinstance(f, InterleavedFrame) and f.channel == 0]
        last = sent[-1] if sent else last
        time.sleep(0.3)  # nine frame intervals in which nothing may arrive
        assert client.request("GET_PARAMETER").status == 200 and client.skipped == []
        resumed = client.request("PLAY")
        info = dict(part.split("=", 1) for part in (resumed.headers.get("RTP-Info") or "").split(";")[1:])
        first = rtp_of(client.next(InterleavedFrame))
        assert int(info["seq"]) == first.sequence == (last.sequence + 1) & 0xFFFF
        assert int(info["rtptime"]) == first.timestamp and first.ssrc == last.ssrc
    finally:
        client.close()


def test_receiver_reports_alone_keep_a_udp_session_alive() -> None:
    clock = SteppedClock()
    with ServerThread(clock=clock) as server:
        client, rtp, rtcp = RawClient(server.server.port), udp_receiver(), udp_receiver()
        try:
            port = rtp.getsockname()[1]
            setup = client.request("SETUP", Transport=f"RTP/AVP;unicast;client_port={port}-{rtcp.getsockname()[1]}")
            server_rtcp = int(
                (setup.headers.get("Transport") or "").split("server_port=")[1].split(";")[0].split("-")[1]
            )
            assert client.request("PLAY").status == 200
            ssrc = RtpPacket.parse(rtp.recv(2048)).ssrc
            report = ReceiverReport(0x1234, (ReportBlock(ssrc),)).serialize()
            for _ in range(3):  # 75 s with nothing but a receiver report every 25 s
                clock.now += 25
                rtcp.sendto(report, ("127.0.0.1", server_rtcp))
                wait_for(
                    lambda: server.call(lambda: server.server.table.next_expiry()) == clock.now + 60,
                    what="the report to count",
                )
            assert client.request("GET_PARAMETER").status == 200
        finally:
            client.close()
            rtp.close()
            rtcp.close()


def test_malformed_input_gets_a_400_naming_the_limit_and_others_keep_being_served(rtsp: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", rtsp.server.port), timeout=10) as sock:
        sock.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Junk: " + b"a" * 10_000)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"RTSP/1.0 400 ") and b"exceeds 8192 bytes" in reply
    assert decoded_frames(rtsp.url(), 3) == 3


def test_a_recording_is_paced_by_its_timestamps_and_ends_with_the_file(rtsp: ServerThread) -> None:
    start = time.monotonic()
    assert decoded_frames(rtsp.url("recording"), 1000) == RECORDING_FRAMES  # ffmpeg stops at the RTCP BYE
    assert time.monotonic() - start >= (RECORDING_FRAMES - 1) / FPS  # real time, though the source is instant


def test_unknown_path_gets_404(rtsp: ServerThread) -> None:
    client = RawClient(rtsp.server.port)
    try:
        response = client.request("DESCRIBE", client.url.replace("stream1", "nope"))
        assert response.status == 404 and b"the streams are /stream1, /stream2, /recording" in response.body
    finally:
        client.close()
