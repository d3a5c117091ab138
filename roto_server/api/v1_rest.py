"""REST API v1 ("C Pro" vocabulary): info, status, recording, recordings, snapshot, settings, login.

Answers use the envelope {"status": "success", "data": ..., "timestamp": ms}; errors are
the one JSON error shape with the spec's codes (400, 401, 403, 404, 429).
"""

from __future__ import annotations

import time
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw
from sanic.response import json as json_response

from roto_server import __version__
from roto_server.api import v1_ops
from roto_server.api.access import attempt_of, principal, refusal
from roto_server.api.downloads import send_file
from roto_server.api.errors import ApiError
from roto_server.api.v1_mapping import BY_KEY
from roto_server.api.v1_socket import PERMISSIONS
from roto_server.api.webrtc import stream_entries as webrtc_streams
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import SESSION_COOKIE, TooManyFailures, Unauthorized
from roto_server.device.store import Set
from roto_server.recording.library import Entry
from roto_shared.catalogue import ROLE_RANK
from roto_shared.json_input import JsonInputError, decode_json

API_VERSION = "v1"
PER_PAGE_MAX = 200


def envelope(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, top: dict[str, Any] | None = None
) -> HTTPResponse:
    """The spec's success envelope; ``top`` adds fields beside it (discovery answers)."""
    body = {"status": "success", "data": data, "timestamp": int(time.time() * 1000), **(top or {})}
    return json_response(body, status=status, headers=headers, ensure_ascii=False)


def _need(who: Principal, role: str) -> None:
    if ROLE_RANK[who.role] < ROLE_RANK[role]:
        raise ApiError(403, f"this needs the {role} role; {who.name} has {who.role}")


