"""One WebSocket client session for every WebSocket API (/api and /api/v1, later WebRTC signalling).

What the APIs share lives here: the credential check before the upgrade, the hub subscription,
message decoding, the per-client message limit, the send loop and the end of a connection
whose login session ends (POST /api/logout or expiry closes it with code 1008). What differs
between them, the vocabulary of state and how a message is answered, is a ``Vocabulary``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Protocol

from sanic import Request, Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api import front
from roto_server.api.access import attempt_of, canonical_path, is_upgrade, socket_principal
from roto_server.api.hub import Subscriber, background
from roto_server.api.instant_send import InstantSender, instant_sender
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import Attempt
from roto_server.auth.limits import WindowLimiter
from roto_server.device.store import ChangeEvent, Notice
from roto_shared import messages
from roto_shared.json_input import JsonInputError, decode_json

log = logging.getLogger("roto.ws")
POLICY_VIOLATION = 1008  # RFC 6455 close code: the session that let this client in has ended
SESSION_ENDED_TEXT = {"logout": "logged out", "expiry": "session expired"}


class Vocabulary(Protocol):
    """How one WebSocket API speaks: state for a role, notices, refusals, and answers to messages."""

    in_band_login: bool  # the handshake may come without credentials and log in with a message

    def state(self, session: ClientSession, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` (C2 names, any role) as this client may see them; empty when nothing is visible."""

    def notification(self, notice: Notice) -> dict[str, Any]: ...

    def refusal(self, title: str, message: str | None = None, **fields: Any) -> dict[str, Any]: ...

    def answer(self, session: ClientSession, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """Replies to one decoded message (the session's ``who`` may change: a login)."""


class ClientSession:
    def __init__(
        self,
        ws: WebsocketImplProtocol,
        ctx: Any,
        who: Principal | None,
        attempt: Attempt,
        vocabulary: Vocabulary,
        limit: tuple[WindowLimiter | None, str],
    ) -> None:
        self.ws = ws
        self.ctx = ctx
        self.who = who  # None: connected but not logged in yet (sees nothing)
        self.attempt = attempt  # where the client is, for counting failed logins and messages
        self.vocabulary = vocabulary
        self.limiter, self.period = limit
        self._sub: Subscriber | None = None
        self._ending: asyncio.Task[None] | None = None

    @property
    def role(self) -> str | None:
        return self.who.role if self.who else None

    async def run(self) -> None:
        # subscribed to every change; each batch is filtered by the role the client has when it is sent
        async with self.ctx.hub.session("admin") as (sub, _):
            self._sub = sub
            sender = instant_sender(self.ws)
            if sender is not None:
                sub.deliver_now = lambda: self._deliver_now(sub, sender)
            who = self.who.name if self.who else "nobody yet"
            log.info("WebSocket client %s joined as %s (%d connected)", self.attempt.client, who, len(self.ctx.hub))
            with self.ctx.sockets.track(self):
                # a logout between the credential check and now would otherwise be missed
                token = self.who.session if self.who else None
                if token is not None and self.ctx.gate.sessions.find(token, time.time()) is None:
                    self.end(SESSION_ENDED_TEXT["logout"])
                if self.who is not None:
                    await self.send(self._full_state())
                async with background(self._send_loop(sub)):
                    async for message in self.ws:
                        for reply in self.receive(message):
                            await self.send(reply)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message, ensure_ascii=False))

    def receive(self, message: str | bytes | None) -> list[dict[str, Any]]:
        """Replies to one raw message: counted against the client's limit, decoded, answered."""
        if message is None:
            return []
        if self.limiter is not None:
            decision = self.limiter.hit(self.attempt.client, time.monotonic())
            if not decision.allowed:  # the message is dropped, the connection kept
                # C2 messages share the C2 HTTP counter; v1 WebSocket messages have their own
                self.ctx.gate.counts["rate_limited_v1_ws" if self.period == "second" else "rate_limited_c2"] += 1
                return [
                    self.vocabulary.refusal(
                        messages.RATE_LIMITED,
                        limit=decision.limit,
                        period=self.period,
                        retry_after=decision.reset_after,
                    )
                ]
        try:
            doc = decode_json(message)
        except JsonInputError as exc:
            return [
                self.vocabulary.refusal(
                    messages.INVALID_VALUE, f"message ignored: send a JSON object ({exc})", key=exc.field
                )
            ]
        if not isinstance(doc, dict):
            return [self.vocabulary.refusal(messages.INVALID_VALUE, "message ignored: send a JSON object")]
        before = self.who
        try:
            replies = self.vocabulary.answer(self, doc)
        except Exception:  # a bug must cost this message, never the connection or a log flood with URLs
            log.exception("a WebSocket message from %s failed", self.attempt.client)
            return [self.vocabulary.refusal(messages.INTERNAL_ERROR, "the message failed; see the server log")]
        if self.who is not None and self.who is not before:  # a login: the state this role may see, from scratch
            replies.append(self._full_state())
        return replies

    def tell(self, notices: list[Notice]) -> None:
        """Notices for this client only, sent by the send loop in order with the changes."""
        if self._sub is not None:
            self._sub.tell(notices)

    def answer_later(self, values: dict[str, Any]) -> None:
        """Values (C2 names) to send with the next batch of changes."""
        if self._sub is not None:
            self._sub.add(values)

    def end(self, why: str) -> None:
        """Close the connection because the session that let it in has ended (from any task)."""
        if self._ending is None:
            self._ending = asyncio.get_running_loop().create_task(self._close(why))

    async def _close(self, why: str) -> None:
        log.info("closing a WebSocket of %s from %s: %s", self.who.name if self.who else "?", self.attempt.client, why)
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.send(self.vocabulary.refusal(messages.SESSION_ENDED, why))
        await self.ws.close(POLICY_VIOLATION, why)

    def _full_state(self) -> dict[str, Any]:
        if self._sub is not None:
            self._sub.pending.clear()  # the full state supersedes changes queued before it
            self._sub.source = None
        return self.vocabulary.state(self, self.ctx.unit.store.snapshot("admin"))

    def _deliver_now(self, sub: Subscriber, sender: InstantSender) -> bool:
        """The hub's sweep: this client's changes written at once when its connection can take them."""
        if self.who is None or not sender.ready():
            return False  # the send task handles it (and drops it while nobody is logged in)
        _, changes = sub.take()  # the sweep calls this only without queued notices
        if changes:
            text = self.ctx.sockets.rendering(sub.batch_source, self, changes)
            if text:
                sender.send(text)
        return True

    async def _send_loop(self, sub: Subscriber) -> None:
        while True:
            notices, changes = await sub.next_batch()
            if self.who is None:
                continue  # not logged in: nothing about the device leaks
            for notice in notices:
                await self.send(self.vocabulary.notification(notice))
            if changes:
                text = self.ctx.sockets.rendering(sub.batch_source, self, changes)
                if text:
                    await self.ws.send(text)


