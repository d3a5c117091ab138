"""Sanic glue for the one authentication layer (roto_server.auth.gate): a principal, or 401/429."""

from __future__ import annotations

import time
from collections.abc import Mapping

from sanic import Request

from roto_server.api.errors import ApiError
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import SESSION_COOKIE, Attempt, Gate, TooManyFailures, Unauthorized


def attempt_of(request: Request, query: Mapping[str, str] | None = None) -> Attempt:
    """What ``request`` brings; ``query`` when the caller has parsed the query already."""
    if query is None:
        query = dict(request.get_query_args(keep_blank_values=True))
    client = request.ip or "unknown"
    if query.get("token") or query.get("password"):
        # the query's secret decides (Gate.identify tries it first): skip the cookie jar and the URI
        return Attempt(query, None, None, request.method, "", client)
    authorization = request.headers.get("authorization")
    if authorization and authorization.strip():  # the cookie is only tried without a header; Digest alone needs the URI
        uri = request.path + (f"?{request.query_string}" if request.query_string else "")
        return Attempt(query, authorization, None, request.method, uri, client)
    return Attempt(query, None, request.cookies.get(SESSION_COOKIE), request.method, "", client)


# Schemes for which a browser opens its own password dialog when a script's request is refused.
BROWSER_PROMPTS = ("basic", "digest")


def refusal(exc: Unauthorized | TooManyFailures, request: Request | None = None) -> ApiError:
    """The 401 or 429 for a failed attempt. A script that says so with ``X-Requested-With`` (the
    web page does) gets no Basic or Digest challenge: it shows its own form instead of the browser's
    dialog, and the Bearer challenge still tells it how to authenticate."""
    if isinstance(exc, TooManyFailures):
        return ApiError(
            429,
            "Too many failed logins",
            slow=True,
            headers=[("Retry-After", str(exc.retry_after))],
            extra={"limit": exc.limit, "period": f"{int(exc.period // 60)} minutes", "retry_after": exc.retry_after},
        )
    challenges = exc.challenges
    if request is not None and request.headers.get("x-requested-with"):
        challenges = [c for c in challenges if c.split(" ", 1)[0].lower() not in BROWSER_PROMPTS]
    return ApiError(401, str(exc), slow=True, headers=[("WWW-Authenticate", c) for c in challenges])


def canonical_path(path: str) -> str:
    """The path with repeated and trailing slashes removed: /api/, /api// and //api all become /api."""
    if path.startswith("/") and "//" not in path and (path == "/" or not path.endswith("/")):
        return path  # already canonical: the common case, on every request, costs no split
    return "/" + "/".join(part for part in path.split("/") if part)


def is_upgrade(request: Request) -> bool:
    return "websocket" in request.headers.get("upgrade", "").lower()


def socket_principal(request: Request, gate: Gate, in_band_login: bool) -> Principal | None:
    """Who opens a WebSocket, decided before the upgrade (raises ApiError 401/429 as for HTTP).

    With ``in_band_login`` a handshake that brings no credentials at all is let in
    unauthenticated (None): the connection may log in with a message. Wrong credentials
    are refused all the same.
    """
    try:
        return principal(request, gate)
    except ApiError:
        if in_band_login and not gate.brings_credentials(attempt_of(request)):
            return None
        raise


def principal(request: Request, gate: Gate, query: Mapping[str, str] | None = None) -> Principal:
    """Authenticate once per request; raises ApiError 401 (with challenges) or 429."""
    found: Principal | None = getattr(request.ctx, "principal", None)
    if found is not None:
        return found
    try:
        found = gate.identify(attempt_of(request, query), time.time())
    except (Unauthorized, TooManyFailures) as exc:
        raise refusal(exc, request) from None
    request.ctx.principal = found
    return found
