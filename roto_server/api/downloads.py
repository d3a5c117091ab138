"""Sending a library file over HTTP: the whole file (200), one byte range (206) or 416.

Every download of every API comes through here, so every one goes through the library's safe
open; the bytes are read with pread from the descriptor that was checked, in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

from sanic import Request

from roto_server.api.byte_ranges import Span, Unsatisfiable, parse_range
from roto_server.api.errors import ApiError
from roto_server.recording.library import NotFound, OpenFile, RecordingLibrary

CHUNK = 256 * 1024


async def send_file(request: Request, library: RecordingLibrary, item_id: str) -> None:
    """Answer ``request`` with the file ``item_id`` names; a 404 ApiError when nothing servable does."""
    try:
        opened = await library.open(item_id)
    except NotFound:
        raise ApiError(404, f"no recording or backup file {item_id!r} on a connected storage") from None
    try:
        await _stream(request, opened)
    finally:
        opened.close()


async def _stream(request: Request, opened: OpenFile) -> None:
    choice = parse_range(request.headers.get("range"), opened.size)
    if isinstance(choice, Unsatisfiable):
        raise ApiError(
            416,
            f"Range {request.headers.get('range')!r} lies beyond the file's {opened.size} bytes",
            field="Range",
            headers={"Accept-Ranges": "bytes", "Content-Range": choice.content_range()},
        )
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": _disposition(opened.name)}
    span = choice if isinstance(choice, Span) else Span(0, opened.size - 1, opened.size)
    if isinstance(choice, Span):
        headers["Content-Range"] = choice.content_range()
    headers["Content-Length"] = str(max(0, span.length))
    response = await request.respond(status=206 if choice else 200, headers=headers, content_type=opened.mime)
    offset, remaining = span.first, max(0, span.length)
    while remaining > 0:
        chunk = await asyncio.to_thread(os.pread, opened.fd, min(CHUNK, remaining), offset)
        if not chunk:  # the file was cut short while we read: end the body early
            break
        await response.send(chunk)
        offset += len(chunk)
        remaining -= len(chunk)
    await response.eof()


def _disposition(name: str) -> str:
    """The file name for a save dialog: an ASCII fallback and the exact name (RFC 6266, RFC 8187)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
