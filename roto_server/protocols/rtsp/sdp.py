"""The SDP (RFC 4566) a DESCRIBE answers with: one media section per track, aggregate control at session level."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrackDescription:
    """One RTP stream of a presentation, as the payload format announces it."""

    payload_type: int  # 96 for dynamic H.264, 26 for JPEG
    encoding: str  # rtpmap encoding name, e.g. "H264" or "JPEG"
    clock_rate: int = 90_000
    fmtp: str = ""  # the a=fmtp value without the payload type
    width: int = 0
    height: int = 0
    fps: float = 0.0


@dataclass(frozen=True)
class StreamDescription:
    tracks: tuple[TrackDescription, ...]
    title: str = "roto"
    duration: float | None = None  # None: a live stream without an end

    @property
    def npt_range(self) -> str:
        return "npt=0-" if self.duration is None else f"npt=0-{self.duration:.3f}"


def build_sdp(description: StreamDescription, session_id: int, server_address: str) -> bytes:
    """SDP text for DESCRIBE; track controls are relative ("trackID=N") to the Content-Base of the response."""
    family = "IP6" if ":" in server_address else "IP4"
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN {family} {server_address}",
        f"s={description.title}",
        f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}",
        "t=0 0",
        "a=control:*",
        f"a=range:{description.npt_range}",
    ]
    for index, track in enumerate(description.tracks):
        lines += [
            f"m=video 0 RTP/AVP {track.payload_type}",
            f"a=rtpmap:{track.payload_type} {track.encoding}/{track.clock_rate}",
        ]
        if track.fmtp:
            lines.append(f"a=fmtp:{track.payload_type} {track.fmtp}")
        if track.width and track.height:
            lines.append(f"a=framesize:{track.payload_type} {track.width}-{track.height}")
        if track.fps:
            lines.append(f"a=framerate:{track.fps:g}")
        lines.append(f"a=control:trackID={index}")
    return ("\r\n".join(lines) + "\r\n").encode()
