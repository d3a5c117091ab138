"""A video track that hands aiortc the encoded-frame bus's H.264 as it is, so viewers cost no encoder each.

aiortc's RTCRtpSender packetizes an ``av.Packet`` a track returns without encoding it again; only when the peer
negotiated VP8 (a browser without H.264) does the track decode the bus and give aiortc raw frames to encode.
"""

from __future__ import annotations

import fractions
from collections.abc import AsyncGenerator, Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from roto_server.imaging.encoded import EncodedFrame

RTP_CLOCK = 90_000  # the video clock of RTP: pts in seconds become ticks of it
TIME_BASE = fractions.Fraction(1, RTP_CLOCK)
START_CODE = b"\x00\x00\x00\x01"


def to_packet(frame: EncodedFrame) -> av.Packet:
    """An Annex B packet of one access unit, timed on the 90 kHz clock, as aiortc's H.264 packer expects."""
    packet = av.Packet(b"".join(START_CODE + unit for unit in frame.units))
    packet.pts = packet.dts = round(frame.pts * RTP_CLOCK)
    packet.time_base = TIME_BASE
    return packet


class BusTrack(MediaStreamTrack):
    """One viewer's reading of a rendition of the bus; ``codec()`` names what the sender negotiated."""

    kind = "video"

    def __init__(self, frames: AsyncGenerator[EncodedFrame, None], codec: Callable[[], str]) -> None:
        super().__init__()
        self._frames = frames
        self._codec = codec
        self._decoder: av.VideoCodecContext | None = None
        self.sent = 0

    async def recv(self) -> av.Packet | av.VideoFrame:
        while self.readyState == "live":
            try:
                frame = await anext(self._frames)
            except StopAsyncIteration:
                break
            self.sent += 1
            if self._codec() == "H264":
                return to_packet(frame)
            picture = self._decode(frame)
            if picture is not None:
                return picture
        self.stop()
        raise MediaStreamError

    def _decode(self, frame: EncodedFrame) -> av.VideoFrame | None:
        """The picture of an access unit, for a peer that needs it encoded again (the VP8 fallback)."""
        if self._decoder is None:
            self._decoder = av.VideoCodecContext.create("h264", "r")
        for picture in self._decoder.decode(to_packet(frame)):
            picture.pts = round(frame.pts * RTP_CLOCK)
            picture.time_base = TIME_BASE
            return picture
        return None

    async def close(self) -> None:
        """Stop reading the bus (after the sender stopped asking, so the generator is idle)."""
        self.stop()
        await self._frames.aclose()
