"""Sends one playing session's frames as RTP: keyframe start, pacing by pts, RTCP sender reports, back-pressure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from roto_server.imaging.encoded import EncodedFrame
from roto_server.protocols.rtp.h264 import CLOCK_RATE, H264Packetizer, parameter_sets_from_fmtp
from roto_server.protocols.rtp.jpeg import JpegPacketizer
from roto_server.protocols.rtp.packet import RtpPacket
from roto_server.protocols.rtp.rtcp import Goodbye, SenderReport, ntp_timestamp
from roto_server.protocols.rtsp.sdp import TrackDescription
from roto_server.protocols.rtsp.sessions import TrackSender

# how far a live source may run ahead or behind its pts before pacing starts over instead of catching up
RESYNC_S = 1.0
Send = Callable[[bytes], bool]  # returns False when the peer is too slow and the packet was dropped


class Packetizer(Protocol):
    def packetize(self, units: tuple[bytes, ...]) -> list[tuple[bytes, bool]]: ...


def packetizer_for(track: TrackDescription) -> Packetizer:
    """H.264 (RFC 6184) or JPEG (RFC 2435), by the rtpmap encoding name the SDP announced."""
    if track.encoding.upper() == "JPEG":
        return JpegPacketizer()
    return H264Packetizer(parameter_sets_from_fmtp(track.fmtp))


class RtpStreamer:
    """Turns EncodedFrames into RTP packets for one track of one session."""

    def __init__(
        self,
        sender: TrackSender,
        track: TrackDescription,
        send_rtp: Send,
        send_rtcp: Send,
        report_interval: float = 5.0,
    ) -> None:
        self.sender = sender
        self.payload_type = track.payload_type
        self.packetizer = packetizer_for(track)
        self.frame_ticks = round(CLOCK_RATE / track.fps) if track.fps else 3000
        self.send_rtp, self.send_rtcp = send_rtp, send_rtcp
        self.report_interval = report_interval
        self.frames_sent = 0

    async def run(self, frames: AsyncIterator[EncodedFrame]) -> None:
        """Send frames until the iterator ends or the task is cancelled (PAUSE, TEARDOWN, expiry)."""
        loop = asyncio.get_running_loop()
        first_pts = wall_start = 0.0
        base = self.sender.next_rtptime
        last_report = -self.report_interval
        started = False
        skipping = True  # until a keyframe, for a new reader and after dropped packets
        try:
            async for frame in frames:
                if skipping and not frame.keyframe:
                    continue
                now = loop.time()
                if not started or abs(now - (wall_start + frame.pts - first_pts)) > RESYNC_S:
                    started = True
                    first_pts, wall_start = frame.pts, now
                    base = self.sender.next_rtptime
                delay = wall_start + frame.pts - first_pts - now
                if delay > 0.002:
                    await asyncio.sleep(delay)
                timestamp = (base + round((frame.pts - first_pts) * CLOCK_RATE)) & 0xFFFFFFFF
                skipping = not self._send_frame(frame, timestamp)
                if loop.time() - last_report >= self.report_interval:
                    last_report = loop.time()
                    self._report(frame, timestamp)
            if started:  # the source ended (a recording played to its end): say so, with a last report
                self._report(frame, timestamp, goodbye=True)
        finally:
            closer = getattr(frames, "aclose", None)
            if closer is not None:
                await closer()

    def _send_frame(self, frame: EncodedFrame, timestamp: int) -> bool:
        sender = self.sender
        for payload, marker in self.packetizer.packetize(frame.units):
            packet = RtpPacket(self.payload_type, sender.next_sequence, timestamp, sender.ssrc, payload, marker)
            if not self.send_rtp(packet.serialize()):
                return False
            sender.next_sequence = (sender.next_sequence + 1) & 0xFFFF
            sender.packets += 1
            sender.octets += len(payload)
        sender.next_rtptime = (timestamp + self.frame_ticks) & 0xFFFFFFFF
        self.frames_sent += 1
        return True

    def _report(self, frame: EncodedFrame, timestamp: int, goodbye: bool = False) -> None:
        # the pair is the wall-clock instant the picture was captured and the RTP timestamp it was sent with
        captured = time.time() - (time.monotonic() - frame.captured_at)
        report = SenderReport(
            self.sender.ssrc, ntp_timestamp(captured), timestamp, self.sender.packets, self.sender.octets
        )
        extra = Goodbye((self.sender.ssrc,)).serialize() if goodbye else b""
        self.send_rtcp(report.serialize() + extra)
