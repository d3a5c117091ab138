"""Opt-in CORS for one trusted origin (a dashboard served elsewhere): preflights and response headers.

Off unless --cors-origin is given. Only that exact origin gets the headers, with credentials
allowed (cookies, Authorization), so a page from any other origin stays blocked by the browser.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, empty

from roto_server.api import front

METHODS = "GET, POST, PUT, DELETE, OPTIONS"
EXPOSED = "X-Roto-Notices, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, WWW-Authenticate"
PREFLIGHT_CACHE_S = "600"


def install(app: Sanic, origin: str) -> None:
    origin = origin.rstrip("/")

    def allow(response: HTTPResponse) -> None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers.add("Vary", "Origin")

    def preflight(request: Request, path: str) -> HTTPResponse | None:
        if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
            return None
        response = empty(status=204)
        if request.headers.get("origin") == origin:
            allow(response)
            response.headers["Access-Control-Allow-Methods"] = METHODS
            asked = request.headers.get("access-control-request-headers")
            response.headers["Access-Control-Allow-Headers"] = asked or "Authorization, Content-Type"
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_CACHE_S
        return response

    app.ctx.front.add(front.PREFLIGHT, preflight)  # before rate limits and credentials: a preflight carries neither

    @app.on_response
    def cors_headers(request: Request, response: HTTPResponse) -> None:  # plain: no coroutine per response
        if response is not None and request.headers.get("origin") == origin and request.method != "OPTIONS":
            allow(response)
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
