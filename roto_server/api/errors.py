"""One error type for every API, rendered as one JSON shape: {"error": ..., "field": ...}."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sanic import Request, Sanic
from sanic.exceptions import NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse, json

from roto_server.api.c2_protocol import MAX_BODY_BYTES, BadRequest

log = logging.getLogger("roto.api")


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_response(
    status: int, message: str, field: str | None = None, headers: Mapping[str, str] | None = None
) -> HTTPResponse:
    body: dict[str, object] = {"error": message}
    if field is not None:
        body["field"] = field
    return json(body, status=status, headers=dict(headers or {}))


def install(app: Sanic) -> None:
    @app.exception(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> HTTPResponse:
        return error_response(exc.status, exc.message, exc.field, exc.headers)

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
