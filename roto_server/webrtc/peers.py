"""The peer connections of every WebRTC viewer: the seed's server offer/answer and WHEP, under one viewer limit.

Each viewer gets its own RTCPeerConnection with one send-only video track reading the shared encoded-frame bus.
A server offer waits at most ``offer_ttl`` seconds for its answer; a peer closes when ICE fails or closes (a
browser that left stops answering ICE consent checks, which fails the connection) or when it is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from roto_server.imaging.encoded import EncodedFrame
from roto_server.webrtc.ice import parse_ice_server
from roto_server.webrtc.track import BusTrack

log = logging.getLogger("roto.webrtc")

STREAMS = ("stream1", "stream2")
# constrained baseline first (what the encoder makes), then baseline; level 3.1 with level-asymmetry-allowed
H264_PROFILES = ("42e01f", "42001f")
FrameSource = Callable[[str], AsyncGenerator[EncodedFrame, None]]


class ViewerLimit(Exception):
    """Every viewer slot is taken."""


class UnknownPeer(Exception):
    """No pending offer or session answers to the id (or the client has none or several)."""


class BadDescription(ValueError):
    """An SDP the peer connection cannot use."""


@dataclass(eq=False)
class Peer:
    id: str
    client: str  # who opened it: the answer and DELETE must come from the same client
    stream: str
    pc: RTCPeerConnection
    track: BusTrack
    answered: bool = False
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)


def ice_server(url: str) -> RTCIceServer:
    found = parse_ice_server(url)
    return RTCIceServer(urls=found.url, username=found.username, credential=found.credential)


def use_loopback_only() -> None:
    """For tests only: gather ICE candidates on 127.0.0.1, which aioice otherwise leaves out."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _codec_preferences(h264: bool, vp8: bool) -> list[RTCRtpCodecCapability]:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    chosen = [
        c
        for profile in H264_PROFILES
        for c in codecs
        if h264 and c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == profile
    ]
    chosen += [c for c in codecs if vp8 and c.mimeType == "video/VP8"]
    return chosen + [c for c in codecs if c.mimeType == "video/rtx"]


def _forward_keyframe_requests(sender: RTCRtpSender, ask: Callable[[], None]) -> None:
    """Pass a viewer's picture-loss requests (RTCP PLI and FIR) on to the shared encoder.

    aiortc answers them by flagging its own encoder's next frame (``_send_keyframe``); the bus's packets
    bypass that encoder, so without this a viewer that lost a keyframe waits for the next one of the GOP.
    A sender without the hook (another aiortc release) keeps aiortc's own behaviour.
    """
    own = getattr(sender, "_send_keyframe", None)
    if own is None:
        return

    def send_keyframe() -> None:
        own()  # still needed by the VP8 fallback, which aiortc encodes itself
        ask()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


