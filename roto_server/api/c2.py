"""The C2 API at /api: HTTP GET and POST, and the WebSocket on the same path."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from sanic import Request, Sanic
from sanic.response import HTTPResponse, JSONResponse
from sanic.response import json as json_response
from sanic.response.types import HEADER_TRANSLATION_TABLE
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api import front, socket_session
from roto_server.api.access import is_upgrade, principal
from roto_server.api.c2_protocol import BadRequest, ops_from_object, ops_from_query, parse_body
from roto_server.api.socket_session import ClientSession
from roto_server.auth.credentials import AUTH_QUERY_KEYS
from roto_server.device.store import ApplyResult, Get, Notice, Op, StateStore
from roto_shared import messages
from roto_shared.messages import Notification

log = logging.getLogger("roto.c2")
PATH = "/api"
MAX_NOTICE_HEADER = 20


class C2Answer(HTTPResponse):
    """A final JSON answer whose headers are scanned for CR, LF and NUL instead of having every
    character looked up in Sanic's translation table: the same bytes on the wire, a third of the
    cost (about 3 µs of a poller's request)."""

    __slots__ = ()

    @property
    def processed_headers(self) -> Iterator[tuple[bytes, bytes]]:
        if not self.headers:  # a plain answer: its one header is always the same
            return iter(_PLAIN_HEADERS)
        self.headers.setdefault("content-type", self.content_type)  # always a body: never a 204 or 304
        headers = self.headers.items()
        return iter([(_clean(k).encode("ascii"), _clean(f"{v}").encode(errors="surrogateescape")) for k, v in headers])


_PLAIN_HEADERS = ((b"content-type", b"application/json"),)


def _clean(text: str) -> str:
    return text.translate(HEADER_TRANSLATION_TABLE) if "\r" in text or "\n" in text or "\x00" in text else text


def _json(values: dict[str, Any], headers: dict[str, str] | None = None) -> HTTPResponse:
    # Sanic's own encoder, minus JSONResponse's re-encodable body machinery: the C2 answer is final
    body = JSONResponse._dumps(values, ensure_ascii=False)
    return C2Answer(body, headers=headers, content_type="application/json")


class ReadAnswers:
    """The encoded answers to pollers' reads. Pollers ask the same names again and again, mostly
    between two changes of the state: an answer is rendered once per names, role and store
    revision, and sent as is until the state changes."""

    MAX_ENTRIES = 256

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._answers: dict[tuple[tuple[str, ...], str], tuple[int, bytes]] = {}

    def answer(self, names: tuple[str, ...], role: str) -> HTTPResponse:
        revision = self.store.revision
        kept = self._answers.get((names, role))
        if kept is None or kept[0] != revision:
            if len(self._answers) >= self.MAX_ENTRIES:
                self._answers.clear()  # many distinct queries: start again rather than grow
            body = JSONResponse._dumps(self.store.read(names, role), ensure_ascii=False).encode()
            kept = self._answers[(names, role)] = (revision, body)
        return C2Answer(kept[1], content_type="application/json")


def _respond(result: ApplyResult) -> HTTPResponse:
    if not result.notices:
        return _json(result.values)
    notes = [n.as_json() for n in result.notices[:MAX_NOTICE_HEADER]]
    return _json(result.values, {"X-Roto-Notices": json.dumps(notes, ensure_ascii=True)})


def install(app: Sanic) -> None:
    ctx = app.ctx

    ctx.sockets.serve_at(PATH, C2Vocabulary(ctx.unit.store))
    reads = ReadAnswers(ctx.unit.store)

    def c2_get(request: Request, path: str) -> HTTPResponse | None:
        # GET /api is both the HTTP API and the WebSocket handshake; Sanic routes only
        # one handler per method and path, so plain GETs (on /api/ too) are answered in front.
        if path != PATH or request.method != "GET" or is_upgrade(request):
            return None  # a handshake is checked by socket_session's gate
        query = _parsed_query(request.query_string)
        who = principal(request, ctx.gate, query.pairs)
        if query.snapshot:
            return _json(ctx.unit.store.snapshot(who.role))
        if query.reads is not None:  # a poller's reads: no transaction, nothing to announce
            return reads.answer(query.reads, who.role)
        return _respond(ctx.unit.store.apply(list(query.ops), who.role, text=True))

    ctx.front.add(front.C2_GET, c2_get)

    @app.post(PATH)
    async def c2_post(request: Request) -> HTTPResponse:
        who = principal(request, ctx.gate)
        doc = _posted_object(request)
        ops: list[Op] = ops_from_query(request.get_query_args(keep_blank_values=True))
        text_ops = len(ops)
        ops += ops_from_object(doc)
        if not ops:
            return json_response(ctx.unit.store.snapshot(who.role), ensure_ascii=False)
        store = ctx.unit.store
        result = store.apply(ops[:text_ops], who.role, text=True)
        more = store.apply(ops[text_ops:], who.role)
        result.values.update(more.values)
        result.notices.extend(more.notices)
        return _respond(result)

    @app.websocket(PATH)
    async def c2_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        await socket_session.serve(request, ws, (ctx.c2_limiter, "minute"))


@dataclass(frozen=True)
class ParsedQuery:
    pairs: Mapping[str, str]  # as Sanic parses them, the last of a repeated key winning
    ops: tuple[Op, ...]
    snapshot: bool  # nothing but credentials: the whole state the role may read
    reads: tuple[str, ...] | None  # the names when every operation is a read


@functools.lru_cache(maxsize=256)
def _parsed_query(query: str) -> ParsedQuery:
    """A query string, parsed. Pollers send the same query again and again, so each distinct one
    is parsed once; the result is read-only, so requests share it safely."""
    pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace")
    ops = tuple(ops_from_query(pairs))
    reads = tuple(op.name for op in ops) if all(isinstance(op, Get) for op in ops) else None
    snapshot = all(k in AUTH_QUERY_KEYS for k, _ in pairs)
    return ParsedQuery(MappingProxyType(dict(pairs)), ops, snapshot, reads)


def _posted_object(request: Request) -> dict[str, Any]:
    try:
        return parse_body(request.body)
    except BadRequest:
        # curl -d light0=true: a form body is not part of the C2 API, say what is
        if request.content_type.startswith("application/x-www-form-urlencoded") and b"=" in request.body:
            key = request.body.split(b"=", 1)[0].decode("utf-8", "replace")[:64]
            raise BadRequest(
                "a form-encoded body is not read: POST a JSON object such as "
                f'{{"{key}": ...}} (curl -d \'{{"{key}": true}}\'), or send key=value in a GET query '
                f"(GET /api?{key}=...)",
                field=key,
            ) from None
        raise


class C2Vocabulary:
    """The C2 WebSocket: C2 names, answers and refusals as notifications (see roto_shared.messages)."""

    in_band_login = False

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def state(self, session: ClientSession, values: dict[str, Any]) -> dict[str, Any]:
        return self.store.readable_subset(values, session.role) if session.role else {}

    def notification(self, notice: Notice) -> dict[str, Any]:
        return Notification(notice.variable, notice.level, notice.message).to_message()

    def refusal(self, title: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
        text = f"{title}: {message}" if message else title
        if "retry_after" in fields:
            text += f" (at most {fields['limit']} messages a {fields['period']}; retry in {fields['retry_after']} s)"
        return Notification(fields.get("key"), "error", text).to_message()

    def answer(self, session: ClientSession, doc: dict[str, Any]) -> list[dict[str, Any]]:
        assert session.who is not None  # the C2 socket has no in-band login: the gate let it in with a role
        try:
            ops = ops_from_object(doc)
        except BadRequest as exc:
            return [self.refusal(messages.INVALID_VALUE, f"message ignored: {exc}", key=exc.field)]
        result = self.store.apply(ops, session.who.role)
        asked = {op.name for op in ops if isinstance(op, Get)}
        session.answer_later({k: v for k, v in result.values.items() if k in asked})
        session.tell(result.notices)  # after the answer, in order, by the send loop
        return []
