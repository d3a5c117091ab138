"""Incremental RTSP decoder: feed bytes as they arrive, take complete messages and interleaved frames out.

Requests may be pipelined and mixed with '$' frames on one TCP stream. Anything the decoder cannot accept
(an oversized header or body, a malformed line, another protocol version) becomes a ProtocolError carrying the
status and reason to answer with; after it the decoder accepts nothing more, since the stream has lost framing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roto_server.protocols.rtsp.messages import VERSION, Headers, InterleavedFrame, Request, Response, ascii_number

MAX_HEADER_BYTES = 8192
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 64
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class ProtocolError:
    status: int
    reason: str
    cseq: int | None = None


Event = Request | Response | InterleavedFrame | ProtocolError


class Decoder:
    """Bytes in, events out; never reads a socket."""

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self._buffer = bytearray()
        self.failed: ProtocolError | None = None

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; return every event they complete, in stream order."""
        if self.failed:
            return []
        self._buffer += data
        events: list[Event] = []
        while (event := self._next()) is not None:
            events.append(event)
            if isinstance(event, ProtocolError):
                self.failed = event
                self._buffer.clear()
                break
        return events

    def _next(self) -> Event | None:
        # blank lines between messages are allowed (some clients end a body with an extra CRLF)
        while self._buffer[:1] in (b"\r", b"\n"):
            del self._buffer[0]
        if not self._buffer:
            return None
        if self._buffer[0] == 0x24:  # '$'
            return self._frame()
        return self._message()

    def _frame(self) -> InterleavedFrame | None:
        if len(self._buffer) < 4:
            return None
        size = int.from_bytes(self._buffer[2:4], "big")
        if len(self._buffer) < 4 + size:
            return None
        frame = InterleavedFrame(self._buffer[1], bytes(self._buffer[4 : 4 + size]))
        del self._buffer[: 4 + size]
        return frame

    def _message(self) -> Event | None:
        end = _END_OF_HEAD.search(self._buffer, 0, self.max_header_bytes + 4)
        if end is None:
            if len(self._buffer) > self.max_header_bytes:
                return ProtocolError(400, f"request header exceeds {self.max_header_bytes} bytes")
            return None
        head = self._buffer[: end.start()].decode("utf-8", "replace")
        lines = head.replace("\r\n", "\n").split("\n")
        parsed = _parse_head(lines)
        if isinstance(parsed, ProtocolError):
            return parsed
        start, headers = parsed
        cseq = Request("", "", headers).cseq
        length = _content_length(headers, self.max_body_bytes, cseq)
        if isinstance(length, ProtocolError):
            return length
        if len(self._buffer) < end.end() + length:
            return None
        body = bytes(self._buffer[end.end() : end.end() + length])
        del self._buffer[: end.end() + length]
        return _build(start, headers, body, cseq)


def _parse_head(lines: list[str]) -> tuple[list[str], Headers] | ProtocolError:
    start = lines[0].split(" ", 2)
    if len(lines) - 1 > MAX_HEADER_FIELDS:
        return ProtocolError(400, f"more than {MAX_HEADER_FIELDS} header fields")
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:  # an obsolete folded continuation line
            name, value = fields.pop()
            fields.append((name, f"{value} {line.strip()}"))
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            return ProtocolError(400, f"malformed header line {line[:60]!r}: expected 'Name: value'")
        fields.append((name, value.strip()))
    return start, Headers(tuple(fields))


def _content_length(headers: Headers, limit: int, cseq: int | None) -> int | ProtocolError:
    value = headers.get("Content-Length")
    if value is None:
        return 0
    length = ascii_number(value)
    if length is None:
        return ProtocolError(400, f"Content-Length must be a non-negative integer, got {value[:20]!r}", cseq)
    if length > limit:
        return ProtocolError(400, f"body of {length} bytes exceeds the limit of {limit} bytes", cseq)
    return length


def _build(start: list[str], headers: Headers, body: bytes, cseq: int | None) -> Event:
    if len(start) == 3 and start[0] == VERSION:
        if ascii_number(start[1]) is None or len(start[1]) != 3:
            return ProtocolError(400, f"malformed status line {' '.join(start)[:60]!r}")
        return Response(int(start[1]), headers, body, start[2])
    if len(start) != 3 or not _TOKEN.match(start[0]) or not start[1]:
        return ProtocolError(400, f"malformed request line {' '.join(start)[:60]!r}: expected 'METHOD URI RTSP/1.0'")
    if start[2] != VERSION:
        return ProtocolError(505, f"protocol version {start[2][:20]!r} is not supported; use {VERSION}", cseq)
    return Request(start[0], start[1], headers, body)
