"""RTSP requests, responses and interleaved binary frames as values that serialize to wire bytes."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

VERSION = "RTSP/1.0"
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    451: "Parameter Not Understood",
    453: "Not Enough Bandwidth",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}


@dataclass(frozen=True)
class Headers:
    """Header fields in arrival order; names compare without regard to case, as RFC 2326 says."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.items if key.lower() == wanted), default)

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.items if key.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def serialize(self) -> bytes:
        return b"".join(f"{key}: {value}\r\n".encode() for key, value in self.items)


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def cseq(self) -> int | None:
        return ascii_number(self.headers.get("CSeq"))

    @property
    def session_id(self) -> str | None:
        value = self.headers.get("Session")
        return value.split(";", 1)[0].strip() if value else None

    def serialize(self) -> bytes:
        return _message(f"{self.method} {self.uri} {VERSION}", self.headers, self.body)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    reason: str = ""

    @property
    def cseq(self) -> int | None:
        return ascii_number(self.headers.get("CSeq"))

    def serialize(self) -> bytes:
        reason = self.reason or REASONS.get(self.status, "Unknown")
        return _message(f"{VERSION} {self.status} {reason}", self.headers, self.body)


@dataclass(frozen=True)
class InterleavedFrame:
    """A binary packet sent on the RTSP TCP connection ('$', channel, 16-bit length, data; RFC 2326 10.12)."""

    channel: int
    data: bytes

    def serialize(self) -> bytes:
        return struct.pack("!cBH", b"$", self.channel, len(self.data)) + self.data


def ascii_number(value: str | None) -> int | None:
    """A non-negative decimal in ASCII digits; str.isdigit() alone would also pass '²', which int() refuses."""
    text = (value or "").strip()
    return int(text) if text and text.isascii() and text.isdigit() else None


def _message(start_line: str, headers: Headers, body: bytes) -> bytes:
    fields = [(key, value) for key, value in headers.items if key.lower() != "content-length"]
    if body:
        fields.append(("Content-Length", str(len(body))))
    return f"{start_line}\r\n".encode() + Headers(tuple(fields)).serialize() + b"\r\n" + body
