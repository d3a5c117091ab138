"""WebRTC against a real roto-server: the seed's offer/answer, WHEP with DELETE, refusals and the viewer limit.

aioice leaves loopback out of its candidates, so both sides are told to use 127.0.0.1: the client by a patch,
the server by its test-only ROTO_WEBRTC_LOOPBACK switch.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import aioice.ice
import pytest
import requests
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPacket, RtcpPsfbPacket

from roto_server.imaging.encoded import EncodedFrame
from roto_server.webrtc.ice import parse_ice_server
from roto_server.webrtc.peers import UnknownPeer, WebRtcService
from tests.chromium import executable
from tests.media_files import wait_for
from tests.server_process import ServerProcess

FULL_HD = (1920, 1080)  # the C2 resolution, the stream's size out of the box
MAX_VIEWERS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("webrtc") / "data",
        args=["--webrtc-max-viewers", str(MAX_VIEWERS)],
        env={"ROTO_WEBRTC_LOOPBACK": "1"},
    )
    yield proc
    proc.stop()
    assert "Traceback" not in proc.log()


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def auth(server: ServerProcess) -> tuple[str, str]:
    return ("API-User", server.token)


async def count_frames(track: MediaStreamTrack, want: int, timeout: float) -> list[tuple[int, int]]:
    """Sizes of the first ``want`` decoded pictures, or of those that came before the timeout."""
    sizes: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    while len(sizes) < want and time.monotonic() < deadline:
        try:
            frame = await asyncio.wait_for(track.recv(), deadline - time.monotonic())
        except TimeoutError:
            break
        sizes.append((frame.width, frame.height))  # type: ignore[union-attr]
    return sizes


async def watch(pc: RTCPeerConnection, tracks: asyncio.Queue[MediaStreamTrack]) -> list[tuple[int, int]]:
    track = await asyncio.wait_for(tracks.get(), 10)
    return await count_frames(track, 30, 10.0)


def receiving_peer() -> tuple[RTCPeerConnection, asyncio.Queue[MediaStreamTrack]]:
    pc = RTCPeerConnection()
    tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    return pc, tracks


async def whep_offer(pc: RTCPeerConnection, audio: bool = False) -> str:
    if audio:  # players such as OBS offer audio too; the unit has none to send
        pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


def test_the_seeds_offer_answer_flow_decodes_full_hd_h264(server: ServerProcess) -> None:
    async def run() -> tuple[str, list[tuple[int, int]], str]:
        offer = await asyncio.to_thread(requests.get, server.url("/api/webrtc/offer"), auth=auth(server), timeout=10)
        assert offer.status_code == 200, offer.text
        body = offer.json()
        assert body["type"] == "offer" and body["id"]
        pc, tracks = receiving_peer()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            # the seed's browser code posts JSON.stringify(answer) at once: no id, no Content-Type (fetch says
            # text/plain), and no candidates yet (a browser trickles them): the unit learns the address from the
            # browser's connectivity checks
            sdp = "".join(line for line in pc.localDescription.sdp.splitlines(True) if "candidate" not in line)
            answer = json.dumps({"type": "answer", "sdp": sdp})
            posted = await asyncio.to_thread(
                requests.post,
                server.url("/api/webrtc/answer"),
                data=answer.encode(),
                headers={"Content-Type": "text/plain;charset=UTF-8"},
                auth=auth(server),
                timeout=10,
            )
            assert posted.status_code == 200, posted.text
            assert posted.json()["id"] == body["id"]
            sizes = await watch(pc, tracks)
            codec = pc.getTransceivers()[0]._codecs[0].name
        finally:
            await pc.close()
        return body["sdp"], sizes, codec

    started = time.monotonic()
    sdp, sizes, codec = asyncio.run(run())
    assert "H264/90000" in sdp and "packetization-mode=1" in sdp and "profile-level-id=42e01f" in sdp
    assert codec == "H264"
    assert len(sizes) >= 30, f"only {len(sizes)} frames in 10 s"
    assert set(sizes) == {FULL_HD}
    assert time.monotonic() - started < 20


def test_whep_session_plays_and_delete_ends_it(server: ServerProcess) -> None:
    async def run() -> tuple[list[tuple[int, int]], str]:
        pc, tracks = receiving_peer()
        try:
            sdp = await whep_offer(pc, audio=True)
            created = await asyncio.to_thread(
                requests.post,
                server.url("/api/whep/stream1"),
                data=sdp,
                headers={"Content-Type": "application/sdp"},
                auth=auth(server),
                timeout=10,
            )
            assert created.status_code == 201, created.text
            assert created.headers["Content-Type"].startswith("application/sdp")
            location = created.headers["Location"]
            assert location.startswith("/api/whep/stream1/")
            await pc.setRemoteDescription(RTCSessionDescription(created.text, "answer"))
            sizes = await watch(pc, tracks)
            trickle = await asyncio.to_thread(
                requests.patch, server.url(location), data="", auth=auth(server), timeout=10
            )
            assert trickle.status_code == 405 and "trickle" in trickle.json()["error"]
            ended = await asyncio.to_thread(requests.delete, server.url(location), auth=auth(server), timeout=10)
            assert ended.status_code == 200
            again = await asyncio.to_thread(requests.delete, server.url(location), auth=auth(server), timeout=10)
            assert again.status_code == 404
        finally:
            await pc.close()
        return sizes, created.text

    sizes, answer = asyncio.run(run())
    assert "H264/90000" in answer
    assert len(sizes) >= 30 and set(sizes) == {FULL_HD}


def viewers(server: ServerProcess) -> int:
    streams = requests.get(server.url("/api/streams"), auth=auth(server), timeout=5).json()["data"]
    return int(next(s for s in streams if s["name"] == "webrtc")["viewers"])


async def whep_session(server: ServerProcess, pc: RTCPeerConnection, stream: str = "stream1") -> requests.Response:
    sdp = await whep_offer(pc)
    created = await asyncio.to_thread(
        requests.post,
        server.url(f"/api/whep/{stream}"),
        data=sdp,
        headers={"Content-Type": "application/sdp"},
        auth=auth(server),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    await pc.setRemoteDescription(RTCSessionDescription(created.text, "answer"))
    return created


def test_a_viewer_that_leaves_without_delete_frees_its_slot(server: ServerProcess) -> None:
    async def run() -> list[tuple[int, int]]:
        pc, tracks = receiving_peer()
        try:
            await whep_session(server, pc, "stream2")
            track = await asyncio.wait_for(tracks.get(), 10)
            sizes = await count_frames(track, 5, 10.0)
            assert await asyncio.to_thread(viewers, server) == 1
        finally:
            await pc.close()  # no DELETE: the unit learns it from the connection's end
        return sizes

    sizes = asyncio.run(run())
    assert len(sizes) == 5 and sizes[0][0] == 640  # the sub stream
    wait_for(lambda: viewers(server) == 0, 15, "the slot freed")


def test_a_peer_without_h264_gets_vp8(server: ServerProcess) -> None:
    async def run() -> tuple[list[tuple[int, int]], str]:
        pc, tracks = receiving_peer()
        try:
            transceiver = pc.addTransceiver("video", direction="recvonly")
            codecs = RTCRtpReceiver.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])
            await pc.setLocalDescription(await pc.createOffer())
            created = await asyncio.to_thread(
                requests.post,
                server.url("/api/whep/stream2"),
                data=pc.localDescription.sdp,
                headers={"Content-Type": "application/sdp"},
                auth=auth(server),
                timeout=10,
            )
            assert created.status_code == 201, created.text
            await pc.setRemoteDescription(RTCSessionDescription(created.text, "answer"))
            track = await asyncio.wait_for(tracks.get(), 10)
            sizes = await count_frames(track, 10, 10.0)
            await asyncio.to_thread(
                requests.delete, server.url(created.headers["Location"]), auth=auth(server), timeout=10
            )
        finally:
            await pc.close()
        return sizes, created.text

    sizes, answer = asyncio.run(run())
    assert "VP8/90000" in answer and "H264" not in answer
    assert len(sizes) == 10 and sizes[0] == (640, 360)


def test_streams_and_info_list_webrtc(server: ServerProcess) -> None:
    streams = requests.get(server.url("/api/streams"), auth=auth(server), timeout=5).json()["data"]
    urls = {s["name"]: s["url"] for s in streams}
    assert urls["webrtc"] == server.url("/api/webrtc/offer")
    assert urls["whep-stream1"] == server.url("/api/whep/stream1")
    assert urls["whep-stream2"] == server.url("/api/whep/stream2")
    info = requests.get(server.url("/api/info"), timeout=5).json()["data"]
    assert info["capabilities"]["webrtc"] is True


def test_unauthenticated_and_malformed_requests_are_refused(server: ServerProcess) -> None:
    assert requests.get(server.url("/api/webrtc/offer"), timeout=5).status_code == 401
    whep = requests.post(
        server.url("/api/whep/stream1"), data="v=0\r\n", headers={"Content-Type": "application/sdp"}, timeout=5
    )
    assert whep.status_code == 401
    assert requests.post(server.url("/api/webrtc/answer"), json={"type": "answer"}, timeout=5).status_code == 401
    bad_type = requests.post(
        server.url("/api/webrtc/answer"), json={"type": "offer", "sdp": "x"}, auth=auth(server), timeout=5
    )
    assert bad_type.status_code == 400 and bad_type.json()["field"] == "type"
    orphan = requests.post(
        server.url("/api/webrtc/answer"),
        json={"type": "answer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "id": "nope"},
        auth=auth(server),
        timeout=5,
    )
    assert orphan.status_code == 404 and orphan.json()["field"] == "id"
    wrong_type = requests.post(
        server.url("/api/whep/stream1"), data="v=0", headers={"Content-Type": "text/plain"}, auth=auth(server)
    )
    assert wrong_type.status_code == 415
    no_stream = requests.post(
        server.url("/api/whep/stream9"), data="v=0", headers={"Content-Type": "application/sdp"}, auth=auth(server)
    )
    assert no_stream.status_code == 404 and no_stream.json()["field"] == "stream"
    no_offer = requests.get(server.url("/api/webrtc/offer"), params={"stream": "stream9"}, auth=auth(server))
    assert no_offer.status_code == 404 and no_offer.json()["field"] == "stream"
    garbage = requests.post(
        server.url("/api/whep/stream1"),
        data="v=0\r\nm=video nonsense\r\n",
        headers={"Content-Type": "application/sdp"},
        auth=auth(server),
        timeout=5,
    )
    assert garbage.status_code == 400 and garbage.json()["field"] == "sdp"


def test_the_viewer_limit_holds_and_a_freed_slot_is_reused(server: ServerProcess) -> None:
    async def run() -> None:
        peers = [RTCPeerConnection() for _ in range(MAX_VIEWERS + 1)]
        locations = []
        try:
            for pc in peers[:MAX_VIEWERS]:
                sdp = await whep_offer(pc)
                created = await asyncio.to_thread(
                    requests.post,
                    server.url("/api/whep/stream2"),
                    data=sdp,
                    headers={"Content-Type": "application/sdp"},
                    auth=auth(server),
                    timeout=10,
                )
                assert created.status_code == 201, created.text
                locations.append(created.headers["Location"])
            refused = await asyncio.to_thread(
                requests.get, server.url("/api/webrtc/offer"), auth=auth(server), timeout=10
            )
            assert refused.status_code == 503
            assert "viewer" in refused.json()["error"] and refused.headers["Retry-After"]
            await asyncio.to_thread(requests.delete, server.url(locations.pop()), auth=auth(server), timeout=10)
            again = await asyncio.to_thread(
                requests.get, server.url("/api/webrtc/offer"), auth=auth(server), timeout=10
            )
            assert again.status_code == 200
        finally:
            for location in locations:
                await asyncio.to_thread(requests.delete, server.url(location), auth=auth(server), timeout=10)
            for pc in peers:
                await pc.close()

    asyncio.run(run())


def test_options_and_config(tmp_path: Path) -> None:
    from roto_server.config import parse_config

    config = parse_config(
        ["--ice-server", "stun:stun.example.org:3478", "--webrtc-max-viewers", "3"], environ={"ROTO_ICE_SERVERS": ""}
    )
    assert config.ice_servers == ("stun:stun.example.org:3478",) and config.webrtc_max_viewers == 3
    env = parse_config([], environ={"ROTO_ICE_SERVERS": "stun:a:1, turn:u:p@b:2", "ROTO_WEBRTC_MAX_VIEWERS": "4"})
    assert env.ice_servers == ("stun:a:1", "turn:u:p@b:2") and env.webrtc_max_viewers == 4
    assert parse_ice_server("turn:u:p@b:2?transport=tcp") == ("turn:b:2?transport=tcp", "u", "p")
    assert parse_ice_server("stun:a:1") == ("stun:a:1", None, None)
    with pytest.raises(SystemExit):
        parse_config(["--ice-server", "http://x"], environ={})
    with pytest.raises(SystemExit):
        parse_config(["--webrtc-max-viewers", "0"], environ={})


def test_chromium_plays_webrtc_inside_a_network_namespace(tmp_path: Path) -> None:
    if executable() is None:
        pytest.skip("Debian's chromium is not installed (apt-get install --no-install-recommends chromium)")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0 or shutil.which("ip") is None:
        pytest.skip(f"no network namespaces here (unshare -n: {probe.stderr.strip() or 'ip missing'})")
    # its own process group, so that a run that hangs is ended with the server and browser it started
    run = subprocess.Popen(
        ["unshare", "-n", sys.executable, "-m", "tests.netns_browser", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        start_new_session=True,
    )
    try:
        out, err = run.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        out, err = run.communicate()
    assert run.returncode == 0, out[-3000:] + err[-3000:]
    found = json.loads(out.strip().splitlines()[-1])
    assert found["transport"] == "webrtc", found
    assert found["video_size"] == list(FULL_HD)
    assert found["std"] > 10, "the picture is blank"
    assert found["changing"], "the picture does not change"
    assert found["stats"]["codec"] == "video/H264" and found["stats"]["frames"] > 0


async def no_frames(stream: str) -> AsyncGenerator[EncodedFrame, None]:
    await asyncio.Event().wait()  # a pending offer never reads its track
    yield  # type: ignore[misc]


def test_pending_offers_expire_and_answers_must_match_their_client() -> None:
    async def run() -> None:
        service = WebRtcService(no_frames, max_viewers=3, offer_ttl=0.3)
        try:
            first, _ = await service.offer("alice@10.0.0.1")
            await service.offer("alice@10.0.0.1")
            with pytest.raises(UnknownPeer, match="exactly one pending offer"):
                service.pending("alice@10.0.0.1", None)
            with pytest.raises(UnknownPeer):
                service.pending("mallory@10.0.0.9", first.id)  # someone else's offer is not theirs to answer
            assert service.pending("alice@10.0.0.1", first.id) is first
            deadline = time.monotonic() + 5
            while service.viewers and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert service.viewers == 0, "unanswered offers did not expire"
            with pytest.raises(UnknownPeer, match="expire"):
                service.pending("alice@10.0.0.1", first.id)
        finally:
            await service.close()

    asyncio.run(run())


def test_a_viewers_picture_loss_request_reaches_the_shared_encoder() -> None:
    """RTCP PLI and FIR, as a browser sends them after a loss, parsed and handled by aiortc's own sender."""

    async def run() -> list[str]:
        asked: list[str] = []
        service = WebRtcService(no_frames, want_keyframe=asked.append)
        try:
            peer, _ = await service.offer("alice@10.0.0.1", "stream2")
            sender = peer.pc.getSenders()[0]
            for fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                wire = bytes(RtcpPsfbPacket(fmt=fmt, ssrc=1234, media_ssrc=sender._ssrc))
                for packet in RtcpPacket.parse(wire):
                    await sender._handle_rtcp_packet(packet)
        finally:
            await service.close()
        return asked

    assert asyncio.run(run()) == ["stream2", "stream2"]  # the feed limits how often its encoder obliges


