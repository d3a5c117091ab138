"""WebSocket /api/v1: the v1 vocabulary over the one state (see v1_mapping)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api.access import attempt_of, principal
from roto_server.api.hub import Subscriber
from roto_server.api.v1_mapping import BY_KEY, InvalidV1Value, to_v1
from roto_server.auth.gate import Attempt, TooManyFailures, Unauthorized
from roto_server.device.store import Set, StateStore

log = logging.getLogger("roto.v1")
PATH = "/api/v1"
PERMISSIONS = {"viewer": ["read"], "operator": ["read", "write"], "admin": ["read", "write", "admin"]}


def v1_state(store: StateStore, role: str) -> dict[str, Any]:
    return to_v1(store.snapshot(role))


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
        store = self.ctx.unit.store
        out = {}
        for key in asked:
            spec = BY_KEY.get(key) if isinstance(key, str) else None
            if spec is not None and spec.readable and store.catalogue[spec.variable].may_read(self.role):
                out[spec.key] = spec.to_v1(store[spec.variable])
        return out

    def _set(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        store = self.ctx.unit.store
        errors: list[dict[str, Any]] = []
        ops, keys = [], []
        for key, value in doc.items():
            spec = BY_KEY.get(key)
            if spec is None:
                errors.append({"error": "Invalid value", "key": key, "message": "unknown key"})
                continue
            var = store.catalogue[spec.variable]
            if not spec.writable:
                errors.append({"error": "Permission denied", "key": key, "message": f"{spec.key} is read only"})
                continue
            if not var.may_write(self.role):
                errors.append(
                    {"error": "Permission denied", "key": key, "message": f"{spec.key} needs the {var.write_role} role"}
                )
                continue
            try:
                ops.append(Set(spec.variable, spec.to_c2(value)))
                keys.append(spec)
            except InvalidV1Value as exc:
                errors.append({"error": "Invalid value", "key": key, "message": str(exc)})
        if not ops:
            return errors
        result = store.apply(ops, self.role)
        refused = {n.variable: n.message for n in result.notices if n.level != "info"}
        answer: dict[str, Any] = {}
        for spec in keys:
            if spec.variable in refused:
                errors.append({"error": "Invalid value", "key": spec.key, "message": refused[spec.variable]})
            if spec.variable in result.values:
                answer[spec.key] = spec.to_v1(result.values[spec.variable])
        answer["info"] = [
            s.key
            for s in keys
            if s.variable in result.changes or (s.variable not in refused and not store.catalogue[s.variable].readable)
        ]
        return [answer, *errors]


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
        sub, snapshot = ctx.hub.join("admin")  # filtered per message by the session's current role
        pump = None
        try:
            await ws.send(json.dumps(to_v1(ctx.unit.store.readable_subset(snapshot, session.role))))
            pump = asyncio.create_task(_pump(ws, sub, session, ctx.unit.store))
            async for message in ws:
                try:
                    doc = json.loads(message if isinstance(message, str) else (message or b"").decode())
                except (ValueError, UnicodeDecodeError):
                    doc = None
                if not isinstance(doc, dict):
                    await ws.send(json.dumps({"error": "Invalid value", "message": "send a JSON object"}))
                    continue
                for reply in session.handle(doc):
                    await ws.send(json.dumps(reply, ensure_ascii=False))
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            ctx.hub.leave(sub)


async def _pump(ws: WebsocketImplProtocol, sub: Subscriber, session: V1Session, store: StateStore) -> None:
    """Broadcast every change, whatever its source, translated to v1 keys."""
    while True:
        notices, changes = await sub.next_batch()
        for notice in notices:
            await ws.send(json.dumps({"notification": notice.as_json()}, ensure_ascii=False))
        visible = to_v1(store.readable_subset(changes, session.role))
        if visible:
            await ws.send(json.dumps(visible, ensure_ascii=False))
