"""The value an encoded-frame bus carries: one encoded picture, whatever consumer (RTSP, WebRTC) reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncodedFrame:
    """One access unit of a rendition.

    `pts` is the presentation time in seconds on the rendition's own clock (it starts near 0 and only grows);
    `captured_at` is the time.monotonic() at which the picture left the camera, for latency and RTCP pairing.
    For H.264 `units` are the NAL units without start codes; for JPEG it is the single JPEG file.
    """

    codec: str  # "h264" or "jpeg"
    units: tuple[bytes, ...]
    keyframe: bool
    pts: float
    captured_at: float
    width: int
    height: int

    @property
    def size(self) -> int:
        return sum(len(unit) for unit in self.units)
