"""The RTP fixed header (RFC 3550 section 5.1) as a value with parse() and serialize()."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP or RTCP packet."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    # (profile, data): kept opaque so a packet survives a round trip unchanged
    extension: tuple[int, bytes] | None = None

    def serialize(self) -> bytes:
        first = RTP_VERSION << 6 | (0x10 if self.extension is not None else 0) | len(self.csrc)
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)]
        parts += [struct.pack("!I", source) for source in self.csrc]
        if self.extension is not None:
            profile, data = self.extension
            padded = data + b"\0" * (-len(data) % 4)
            parts.append(struct.pack("!HH", profile, len(padded) // 4) + padded)
        parts.append(self.payload)
        return b"".join(parts)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < HEADER.size:
            raise RtpError(f"RTP packet of {len(data)} bytes is shorter than the 12-byte header")
        first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpError(f"RTP version {first >> 6}; only version 2 exists")
        pos = HEADER.size + 4 * (first & 0x0F)
        if len(data) < pos:
            raise RtpError("RTP packet shorter than its CSRC list")
        csrc = struct.unpack_from(f"!{first & 0x0F}I", data, HEADER.size)
        extension = None
        if first & 0x10:
            if len(data) < pos + 4:
                raise RtpError("RTP packet shorter than its header extension")
            profile, words = struct.unpack_from("!HH", data, pos)
            end = pos + 4 + 4 * words
            if len(data) < end:
                raise RtpError("RTP header extension runs past the packet")
            extension = (profile, data[pos + 4 : end])
            pos = end
        end = len(data)
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < pos:
                raise RtpError("RTP padding length is invalid")
            end -= padding
        return cls(second & 0x7F, sequence, timestamp, ssrc, data[pos:end], bool(second & 0x80), csrc, extension)
