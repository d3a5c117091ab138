"""Per-client rate limits for HTTP (the spec's "Default Limits"); the counters are auth/limits.py.

v1 HTTP requests (every /api/... path but the C2 /api itself): 100 a minute by default.
The C2 /api keeps its polling-friendly behaviour: unlimited unless configured (then its
WebSocket messages count too, see socket_session). Camera
streams are not counted. Each limited response carries X-RateLimit-Limit/Remaining/Reset;
a refused one is a 429 with the JSON body and Retry-After.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse

from roto_server.api import front
from roto_server.api.access import canonical_path
from roto_server.api.errors import error_response
from roto_server.auth.limits import Decision, WindowLimiter


@dataclass(frozen=True)
class RateLimits:
    http_per_minute: int = 100  # 0 = off
    c2_per_minute: int = 0
    ws_per_second: int = 100


def limited(decision: Decision, period: str) -> HTTPResponse:
    return error_response(
        429,
        "Rate limit exceeded",
        headers=[*headers(decision), ("Retry-After", str(decision.reset_after))],
        extra={"limit": decision.limit, "period": period, "retry_after": decision.reset_after},
    )


def headers(decision: Decision) -> list[tuple[str, str]]:
    return [
        ("X-RateLimit-Limit", str(decision.limit)),
        ("X-RateLimit-Remaining", str(decision.remaining)),
        ("X-RateLimit-Reset", str(decision.reset_after)),
    ]


def install(app: Sanic, limits: RateLimits) -> None:
    v1 = WindowLimiter(limits.http_per_minute, 60.0) if limits.http_per_minute else None
    c2: WindowLimiter | None = app.ctx.c2_limiter  # shared with the C2 WebSocket's messages
    if v1 is None and c2 is None:
        return  # no limits: no check either, so unlimited requests pay nothing for them

    def limiter_for(path: str) -> WindowLimiter | None:
        if path == "/api":  # canonical: /api/ and /api// are the C2 API too
            return c2
        if path.startswith("/api/") and path != "/api/v1":
            return v1
        return None

    def count(request: Request, path: str) -> HTTPResponse | None:
        limiter = limiter_for(path)
        if limiter is None:
            return None
        decision = limiter.hit(request.ip or "unknown", time.monotonic())
        if not decision.allowed:
            request.app.ctx.gate.counts["rate_limited_" + ("c2" if limiter is c2 else "v1")] += 1
            return limited(decision, "minute")
        request.ctx.rate = decision
        return None

    app.ctx.front.add(front.RATE_LIMIT, count)  # before authentication: floods never reach password checks
    app.ctx.limited_path = lambda path: limiter_for(path) is not None


def annotate_limited_routes(app: Sanic) -> None:
    """Give the answers of every limited route its X-RateLimit headers. Called once every route is
    registered: the headers' middleware is attached to those routes only, so the unlimited ones (the
    C2 poller's GET by default, the camera streams) pay nothing for it."""
    limited_path = app.ctx.limited_path
    if limited_path is None:
        return
    names = [route.name for route in app.router.routes if limited_path(canonical_path("/" + route.path))]
    if names:
        app.register_named_middleware(_annotate, names, "response")


def _annotate(request: Request, response: BaseHTTPResponse) -> None:  # plain: no coroutine per response
    decision: Decision | None = getattr(request.ctx, "rate", None)
    if decision is not None and response is not None:
        for name, value in headers(decision):
            response.headers[name] = value
