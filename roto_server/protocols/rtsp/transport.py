"""The Transport header (RFC 2326 12.39): what a client offers in SETUP and what the server answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lower = Literal["udp", "tcp"]


class TransportError(ValueError):
    pass


@dataclass(frozen=True)
class Transport:
    lower: Lower
    client_ports: tuple[int, int] | None = None  # UDP: where the client receives RTP and RTCP
    channels: tuple[int, int] | None = None  # TCP: interleaved channel numbers for RTP and RTCP
    server_ports: tuple[int, int] | None = None
    ssrc: int | None = None

    def serialize(self) -> str:
        parts = ["RTP/AVP/TCP" if self.lower == "tcp" else "RTP/AVP", "unicast"]
        if self.client_ports:
            parts.append("client_port={}-{}".format(*self.client_ports))
        if self.server_ports:
            parts.append("server_port={}-{}".format(*self.server_ports))
        if self.channels:
            parts.append("interleaved={}-{}".format(*self.channels))
        if self.ssrc is not None:
            parts.append(f"ssrc={self.ssrc:08X}")
        return ";".join(parts)


def parse_offers(value: str) -> list[Transport | TransportError]:
    """Every alternative of a Transport header in the client's order of preference; unusable ones as errors."""
    return [_parse_one(spec.strip()) for spec in value.split(",") if spec.strip()]


def _parse_one(spec: str) -> Transport | TransportError:
    fields = spec.split(";")
    protocol = fields[0].strip().upper()
    params = dict(_param(item) for item in fields[1:] if item.strip())
    if protocol not in ("RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"):
        return TransportError(f"transport {protocol!r} is not offered; use RTP/AVP (UDP) or RTP/AVP/TCP")
    if "multicast" in params:
        return TransportError("multicast is not offered; use unicast")
    try:
        if protocol == "RTP/AVP/TCP":
            channels = _pair(params["interleaved"]) if params.get("interleaved") else None
            return Transport("tcp", channels=channels)
        if not params.get("client_port"):
            return TransportError("UDP transport needs client_port=RTP-RTCP")
        return Transport("udp", client_ports=_pair(params["client_port"]))
    except ValueError as error:
        return TransportError(str(error))


def _param(item: str) -> tuple[str, str]:
    name, _, value = item.strip().partition("=")
    return name.lower(), value.strip()


def _pair(value: str) -> tuple[int, int]:
    first, dash, second = value.partition("-")
    try:
        low = int(first)
        high = int(second) if dash else low + 1
    except ValueError:
        raise ValueError(f"port or channel range {value!r} must be N or N-M") from None
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise ValueError(f"port or channel range {value!r} is outside 0-65535")
    return low, high
