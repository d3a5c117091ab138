"""Sanic glue for authentication: who is the request's principal, or a 401."""

from __future__ import annotations

from sanic import Request

from roto_server.api.errors import ApiError
from roto_server.auth.credentials import Authenticator, AuthError, Principal

REALM = "roto"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


def principal(request: Request, auth: Authenticator) -> Principal:
    """Authenticate once per request; raises ApiError(401) with a WWW-Authenticate challenge."""
    found: Principal | None = getattr(request.ctx, "principal", None)
    if found is not None:
        return found
    query = {k: v for k, v in request.get_query_args(keep_blank_values=True)}
    try:
        found = auth.from_request(query, request.headers.get("authorization"))
    except AuthError as exc:
        raise ApiError(401, str(exc), headers={"WWW-Authenticate": CHALLENGE}) from None
    request.ctx.principal = found
    return found
