"""One error type for every API, rendered as one JSON shape: {"error": ..., "field": ...}."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence

from sanic import Request, Sanic
from sanic.exceptions import NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse, json

from roto_server.api.c2_protocol import MAX_BODY_BYTES, BadRequest
from roto_shared import messages

log = logging.getLogger("roto.api")


class ApiError(Exception):
    """An error for the client: status, a message naming the field, optional headers and body fields.

    ``headers`` may repeat a name (several WWW-Authenticate challenges); ``slow`` adds a short
    random delay before answering, which makes guessing passwords slower still.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        extra: Mapping[str, object] | None = None,
        slow: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        self.extra = dict(extra or {})
        self.slow = slow


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    extra: Mapping[str, object] | None = None,
) -> HTTPResponse:
    body: dict[str, object] = {**messages.error(message), **(extra or {})}
    if field is not None:
        body["field"] = field
    response = json(body, status=status)
    for name, value in headers:
        response.headers.add(name, value)
    return response


def install(app: Sanic) -> None:
    @app.exception(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> HTTPResponse:
        if exc.slow:
            await asyncio.sleep(random.uniform(0.05, 0.2))
        return error_response(exc.status, exc.message, exc.field, exc.headers, exc.extra)

    @app.exception(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> HTTPResponse:
        return error_response(400, str(exc), exc.field)

    @app.exception(PayloadTooLarge)
    async def _too_large(request: Request, exc: PayloadTooLarge) -> HTTPResponse:
        return error_response(400, f"request body is larger than {MAX_BODY_BYTES} bytes")

    @app.exception(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> HTTPResponse:
        return error_response(404, f"no such resource: {request.path}")

    @app.exception(SanicException)
    async def _sanic(request: Request, exc: SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        if status >= 500:
            log.error("request %s %s failed: %s", request.method, request.path, exc)
            return error_response(500, "internal error; see the server log")
        return error_response(status, str(exc) or "request refused")

    @app.exception(Exception)
    async def _unexpected(request: Request, exc: Exception) -> HTTPResponse:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, "internal error; see the server log")
