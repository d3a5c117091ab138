"""WebRTC over HTTP: the seed's offer/answer pair (/api/webrtc/...) and WHEP (/api/whep/<stream>).

Thin glue over roto_server.webrtc.peers.WebRtcService, which the app owns and closes when it stops.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, raw

from roto_server.api.access import principal
from roto_server.api.errors import ApiError
from roto_server.auth.gate import Gate
from roto_server.webrtc.peers import STREAMS, BadDescription, UnknownPeer, ViewerLimit, WebRtcService, use_loopback_only
from roto_shared.json_input import JsonInputError, decode_json

# for tests only: gather ICE candidates on 127.0.0.1 (aioice skips loopback), so a client on the same host connects
LOOPBACK_ENV = "ROTO_WEBRTC_LOOPBACK"
SDP = "application/sdp"


def stream_entries(base: str, service: WebRtcService | None) -> list[dict[str, Any]]:
    """The WebRTC entries of GET /api/streams (none on a bare app without the service)."""
    if service is None:
        return []
    offer = {"name": "webrtc", "url": f"{base}/api/webrtc/offer", "answer": f"{base}/api/webrtc/answer"}
    limits = {"viewers": service.viewers, "maxViewers": service.max_viewers}
    return [
        {**offer, "type": "webrtc/offer-answer", "codecs": ["H264", "VP8"], **limits},
        *({"name": f"whep-{s}", "url": f"{base}/api/whep/{s}", "type": "webrtc/whep"} for s in STREAMS),
    ]


def client_of(request: Request, gate: Gate) -> str:
    """Who a request comes from, for matching an answer or DELETE to its offer: login session or user, and address."""
    who = principal(request, gate)
    return f"{who.session or who.name}@{request.ip or 'unknown'}"


def answer_body(raw_body: bytes) -> object:
    """The answer's JSON whatever the Content-Type: the seed's browser code posts JSON.stringify(answer) without
    one, which fetch() sends as text/plain."""
    try:
        return decode_json(raw_body)
    except JsonInputError:
        return None


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, ViewerLimit):
        return ApiError(503, str(exc), headers={"Retry-After": "5"})
    if isinstance(exc, UnknownPeer):
        return ApiError(404, str(exc), field="id")
    return ApiError(400, str(exc), field="sdp")


def _stream(name: str) -> str:
    if name not in STREAMS:
        raise ApiError(404, f"no WebRTC stream {name!r}; there are {', '.join(STREAMS)}", field="stream")
    return name


def install(app: Sanic, max_viewers: int = 10, ice_servers: Sequence[str] = ()) -> None:
    if os.environ.get(LOOPBACK_ENV) == "1":
        use_loopback_only()
    ctx = app.ctx
    stream = ctx.camera.stream
    service = ctx.webrtc = WebRtcService(stream.encoded, max_viewers, ice_servers, want_keyframe=stream.want_keyframe)

    @app.before_server_stop
    async def _close_peers(app: Sanic) -> None:
        await service.close()

    @app.get("/api/webrtc/offer")
    async def offer(request: Request) -> HTTPResponse:
        client = client_of(request, ctx.gate)
        stream = _stream(request.args.get("stream", "stream1"))
        try:
            peer, sdp = await service.offer(client, stream)
        except ViewerLimit as exc:
            raise _refused(exc) from exc
        return json({"type": "offer", "sdp": sdp, "id": peer.id})

    @app.post("/api/webrtc/answer")
    async def answer(request: Request) -> HTTPResponse:
        client = client_of(request, ctx.gate)
        body = answer_body(request.body)
        if not isinstance(body, dict):
            raise ApiError(400, 'the body must be a JSON object {"type": "answer", "sdp": ..., "id": ...}')
        if body.get("type") != "answer":
            raise ApiError(400, 'type must be "answer"', field="type")
        sdp, peer_id = body.get("sdp"), body.get("id")
        if not isinstance(sdp, str) or "m=video" not in sdp:
            raise ApiError(400, "sdp must be the SDP text of the answer, with a video section", field="sdp")
        if peer_id is not None and not isinstance(peer_id, str):
            raise ApiError(400, "id must be the string the offer carried, or left out", field="id")
        try:
            peer = await service.answer(client, sdp, peer_id)
        except (UnknownPeer, BadDescription) as exc:
            raise _refused(exc) from exc
        return json({"id": peer.id, "stream": peer.stream, "status": "answered"})

    @app.post("/api/whep/<name:str>")
    async def whep(request: Request, name: str) -> HTTPResponse:
        client = client_of(request, ctx.gate)
        stream = _stream(name)
        if request.content_type.split(";")[0].strip().lower() != SDP:
            raise ApiError(415, f"a WHEP offer is sent as {SDP}", field="Content-Type")
        try:
            peer, sdp = await service.whep(client, stream, request.body.decode("utf-8", "replace"))
        except (ViewerLimit, BadDescription) as exc:
            raise _refused(exc) from exc
        return raw(
            sdp.encode(),
            status=201,
            content_type=SDP,
            headers={"Location": f"/api/whep/{stream}/{peer.id}", "Cache-Control": "no-store"},
        )

    @app.delete("/api/whep/<name:str>/<peer_id:str>")
    async def whep_end(request: Request, name: str, peer_id: str) -> HTTPResponse:
        client = client_of(request, ctx.gate)
        try:
            peer = service.owned(client, peer_id)
        except UnknownPeer as exc:
            raise _refused(exc) from exc
        await service.end(peer.id)
        return HTTPResponse(status=200)

    @app.patch("/api/whep/<name:str>/<peer_id:str>")
    async def whep_trickle(request: Request, name: str, peer_id: str) -> HTTPResponse:
        principal(request, ctx.gate)
        # the answer already holds every candidate aiortc gathered; it takes no trickled ones
        raise ApiError(
            405, "ICE trickle is not supported: the SDP answer carries all candidates", headers={"Allow": "DELETE"}
        )