def test_a_playing_viewer_follows_the_resolution(server: ServerProcess) -> None:
    admin = ("admin", server.admin_password)

    async def run() -> tuple[int, int]:
        pc, tracks = receiving_peer()
        try:
            created = await whep_session(server, pc)
            track = await asyncio.wait_for(tracks.get(), 10)
            assert (await count_frames(track, 1, 10.0)) == [FULL_HD]
            changed = await asyncio.to_thread(server.post, {"recordingResolution": "HD"}, admin)
            assert changed.json() == {"recordingResolution": "HD"}
            deadline = time.monotonic() + 10
            size = FULL_HD
            while size == FULL_HD and time.monotonic() < deadline:
                size = (await count_frames(track, 1, 5.0) or [FULL_HD])[0]
            await asyncio.to_thread(requests.delete, server.url(created.headers["Location"]), auth=auth(server))
            return size
        finally:
            await pc.close()
            await asyncio.to_thread(server.post, {"recordingResolution": "FullHD"}, admin)

    assert asyncio.run(run()) == (1280, 720)


def test_stopping_the_server_closes_its_peers(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"ROTO_WEBRTC_LOOPBACK": "1"})

    async def run() -> str:
        pc, tracks = receiving_peer()
        try:
            await whep_session(server, pc, "stream2")
            assert len(await count_frames(await asyncio.wait_for(tracks.get(), 10), 3, 10.0)) == 3
            assert await asyncio.to_thread(server.stop) == 0
            deadline = time.monotonic() + 10
            while pc.connectionState != "closed" and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return pc.connectionState
        finally:
            await pc.close()

    try:
        assert asyncio.run(run()) == "closed", "the viewer never heard that the unit closed its peer"
    finally:
        server.stop()
    assert "Traceback" not in server.log()
