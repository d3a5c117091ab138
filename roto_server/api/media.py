"""Camera endpoints: /camera.jpeg (one frame) and /camera.mjpeg (multipart/x-mixed-replace)."""

from __future__ import annotations

import contextlib

from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw

from roto_server.api.access import principal
from roto_server.api.errors import ApiError

BOUNDARY = "rotoframe"  # no quotes, no leading dashes in the header: some clients break on either
NO_CACHE = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache", "Expires": "0"}


def part_header(length: int) -> bytes:
    return f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {length}\r\n\r\n".encode()


def _preview_width(request: Request) -> int | None:
    text = request.args.get("width")
    if text is None:
        return None
    # isdigit() alone accepts '²' and other digits int() cannot read
    if not (text.isascii() and text.isdigit()) or not 16 <= int(text) <= 8192:
        raise ApiError(400, "width must be a whole number of pixels between 16 and 8192", field="width")
    return int(text)


def install(app: Sanic) -> None:
    ctx = app.ctx

    def authorize(request: Request) -> None:
        if not ctx.unit.store["mjpgStreamIsOpen"]:
            principal(request, ctx.gate)

    @app.get("/camera.jpeg")
    async def camera_jpeg(request: Request) -> HTTPResponse:
        authorize(request)
        width = _preview_width(request)
        try:
            frame = await ctx.camera.stream.snapshot(width)
        except RuntimeError as exc:
            raise ApiError(503, str(exc)) from None
        return raw(frame.jpeg, content_type="image/jpeg", headers=NO_CACHE)

    @app.get("/camera.mjpeg")
    async def camera_mjpeg(request: Request) -> None:
        authorize(request)
        width = _preview_width(request)
        stream = ctx.camera.stream.frames(width)
        try:
            first = await anext(stream)
        except RuntimeError as exc:
            raise ApiError(503, str(exc)) from None
        response = await request.respond(
            content_type=f"multipart/x-mixed-replace;boundary={BOUNDARY}", headers=NO_CACHE
        )
        async with contextlib.aclosing(stream):
            frame = first
            while True:
                # one send per part: a client that reads slowly only delays itself, and
                # finds the newest frame waiting when it is ready again
                await response.send(part_header(len(frame.jpeg)) + frame.jpeg + b"\r\n")
                frame = await anext(stream)
