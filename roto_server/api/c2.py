"""The C2 API at /api: HTTP GET and POST, and the WebSocket on the same path."""

from __future__ import annotations

import json
import logging
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response
from sanic.server.websockets.impl import WebsocketImplProtocol

from roto_server.api.access import principal
from roto_server.api.c2_protocol import BadRequest, ops_from_object, ops_from_query, parse_body
from roto_server.api.hub import Subscriber, background
from roto_server.auth.credentials import AUTH_QUERY_KEYS
from roto_server.device.store import ApplyResult, Get, Notice, Op

log = logging.getLogger("roto.c2")
PATH = "/api"
MAX_NOTICE_HEADER = 20


def _respond(result: ApplyResult) -> HTTPResponse:
    headers = {}
    if result.notices:
        notes = [n.as_json() for n in result.notices[:MAX_NOTICE_HEADER]]
        headers["X-Roto-Notices"] = json.dumps(notes, ensure_ascii=True)
    return json_response(result.values, headers=headers, ensure_ascii=False)


def _is_upgrade(request: Request) -> bool:
    return request.headers.get("upgrade", "").lower() == "websocket"


def install(app: Sanic) -> None:
    ctx = app.ctx

    @app.on_request
    async def c2_gate(request: Request) -> HTTPResponse | None:
        # GET /api is both the HTTP API and the WebSocket handshake; Sanic routes only
        # one handler per method and path, so plain GETs are answered here.
        if request.path != PATH or request.method != "GET":
            return None
        who = principal(request, ctx.gate)  # refuses a WebSocket handshake with 401 too
        if _is_upgrade(request):
            return None
        pairs = request.get_query_args(keep_blank_values=True)
        if not any(k not in AUTH_QUERY_KEYS for k, _ in pairs):
            return json_response(ctx.unit.store.snapshot(who.role), ensure_ascii=False)
        return _respond(ctx.unit.store.apply(ops_from_query(pairs), who.role, text=True))

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
        who = principal(request, ctx.gate)
        async with ctx.hub.session(who.role) as (sub, snapshot):
            log.info("WebSocket client %s joined as %s (%d connected)", request.ip, who.name, len(ctx.hub))
            await ws.send(json.dumps(snapshot, ensure_ascii=False))
            async with background(_pump(ws, sub)):
                async for message in ws:
                    _handle_message(ctx, sub, who.role, message)
        log.info("WebSocket client %s left", request.ip)


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


def _handle_message(ctx: Any, sub: Subscriber, role: str, message: str | bytes | None) -> None:
    if message is None:
        return
    try:
        if isinstance(message, bytes):
            message = message.decode("utf-8")
        try:
            doc = json.loads(message)
        except ValueError as exc:
            raise BadRequest(f"not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise BadRequest("a message must be a JSON object of variables")
        ops = ops_from_object(doc)
    except (ValueError, BadRequest) as exc:
        sub.tell([Notice(getattr(exc, "field", None), f"message ignored: {exc}", "error")])
        return
    result = ctx.unit.store.apply(ops, role)
    asked = {op.name for op in ops if isinstance(op, Get)}
    answers = {k: v for k, v in result.values.items() if k in asked}
    if answers:
        sub.pending.update(answers)
        sub.wake.set()
    sub.tell(result.notices)


async def _pump(ws: WebsocketImplProtocol, sub: Subscriber) -> None:
    """Send queued notices and coalesced changes; only this client waits on its socket."""
    while True:
        notices, changes = await sub.next_batch()
        for notice in notices:
            await ws.send(json.dumps({"notification": notice.as_json()}, ensure_ascii=False))
        if changes:
            await ws.send(json.dumps(changes, ensure_ascii=False))