def _whole_arg(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query argument in [lo, hi]; the error names the argument at fault."""
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:
        raise ApiError(400, f"{name} must be a whole number from {lo} to {hi}, got {text[:20]!r}", field=name)
    return int(text)


def install(app: Sanic) -> None:
    ctx = app.ctx

    def store() -> Any:
        return ctx.unit.store

    @app.get("/api/info")
    async def info(request: Request) -> HTTPResponse:
        s = store()
        return envelope(
            {
                "name": "roto",
                "model": "roto control unit (simulated heads)",
                "version": __version__,
                "apiVersion": API_VERSION,
                "hostname": s["hostname"],
                "capabilities": {
                    "heads": int(s["cam0Exists"]) + int(s["cam1Exists"]),
                    "apis": ["c2-http", "c2-websocket", "rest-v1", "websocket-v1", "onvif"],
                    "streams": ["mjpeg", "jpeg", "rtsp", *(["webrtc"] if hasattr(ctx, "webrtc") else [])],
                    "recording": True,
                    "visualBackup": True,
                    "auth": ["basic", "digest", "bearer", "cookie", "query-token"],
                    "rtsp": True,
                    "webrtc": hasattr(ctx, "webrtc"),
                    # the ONVIF services are always installed (api/onvif.py); a client that reads False skips them
                    "onvif": True,
                },
            },
            # discovery clients (the reference's own test suite among them) read the version at the top
            top={"version": __version__, "apiVersion": API_VERSION},
        )

    @app.get("/api/status")
    async def status(request: Request) -> HTTPResponse:
        principal(request, ctx.gate)
        s = store()
        return envelope(
            {
                "recording": s["record"] in ("start", "pause"),
                "record": s["record"],
                "recordTime": s["recordTime"],
                "visualBackup": s["backupActive"],
                "backupRemaining": s["backupRemainingCapacity"],
                "time": s["seconds"],
                "timezone": s["timezone"],
                "fpgaTemperature": s["fpgaTemp"],
                "storage": {k: s[k].get("name") for k in ("recordingStorage", "backupStorage")},
            }
        )

    @app.get("/api/camera/status")
    async def camera_status(request: Request) -> HTTPResponse:
        principal(request, ctx.gate)
        s = store()
        heads = []
        for i in (0, 1):
            heads.append(
                {
                    "camera": i + 1,
                    "exists": s[f"cam{i}Exists"],
                    "light": s[f"light{i}"],
                    "sensor": s[f"cam{i}SelectedSensor"] + 1,
                    "temperature": s[f"oct{i}"],
                    "rotation": s[f"dictRotation{i}"],
                    "rpm": s[f"RPM{i}"],
                    "rpmSetpoint": s[f"rpm{i}"],
                    "sealingAir": s[f"psi{i}"],
                    "sealingAirSetpoint": s["psiSetpoint"],
                    "version": s[f"ver{i}"],
                }
            )
        return envelope({"mainCamera": 2 if s["cameraSwitch"] else 1, "cameras": heads})

    @app.get("/api/streams")
    async def streams(request: Request) -> HTTPResponse:
        principal(request, ctx.gate)
        s = store()
        base = f"{request.scheme}://{request.host}"
        return envelope(
            [
                {
                    "name": "mjpeg",
                    "url": f"{base}/camera.mjpeg",
                    "type": "multipart/x-mixed-replace",
                    "resolution": s["recordingResolution"],
                    "fps": s["recordingFps"],
                    "open": s["mjpgStreamIsOpen"],
                    "preview": f"{base}/camera.mjpeg?width=320",
                },
                {"name": "jpeg", "url": f"{base}/camera.jpeg", "type": "image/jpeg"},
                *_rtsp_streams(s, request.host),
                *webrtc_streams(base, getattr(ctx, "webrtc", None)),
            ]
        )

    async def record(request: Request, command: str) -> HTTPResponse:
        who = principal(request, ctx.gate)
        _need(who, "operator")
        result = store().apply([Set("record", command)], who.role)
        refused = [n.message for n in result.notices if n.level != "info"]
        if refused:
            raise ApiError(409, refused[0], field="record")
        return envelope({"record": result.values["record"]})

    @app.post("/api/recording/start")
    async def recording_start(request: Request) -> HTTPResponse:
        return await record(request, "start")

    @app.post("/api/recording/stop")
    async def recording_stop(request: Request) -> HTTPResponse:
        return await record(request, "stop")

    def recording_json(entry: Entry) -> dict[str, Any]:
        item = {
            "id": entry.id,
            "type": entry.kind,
            "name": entry.name,
            "size": entry.size,
            "created": entry.start,
            "storage": entry.storage.name,
        }
        return item if entry.kind == "recording" else {**item, "duration": round(entry.duration, 3)}

    @app.get("/api/recordings")
    async def recordings(request: Request) -> HTTPResponse:
        principal(request, ctx.gate)
        page = _whole_arg(request, "page", 1, 1, 10**9)
        per_page = _whole_arg(request, "per_page", 50, 1, PER_PAGE_MAX)
        listing = await ctx.device.library.everything()
        chunk = [recording_json(e) for e in listing.entries[(page - 1) * per_page : page * per_page]]
        return envelope(
            {
                "recordings": chunk,
                "page": page,
                "per_page": per_page,
                "total": len(listing.entries),
                "problems": [p.as_json() for p in listing.problems],
            }
        )

    @app.get("/api/recordings/<rec_id:str>")
    async def recording(request: Request, rec_id: str) -> None:
        principal(request, ctx.gate)
        await send_file(request, ctx.device.library, rec_id)

    @app.get("/api/snapshot")
    async def snapshot(request: Request) -> HTTPResponse:
        principal(request, ctx.gate)
        frame = await ctx.camera.stream.snapshot()
        return raw(frame.jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    @app.get("/api/settings")
    async def settings(request: Request) -> HTTPResponse:
        who = principal(request, ctx.gate)
        return envelope(v1_ops.read(store(), who.role))

    def apply_settings(who: Principal, values: dict[str, Any]) -> HTTPResponse:
        result = v1_ops.write(store(), who.role, values)
        if result.errors:  # all or nothing: nothing was applied
            first = result.errors[0]
            status = 403 if first["error"] == "Permission denied" else 400
            raise ApiError(
                status,
                f"{first['key']}: {first['message']}",
                field=first["key"],
                extra={"applied": {}, "errors": result.errors},
            )
        notices = {"notices": result.notices} if result.notices else {}
        return envelope({**result.values, "info": result.changed, **notices})

    @app.post("/api/settings")
    async def set_settings(request: Request) -> HTTPResponse:
        who = principal(request, ctx.gate)
        try:
            body = decode_json(request.body or b"{}")
        except JsonInputError as exc:
            raise ApiError(400, f"body must be a JSON object of v1 settings: {exc}", field=exc.field) from None
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object of v1 settings")
        return apply_settings(who, body)

    @app.post("/api/settings/<name:str>")
    async def set_one(request: Request, name: str) -> HTTPResponse:
        who = principal(request, ctx.gate)
        if name not in BY_KEY:
            raise ApiError(404, f"no setting {name!r}", field=name)
        text = request.body.decode("utf-8", "replace").strip()
        try:
            value = decode_json(text)
        except JsonInputError as exc:
            if text[:1] in ("[", "{", '"'):  # meant as JSON, but not usable
                raise ApiError(400, f"{name}: {exc}", field=name) from None
            value = text  # plain text such as 1920x1080
        return apply_settings(who, {name: value})

    @app.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        try:
            body = decode_json(request.body or b"{}")
        except JsonInputError:
            body = None
        fields = body if isinstance(body, dict) else {}
        missing = next((k for k in ("username", "password") if not isinstance(fields.get(k), str)), None)
        if missing is not None:  # named: the first field that is absent or not a string
            raise ApiError(400, 'body must be {"username": "...", "password": "..."}', field=missing)
        now = time.time()
        try:
            who = ctx.gate.login(attempt_of(request), body["username"], body["password"], now)
        except (Unauthorized, TooManyFailures) as exc:
            raise refusal(exc, request) from None
        session = ctx.gate.sessions.issue(who.name, who.role, now)
        response = envelope(
            {
                "token": session.token,
                "tokenType": "Bearer",
                "user": who.name,
                "role": who.role,
                "expires": int(session.expires * 1000),
            },
            top={"token": session.token},  # the spec's own `jq -r .token` reads it at the top level
        )
        response.add_cookie(
            SESSION_COOKIE,
            session.token,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=int(ctx.gate.sessions.lifetime),
            secure=request.scheme == "https",  # a cookie issued over TLS never travels in clear text
        )
        return response

    @app.post("/api/logout")
    async def logout(request: Request) -> HTTPResponse:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE)
        if not token or not ctx.gate.sessions.revoke(token):
            raise ApiError(401, "no session to end: send the bearer token or the session cookie")
        response = envelope({"loggedOut": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/api/users/<name:str>/permissions")
    async def permissions(request: Request, name: str) -> HTTPResponse:
        who = principal(request, ctx.gate)
        if name != who.name:
            _need(who, "admin")
        role = {"anonymous": "viewer"}.get(name) or (ctx.gate.users.role_of(name))
        if role is None:
            raise ApiError(404, f"no user {name!r}")
        catalogue = store().catalogue
        return envelope(
            {
                "user": name,
                "role": role,
                "permissions": PERMISSIONS[role],
                "read": [v.name for v in catalogue.values() if v.may_read(role)],
                "write": [v.name for v in catalogue.values() if v.may_write(role)],
            }
        )


def _rtsp_streams(s: Any, http_host: str) -> list[dict[str, Any]]:
    """The RTSP URLs on the host name the client used for HTTP, while the RTSP listener serves."""
    status = s["rtspStatus"]
    if not status.get("running"):
        return []
    host = http_host.rsplit(":", 1)[0] if not http_host.endswith("]") else http_host
    base = f"rtsp://{host}:{status['port']}"
    main = {"resolution": s["recordingResolution"], "fps": s["recordingFps"]}
    return [
        {"name": "rtsp-stream1", "url": f"{base}/stream1", "type": "video/H264", **main},
        {"name": "rtsp-stream2", "url": f"{base}/stream2", "type": "video/H264", "resolution": "640x360"},
        {"name": "rtsp-recording", "url": f"{base}/recording", "type": "video/JPEG"},
    ]
