"""WebSocket /api/v1: the v1 vocabulary over the one state (see v1_mapping)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api import v1_ops
from roto_server.api.access import attempt_of, principal
from roto_server.api.hub import Subscriber, background
from roto_server.api.v1_mapping import to_v1
from roto_server.auth.gate import Attempt, TooManyFailures, Unauthorized
from roto_server.device.store import StateStore

log = logging.getLogger("roto.v1")
PATH = "/api/v1"
PERMISSIONS = {"viewer": ["read"], "operator": ["read", "write"], "admin": ["read", "write", "admin"]}


class V1Session:
    """One client's role and the translation of its messages (no I/O: returns the replies)."""

    def __init__(self, ctx: Any, role: str, attempt: Attempt) -> None:
        self.ctx = ctx
        self.role = role
        self.attempt = attempt  # who is connected from where, for counting failed logins

    def handle(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        if "username" in doc or "password" in doc:
            replies.append(self._login(str(doc.pop("username", "")), str(doc.pop("password", ""))))
        asked = doc.pop("get", None)
        replies.extend(self._set(doc))
        if asked is not None:
            replies.append(self._get(asked))
        return replies

    def _login(self, user: str, password: str) -> dict[str, Any]:
        try:
            who = self.ctx.gate.login(self.attempt, user, password, time.time())
        except TooManyFailures as exc:
            return {
                "error": "Rate limit exceeded",
                "limit": exc.limit,
                "period": "5 minutes",
                "retry_after": exc.retry_after,
            }
        except Unauthorized:
            log.warning("v1 login failed for user %r", user)
            return {"error": "Authentication failed", "message": "wrong user name or password"}
        self.role = who.role
        return {"authenticated": True, "user": who.name, "permissions": PERMISSIONS[who.role]}

    def _get(self, asked: Any) -> dict[str, Any]:
        if not isinstance(asked, list):
            return {"error": "Invalid value", "key": "get", "message": "get must be a list of keys"}
        return v1_ops.read(self.ctx.unit.store, self.role, asked)

    def _set(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        if not doc:
            return []
        result = v1_ops.write(self.ctx.unit.store, self.role, doc)
        if not result.values and not result.changed:
            return result.errors
        return [{**result.values, "info": result.changed}, *result.errors]


def install(app: Sanic) -> None:
    ctx = app.ctx

    @app.on_request
    async def v1_gate(request: Request) -> HTTPResponse | None:
        if request.path == PATH:
            principal(request, ctx.gate)  # refuse the handshake with 401 before it happens
        return None

    @app.websocket(PATH)
    async def v1_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        session = V1Session(ctx, principal(request, ctx.gate).role, attempt_of(request))
        # subscribed as admin; each message is filtered by the session's current role (logins change it)
        async with ctx.hub.session("admin") as (sub, snapshot):
            await ws.send(json.dumps(to_v1(ctx.unit.store.readable_subset(snapshot, session.role))))
            async with background(_pump(ws, sub, session, ctx.unit.store)):
                async for message in ws:
                    for reply in _answer(ctx, request, session, message):
                        await ws.send(json.dumps(reply, ensure_ascii=False))


def _answer(ctx: Any, request: Request, session: V1Session, message: str | bytes | None) -> list[dict[str, Any]]:
    limiter = ctx.ws_limiter
    decision = limiter.hit(request.ip or "unknown", time.monotonic()) if limiter else None
    if decision is not None and not decision.allowed:  # the message is dropped, the connection kept
        ctx.gate.counts["rate_limited_v1_ws"] += 1
        return [
            {
                "error": "Rate limit exceeded",
                "limit": decision.limit,
                "period": "second",
                "retry_after": decision.reset_after,
            }
        ]
    try:
        doc = json.loads(message if isinstance(message, str) else (message or b"").decode())
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        return [{"error": "Invalid value", "message": "send a JSON object"}]
    return session.handle(doc)


async def _pump(ws: WebsocketImplProtocol, sub: Subscriber, session: V1Session, store: StateStore) -> None:
    """Broadcast every change, whatever its source, translated to v1 keys."""
    while True:
        notices, changes = await sub.next_batch()
        for notice in notices:
            await ws.send(json.dumps({"notification": notice.as_json()}, ensure_ascii=False))
        visible = to_v1(store.readable_subset(changes, session.role))
        if visible:
            await ws.send(json.dumps(visible, ensure_ascii=False))