class WebRtcService:
    def __init__(
        self,
        frames: FrameSource,
        max_viewers: int = 10,
        ice_servers: Sequence[str] = (),
        offer_ttl: float = 30.0,
        want_keyframe: Callable[[str], None] | None = None,
    ) -> None:
        self._frames = frames
        self._want_keyframe = want_keyframe  # a viewer lost pictures: ask the stream's encoder (rate-limited there)
        self.max_viewers = max_viewers
        self._config = RTCConfiguration(iceServers=[ice_server(url) for url in ice_servers])
        self.offer_ttl = offer_ttl
        self._peers: dict[str, Peer] = {}

    @property
    def viewers(self) -> int:
        """Peers holding a slot: pending offers and live sessions."""
        return len(self._peers)

    def _open(self, client: str, stream: str) -> tuple[Peer, RTCRtpTransceiver]:
        if stream not in STREAMS:
            raise ValueError(f"no stream {stream!r}; there are {', '.join(STREAMS)}")
        if len(self._peers) >= self.max_viewers:
            raise ViewerLimit(f"all {self.max_viewers} WebRTC viewer slots are taken; try again later")
        pc = RTCPeerConnection(self._config)
        transceiver: RTCRtpTransceiver | None = None
        # the codec the sender uses is the first negotiated one, known once the descriptions are exchanged
        track = BusTrack(self._frames(stream), lambda: transceiver._codecs[0].name if transceiver else "H264")
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if self._want_keyframe is not None:
            want_keyframe = self._want_keyframe
            _forward_keyframe_requests(transceiver.sender, lambda: want_keyframe(stream))
        peer = Peer(secrets.token_urlsafe(12), client, stream, pc, track)
        self._peers[peer.id] = peer

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.end(peer.id)

        return peer, transceiver

    async def offer(self, client: str, stream: str = "stream1") -> tuple[Peer, str]:
        """A new peer and the server's SDP offer (H.264, VP8 as the fallback), pending until its answer."""
        peer, transceiver = self._open(client, stream)
        try:
            transceiver.setCodecPreferences(_codec_preferences(h264=True, vp8=True))
            await peer.pc.setLocalDescription(await peer.pc.createOffer())
        except BaseException:
            await self.end(peer.id)
            raise
        peer.expiry = asyncio.get_running_loop().call_later(self.offer_ttl, self._expire, peer.id)
        return peer, peer.pc.localDescription.sdp

    def _expire(self, peer_id: str) -> None:
        peer = self._peers.get(peer_id)
        if peer is not None and not peer.answered:
            log.info("WebRTC offer %s expired unanswered", peer_id)
            asyncio.get_running_loop().create_task(self.end(peer_id))

    def pending(self, client: str, peer_id: str | None) -> Peer:
        """The pending offer an answer is for: by id, or the client's only one."""
        if peer_id is not None:
            peer = self._peers.get(peer_id)
            if peer is None or peer.answered or peer.client != client:
                raise UnknownPeer(f"no pending offer {peer_id!r} (offers expire after {self.offer_ttl:g} s)")
            return peer
        mine = [p for p in self._peers.values() if p.client == client and not p.answered]
        if len(mine) != 1:
            found = "none" if not mine else f"{len(mine)}"
            raise UnknownPeer(f"an answer without id needs exactly one pending offer of this client, found {found}")
        return mine[0]

    async def answer(self, client: str, sdp: str, peer_id: str | None = None) -> Peer:
        """Complete a server offer with the client's answer."""
        peer = self.pending(client, peer_id)
        peer.answered = True
        if peer.expiry is not None:
            peer.expiry.cancel()
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            await self.end(peer.id)
            raise BadDescription(f"the answer's SDP was not usable: {exc}") from exc
        return peer

    async def whep(self, client: str, stream: str, sdp: str) -> tuple[Peer, str]:
        """A session from a WHEP client's SDP offer, and the answer: H.264 when offered, else VP8."""
        if "m=video" not in sdp:
            raise BadDescription("the SDP offer has no video media section (m=video)")
        h264 = "h264/90000" in sdp.lower()
        peer, transceiver = self._open(client, stream)
        peer.answered = True
        try:
            transceiver.setCodecPreferences(_codec_preferences(h264=h264, vp8=not h264))
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except Exception as exc:
            await self.end(peer.id)
            raise BadDescription(f"the SDP offer was not usable: {exc}") from exc
        return peer, peer.pc.localDescription.sdp

    def owned(self, client: str, peer_id: str) -> Peer:
        peer = self._peers.get(peer_id)
        if peer is None or peer.client != client:
            raise UnknownPeer(f"no WebRTC session {peer_id!r}")
        return peer

    async def end(self, peer_id: str) -> None:
        """Close a peer and free its slot (again is harmless)."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        if peer.expiry is not None:
            peer.expiry.cancel()
        await peer.pc.close()
        with contextlib.suppress(RuntimeError):  # still inside a recv() the closing sender abandoned
            await peer.track.close()

    async def close(self) -> None:
        """End every peer (the server stops)."""
        for peer_id in list(self._peers):
            await self.end(peer_id)
