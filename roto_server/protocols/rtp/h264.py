"""H.264 over RTP (RFC 6184): packetisation (single NAL unit and FU-A), depacketisation, SDP parameters."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CLOCK_RATE = 90_000
NAL_IDR, NAL_SPS, NAL_PPS, NAL_AUD = 5, 7, 8, 9
NAL_STAP_A, NAL_FU_A = 24, 28
# 1200 bytes of payload keeps a packet with its IP/UDP/RTP headers under any common MTU
DEFAULT_MAX_PAYLOAD = 1200


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def split_annexb(stream: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes of 3 or 4 bytes removed)."""
    units: list[bytes] = []
    start = _next_start(stream, 0)
    while start is not None:
        begin = start[1]
        following = _next_start(stream, begin)
        end = following[0] if following else len(stream)
        unit = stream[begin:end].rstrip(b"\0") if following else stream[begin:end]
        if unit:
            units.append(unit)
        start = following
    return units


def _next_start(stream: bytes, pos: int) -> tuple[int, int] | None:
    found = stream.find(b"\0\0\1", pos)
    if found < 0:
        return None
    return found, found + 3


@dataclass(frozen=True)
class ParameterSets:
    """The SPS and PPS a decoder needs before the first picture."""

    sps: bytes
    pps: bytes

    @property
    def profile_level_id(self) -> str:
        """profile_idc, constraint flags and level_idc: the three bytes after the SPS NAL header, in hex."""
        return self.sps[1:4].hex().upper()

    @property
    def sprop_parameter_sets(self) -> str:
        return ",".join(base64.b64encode(unit).decode() for unit in (self.sps, self.pps))

    def fmtp(self) -> str:
        """The SDP a=fmtp value (without the payload type) announcing this stream."""
        return (
            f"packetization-mode=1;profile-level-id={self.profile_level_id};"
            f"sprop-parameter-sets={self.sprop_parameter_sets}"
        )

    @classmethod
    def from_nal_units(cls, units: Iterable[bytes]) -> ParameterSets | None:
        found = {nal_type(unit): unit for unit in units if unit and nal_type(unit) in (NAL_SPS, NAL_PPS)}
        if NAL_SPS in found and NAL_PPS in found:
            return cls(found[NAL_SPS], found[NAL_PPS])
        return None


class H264Packetizer:
    """Turns access units into RTP payloads; the marker bit goes on the last packet of each access unit."""

    def __init__(self, parameter_sets: ParameterSets | None = None, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if max_payload < 3:
            raise ValueError("max_payload must leave room for the FU-A headers")
        self.parameter_sets = parameter_sets
        self.max_payload = max_payload

    def packetize(self, nal_units: Sequence[bytes]) -> list[tuple[bytes, bool]]:
        """(payload, marker) pairs for one access unit; SPS/PPS go in-band before an IDR that lacks them."""
        units = [unit for unit in nal_units if unit and nal_type(unit) != NAL_AUD]
        types = {nal_type(unit) for unit in units}
        if NAL_IDR in types and self.parameter_sets and not {NAL_SPS, NAL_PPS} <= types:
            units = [self.parameter_sets.sps, self.parameter_sets.pps, *units]
        fresh = ParameterSets.from_nal_units(units)
        if fresh is not None:
            self.parameter_sets = fresh
        payloads = [payload for unit in units for payload in self._fragments(unit)]
        return [(payload, index == len(payloads) - 1) for index, payload in enumerate(payloads)]

    def _fragments(self, unit: bytes) -> list[bytes]:
        if len(unit) <= self.max_payload:
            return [unit]
        indicator = (unit[0] & 0xE0) | NAL_FU_A
        body, step = unit[1:], self.max_payload - 2
        chunks = [body[pos : pos + step] for pos in range(0, len(body), step)]
        fragments = []
        for index, chunk in enumerate(chunks):
            header = nal_type(unit)
            if index == 0:
                header |= 0x80
            if index == len(chunks) - 1:
                header |= 0x40
            fragments.append(bytes((indicator, header)) + chunk)
        return fragments


class H264Depacketizer:
    """Collects RTP payloads back into access units (single NAL, STAP-A and FU-A)."""

    def __init__(self) -> None:
        self._units: list[bytes] = []
        self._fragment: bytearray | None = None

    def push(self, payload: bytes, marker: bool) -> list[bytes] | None:
        """Add one payload; returns the NAL units of an access unit when the marker closes one."""
        kind = nal_type(payload)
        if kind == NAL_FU_A:
            self._push_fragment(payload)
        elif kind == NAL_STAP_A:
            pos = 1
            while pos + 2 <= len(payload):
                size = int.from_bytes(payload[pos : pos + 2], "big")
                self._units.append(payload[pos + 2 : pos + 2 + size])
                pos += 2 + size
        else:
            self._units.append(payload)
        if not marker:
            return None
        units, self._units = self._units, []
        return units

    def _push_fragment(self, payload: bytes) -> None:
        header = payload[1]
        if header & 0x80:
            self._fragment = bytearray([(payload[0] & 0xE0) | (header & 0x1F)])
        if self._fragment is None:
            return  # the start was lost: drop the rest of this NAL unit
        self._fragment += payload[2:]
        if header & 0x40:
            self._units.append(bytes(self._fragment))
            self._fragment = None


def parameter_sets_from_fmtp(fmtp: str) -> ParameterSets | None:
    """The SPS/PPS an SDP a=fmtp value announces in sprop-parameter-sets, if any."""
    for item in fmtp.split(";"):
        name, _, value = item.strip().partition("=")
        if name.lower() == "sprop-parameter-sets":
            try:
                return ParameterSets.from_nal_units(base64.b64decode(part) for part in value.split(","))
            except ValueError:
                return None
    return None
