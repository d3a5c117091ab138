"""RTCP sender and receiver reports (RFC 3550 section 6.4) as values with parse() and serialize()."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from roto_server.protocols.rtp.packet import RTP_VERSION, RtpError

RTCP_SR, RTCP_RR, RTCP_BYE = 200, 201, 203
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
BLOCK = struct.Struct("!IB3sIIII")


def ntp_timestamp(unix_time: float) -> int:
    """64-bit NTP time (32.32 fixed point) for a Unix time."""
    return int((unix_time + NTP_UNIX_OFFSET) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0  # signed 24 bits
    highest_sequence: int = 0
    jitter: int = 0
    last_sr: int = 0
    delay_since_last_sr: int = 0

    def serialize(self) -> bytes:
        lost = (self.packets_lost & 0xFFFFFF).to_bytes(3, "big")
        return BLOCK.pack(
            self.ssrc,
            self.fraction_lost,
            lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )

    @classmethod
    def parse(cls, data: bytes, pos: int) -> ReportBlock:
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = BLOCK.unpack_from(data, pos)
        packets_lost = int.from_bytes(lost, "big", signed=True)
        return cls(ssrc, fraction, packets_lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True)
class SenderReport:
    """Pairs a wall-clock instant (NTP) with the RTP timestamp of the same instant, so players can sync."""

    ssrc: int
    ntp_time: int
    rtp_time: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = field(default=())

    def serialize(self) -> bytes:
        body = struct.pack(
            "!IQIII", self.ssrc, self.ntp_time, self.rtp_time, self.packet_count & 0xFFFFFFFF, self.octet_count
        )
        return _frame(RTCP_SR, len(self.reports), body + b"".join(block.serialize() for block in self.reports))


@dataclass(frozen=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = field(default=())

    def serialize(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(block.serialize() for block in self.reports)
        return _frame(RTCP_RR, len(self.reports), body)


@dataclass(frozen=True)
class Goodbye:
    """BYE: these sources stop sending (the end of a recording), so a player can finish instead of waiting."""

    ssrcs: tuple[int, ...]

    def serialize(self) -> bytes:
        return _frame(RTCP_BYE, len(self.ssrcs), b"".join(struct.pack("!I", ssrc) for ssrc in self.ssrcs))


@dataclass(frozen=True)
class OtherRtcp:
    """An RTCP packet type this engine does not interpret (SDES, APP, feedback)."""

    packet_type: int
    count: int
    body: bytes

    def serialize(self) -> bytes:
        return _frame(self.packet_type, self.count, self.body)


RtcpPacket = SenderReport | ReceiverReport | Goodbye | OtherRtcp


def _frame(packet_type: int, count: int, body: bytes) -> bytes:
    return struct.pack("!BBH", RTP_VERSION << 6 | count, packet_type, len(body) // 4) + body


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Every packet of a compound RTCP datagram, in order."""
    packets: list[RtcpPacket] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise RtpError("truncated RTCP header")
        first, packet_type, words = struct.unpack_from("!BBH", data, pos)
        if first >> 6 != RTP_VERSION:
            raise RtpError(f"RTCP version {first >> 6}; only version 2 exists")
        end = pos + 4 + 4 * words
        if end > len(data):
            raise RtpError("RTCP packet runs past the datagram")
        packets.append(_parse_one(packet_type, first & 0x1F, data[pos + 4 : end]))
        pos = end
    return packets


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    if packet_type == RTCP_BYE and len(body) >= 4 * count:
        # a reason may follow the sources; it is dropped, as nothing here shows it
        return Goodbye(struct.unpack_from(f"!{count}I", body))
    head = {RTCP_SR: 24, RTCP_RR: 4}.get(packet_type)
    if head is None:
        return OtherRtcp(packet_type, count, body)
    if len(body) < head + count * BLOCK.size:
        raise RtpError(f"RTCP type {packet_type} shorter than its {count} report blocks")
    blocks = tuple(ReportBlock.parse(body, head + index * BLOCK.size) for index in range(count))
    if packet_type == RTCP_RR:
        return ReceiverReport(struct.unpack_from("!I", body)[0], blocks)
    ssrc, ntp, rtp, packets, octets = struct.unpack_from("!IQIII", body)
    return SenderReport(ssrc, ntp, rtp, packets, octets, blocks)
