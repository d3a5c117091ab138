"""JPEG over RTP (RFC 2435) from already-encoded baseline JPEG files: no re-encode, tables sent in-band.

The receiver rebuilds the JPEG headers from the RTP/JPEG header, so only what that header can say is accepted:
baseline 8-bit, three components with 4:2:2 or 4:2:0 sampling, sides that are multiples of 8 up to 2040 px,
and restart intervals. The Huffman tables are not sent: receivers assume the standard ones, which libjpeg
(and so cv2.imencode) writes unless told to optimise them; they are not checked here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PAYLOAD_TYPE = 26
MAX_SIDE = 2040  # the header carries width/8 and height/8 in one byte each
IN_BAND_TABLES_Q = 255  # Q >= 128 says "the quantisation tables follow in the first packet"
SOI, EOI, SOS, DQT, DRI = 0xD8, 0xD9, 0xDA, 0xDB, 0xDD
BASELINE_SOF = (0xC0, 0xC1)
FRAME_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # every SOFn; DHT, JPG and DAC share the range


class JpegError(ValueError):
    """A JPEG file that RFC 2435 cannot carry."""


@dataclass(frozen=True)
class JpegFrame:
    type: int  # 0: 4:2:2, 1: 4:2:0; +64 when restart markers are used
    width: int
    height: int
    tables: bytes  # the quantisation tables, 64 bytes each, in the zigzag order of DQT
    restart_interval: int
    scan: bytes  # entropy-coded data between the SOS header and EOI


def parse_jpeg(data: bytes) -> JpegFrame:
    """What RFC 2435 needs from a baseline JPEG file."""
    if not data.startswith(b"\xff\xd8"):
        raise JpegError("not a JPEG file (no SOI marker)")
    tables: dict[int, bytes] = {}
    size: tuple[int, int] | None = None
    sampling: list[int] = []
    restart = 0
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise JpegError(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        if marker == DQT:
            tables.update(_quantisation_tables(segment))
        elif marker in BASELINE_SOF:
            size, sampling = _frame_header(segment)
        elif marker in FRAME_SOF:
            raise JpegError("only baseline JPEG can be sent as RTP/JPEG, not progressive or lossless")
        elif marker == DRI:
            restart = int.from_bytes(segment[:2], "big")
        elif marker == SOS:
            return _frame(size, sampling, tables, restart, data[pos + 2 + length :])
        pos += 2 + length
    raise JpegError("JPEG file without a scan (no SOS marker)")


def _quantisation_tables(segment: bytes) -> dict[int, bytes]:
    found, pos = {}, 0
    while pos < len(segment):
        precision, index = segment[pos] >> 4, segment[pos] & 0x0F
        if precision:
            raise JpegError("16-bit quantisation tables cannot be sent as RTP/JPEG")
        found[index] = segment[pos + 1 : pos + 65]
        pos += 65
    return found


def _frame_header(segment: bytes) -> tuple[tuple[int, int], list[int]]:
    height, width, count = struct.unpack_from("!HHB", segment, 1)
    if count != 3:
        raise JpegError(f"RTP/JPEG carries colour JPEG with 3 components, not {count}")
    return (width, height), [segment[6 + 3 * index + 1] for index in range(count)]


def _frame(
    size: tuple[int, int] | None, sampling: list[int], tables: dict[int, bytes], restart: int, rest: bytes
) -> JpegFrame:
    if size is None:
        raise JpegError("JPEG file without a baseline frame header (SOF0)")
    width, height = size
    if width > MAX_SIDE or height > MAX_SIDE or width % 8 or height % 8:
        raise JpegError(f"RTP/JPEG needs sides that are multiples of 8 up to {MAX_SIDE} px, not {width}x{height}")
    kind = {(0x21, 0x11, 0x11): 0, (0x22, 0x11, 0x11): 1}.get((sampling[0], sampling[1], sampling[2]))
    if kind is None:
        raise JpegError("RTP/JPEG needs 4:2:2 or 4:2:0 sampling")
    end = len(rest)
    if rest.endswith(b"\xff\xd9"):
        end -= 2
    ordered = b"".join(tables[index] for index in sorted(tables))
    return JpegFrame(kind + (64 if restart else 0), width, height, ordered, restart, rest[:end])


class JpegPacketizer:
    """Cuts JPEG files into RTP/JPEG payloads; the marker bit goes on the last packet of each picture."""

    def __init__(self, max_payload: int = 1200) -> None:
        self.max_payload = max_payload

    def packetize(self, units: tuple[bytes, ...] | list[bytes]) -> list[tuple[bytes, bool]]:
        frame = parse_jpeg(units[0])
        restart = struct.pack("!HH", frame.restart_interval, 0xFFFF) if frame.type & 64 else b""
        tables = struct.pack("!BBH", 0, 0, len(frame.tables)) + frame.tables
        payloads, offset = [], 0
        while offset == 0 or offset < len(frame.scan):
            head = struct.pack(
                "!B3sBBBB",
                0,
                offset.to_bytes(3, "big"),
                frame.type,
                IN_BAND_TABLES_Q,
                frame.width // 8,
                frame.height // 8,
            )
            head += restart + (tables if offset == 0 else b"")
            chunk = frame.scan[offset : offset + self.max_payload - len(head)]
            payloads.append(head + chunk)
            offset += len(chunk)
            if not chunk:
                break
        return [(payload, index == len(payloads) - 1) for index, payload in enumerate(payloads)]