class SocketRegistry:
    """The WebSocket paths with their vocabularies, and the open sessions by the login session
    that let them in, so logout and expiry can end them."""

    def __init__(self) -> None:
        self.vocabularies: dict[str, Vocabulary] = {}
        self._by_token: defaultdict[str, set[ClientSession]] = defaultdict(set)
        self._rendered_event: ChangeEvent | None = None  # only the newest event's renderings are kept
        self._renderings: dict[tuple[str | None, int], str] = {}

    def serve_at(self, path: str, vocabulary: Vocabulary) -> None:
        self.vocabularies[path] = vocabulary

    def rendering(self, source: ChangeEvent | None, session: ClientSession, changes: dict[str, Any]) -> str:
        """The text of ``changes`` for this client ("" when it may see none of them).

        When the changes are exactly one event's, every client with the same role and
        vocabulary gets the same text: it is filtered, translated and serialized once.
        """
        if source is None:
            return self._render(session, changes)
        if source is not self._rendered_event:
            self._rendered_event, self._renderings = source, {}
        key = (session.role, id(session.vocabulary))
        text = self._renderings.get(key)
        if text is None:
            text = self._renderings[key] = self._render(session, changes)
        return text

    @staticmethod
    def _render(session: ClientSession, changes: dict[str, Any]) -> str:
        visible = session.vocabulary.state(session, changes)
        return json.dumps(visible, ensure_ascii=False) if visible else ""

    @contextlib.contextmanager
    def track(self, session: ClientSession) -> Iterator[None]:
        who = session.who
        if who is None or who.session is None:
            yield
            return
        token = who.session
        self._by_token[token].add(session)
        timer = None
        if who.expires is not None:
            delay = max(0.0, who.expires - time.time())
            timer = asyncio.get_running_loop().call_later(delay, session.end, SESSION_ENDED_TEXT["expiry"])
        try:
            yield
        finally:
            if timer is not None:
                timer.cancel()
            self._by_token[token].discard(session)
            if not self._by_token[token]:
                del self._by_token[token]

    def session_ended(self, token: str) -> None:
        for session in list(self._by_token.get(token, ())):
            session.end(SESSION_ENDED_TEXT["logout"])


def install(app: Sanic) -> None:
    """Check credentials before any WebSocket upgrade on every spelling of a path (/api/, /api//...)."""
    ctx = app.ctx
    ctx.gate.sessions.on_end(ctx.sockets.session_ended)

    def socket_gate(request: Request, path: str) -> None:
        if not is_upgrade(request):
            return
        vocabulary = ctx.sockets.vocabularies.get(path)
        if vocabulary is None:
            return  # no WebSocket here: routing answers 404
        # raises ApiError 401/429 here, so a refused client never gets an upgrade (nor a traceback)
        request.ctx.socket_who = socket_principal(request, ctx.gate, vocabulary.in_band_login)
        request.ctx.socket_checked = True

    ctx.front.add(front.SOCKET_GATE, socket_gate)


async def serve(request: Request, ws: WebsocketImplProtocol, limit: tuple[WindowLimiter | None, str]) -> None:
    """Run one client's session on an upgraded connection, in the vocabulary of its path."""
    vocabulary = request.app.ctx.sockets.vocabularies.get(canonical_path(request.path))
    if vocabulary is None or not getattr(request.ctx, "socket_checked", False):  # a spelling the gate missed
        await ws.close(POLICY_VIOLATION, "credentials were not checked")
        return
    session = ClientSession(ws, request.app.ctx, request.ctx.socket_who, attempt_of(request), vocabulary, limit)
    try:
        await session.run()
    finally:
        log.info("WebSocket client %s left", request.ip)
