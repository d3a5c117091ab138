"""WebSocket /api/v1: the v1 vocabulary over the one state (see v1_mapping), with in-band login.

The handshake may come without credentials: such a connection sees nothing and every message
but a login (``{"username": ..., "password": ...}``) is answered with an authentication error.
With anonymous read on, it starts as a viewer instead. A login answers
``{"authenticated": true, ...}`` and is followed by the whole v1 state the new role may read.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sanic import Request, Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api import socket_session, v1_ops
from roto_server.api.socket_session import ClientSession
from roto_server.auth.gate import TooManyFailures, Unauthorized
from roto_server.device.store import Notice, StateStore
from roto_shared import messages
from roto_shared.messages import Notification

log = logging.getLogger("roto.v1")
PATH = "/api/v1"
PERMISSIONS = {"viewer": ["read"], "operator": ["read", "write"], "admin": ["read", "write", "admin"]}
LOGIN_FIRST = 'log in first: send {"username": "...", "password": "..."}'


class V1Vocabulary:
    in_band_login = True

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    @property
    def store(self) -> StateStore:
        return self.ctx.unit.store

    def state(self, session: ClientSession, values: dict[str, Any]) -> dict[str, Any]:
        return v1_ops.translate(self.store, self.store.readable_subset(values, session.role)) if session.role else {}

    def notification(self, notice: Notice) -> dict[str, Any]:
        return Notification(notice.variable, notice.level, notice.message).to_message()

    def refusal(self, title: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
        return messages.error(title, message, **fields)

    def answer(self, session: ClientSession, doc: dict[str, Any]) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        if "username" in doc or "password" in doc:
            replies.append(self._login(session, str(doc.pop("username", "")), str(doc.pop("password", ""))))
        if session.who is None:
            if doc:
                replies.append(messages.error(messages.AUTHENTICATION_REQUIRED, LOGIN_FIRST))
            return replies
        asked = doc.pop("get", None)
        replies.extend(self._set(session.who.role, doc))
        if asked is not None:
            replies.append(self._get(session.who.role, asked))
        return replies

    def _login(self, session: ClientSession, user: str, password: str) -> dict[str, Any]:
        try:
            who = self.ctx.gate.login(session.attempt, user, password, time.time())
        except TooManyFailures as exc:
            return messages.rate_limited(exc.limit, "5 minutes", exc.retry_after)
        except Unauthorized:
            log.warning("v1 login failed for user %r", user)
            return messages.error(messages.AUTHENTICATION_FAILED, "wrong user name or password")
        session.who = who
        return {"authenticated": True, "user": who.name, "permissions": PERMISSIONS[who.role]}

    def _get(self, role: str, asked: Any) -> dict[str, Any]:
        if not isinstance(asked, list):
            return messages.error(messages.INVALID_VALUE, "get must be a list of keys", key="get")
        return v1_ops.read(self.store, role, asked)

    def _set(self, role: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
        if not doc:
            return []
        result = v1_ops.write(self.store, role, doc)
        if result.errors:  # nothing was applied
            return result.errors
        notices = {"notices": result.notices} if result.notices else {}
        return [{**result.values, "info": result.changed, **notices}]


def install(app: Sanic) -> None:
    ctx = app.ctx
    ctx.sockets.serve_at(PATH, V1Vocabulary(ctx))

    @app.websocket(PATH)
    async def v1_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        await socket_session.serve(request, ws, (ctx.ws_limiter, "second"))
