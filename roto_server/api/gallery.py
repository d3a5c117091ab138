"""Backup gallery over HTTP: backup files with their tags, tag management, downloads, storages.

Files and tags are named by the recording library's opaque ids (``<storage uuid>.<kind>.<ref>``),
the same ids /api/recordings uses; listing and downloading go through the library only.
"""

from __future__ import annotations

import re
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from roto_server.api.access import principal
from roto_server.api.downloads import send_file
from roto_server.api.errors import ApiError
from roto_server.device.store import Refused, Set
from roto_server.recording.library import Entry, RecordingLibrary
from roto_shared.catalogue import ROLE_RANK
from roto_shared.json_input import JsonInputError, decode_json
from roto_shared.validation import InvalidValue, coerce, parse_timestamp

# ASCII only: str.isdigit() also takes "²", which float() then refuses
_SECONDS = re.compile(r"[0-9]+(\.[0-9]*)?")


def _json_body(request: Request, empty: Any) -> Any:
    if not request.body:
        return empty
    try:
        return decode_json(request.body)
    except JsonInputError as exc:
        raise ApiError(400, f"body: {exc}", field=exc.field) from None


def _time_arg(request: Request, name: str) -> float | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        return parse_timestamp(name, float(text) if _SECONDS.fullmatch(text) else text)
    except InvalidValue as exc:
        raise ApiError(400, str(exc), field=name) from None


def install(app: Sanic) -> None:
    ctx = app.ctx

    def need(request: Request, role: str) -> None:
        who = principal(request, ctx.gate)
        if ROLE_RANK[who.role] < ROLE_RANK[role]:
            raise ApiError(403, f"this needs the {role} role")

    library: RecordingLibrary = ctx.device.library

    def tags_json(entry: Entry) -> list[dict[str, Any]]:
        return [{**tag.as_json(), "id": library.tag_id(entry, tag), "fileId": entry.id} for tag in entry.tags]

    def file_json(entry: Entry) -> dict[str, Any]:
        return {
            "id": entry.id,
            "name": entry.name,
            "start": entry.start,
            "end": entry.end,
            "duration": round(entry.duration, 3),
            "size": entry.size,
            "complete": entry.complete,
            "storage": {"uuid": entry.storage.uuid, "name": entry.storage.name},
            "tags": tags_json(entry),
        }

    @app.get("/api/backup/files")
    async def list_files(request: Request) -> HTTPResponse:
        need(request, "viewer")
        since, until = _time_arg(request, "from"), _time_arg(request, "to")
        tagged = request.args.get("tagged", "").lower() in ("1", "true", "yes")
        listing = await library.backup_files(since, until, tagged)
        files = sorted((file_json(e) for e in listing.entries), key=lambda f: f["start"])
        return json({"files": files, "problems": [p.as_json() for p in listing.problems]})

    @app.get("/api/backup/files/<file_id:str>")
    async def download(request: Request, file_id: str) -> None:
        need(request, "viewer")
        await send_file(request, library, file_id)

    @app.get("/api/backup/tags")
    async def list_tags(request: Request) -> HTTPResponse:
        need(request, "viewer")
        listing = await library.tags()
        tags = sorted((t for e in listing.entries for t in tags_json(e)), key=lambda t: t["creationTime"])
        return json({"tags": tags, "problems": [p.as_json() for p in listing.problems]})

    @app.post("/api/backup/tags")
    async def create_tag(request: Request) -> HTTPResponse:
        who = principal(request, ctx.gate)
        body = _json_body(request, {})
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object with creationTime, title and note (all optional)")
        try:  # bad input is the client's error (400), not a conflict with the device's state
            coerce(ctx.unit.store.catalogue["createTag"], body)
        except InvalidValue as exc:
            raise ApiError(400, str(exc), field=exc.field) from None
        result = ctx.unit.store.apply([Set("createTag", body)], who.role)
        if result.notices:
            raise ApiError(409 if "createTag" in result.values else 403, result.notices[0].message, field="createTag")
        return json(result.values["createTag"], status=201)

    @app.delete("/api/backup/tags/<tag_id:str>")
    async def remove_tag(request: Request, tag_id: str) -> HTTPResponse:
        need(request, "operator")
        if not await library.remove_tag(tag_id):
            raise ApiError(404, f"no tag {tag_id!r} on a connected storage")
        return json({"removed": tag_id})

    @app.get("/api/storages")
    async def list_storages(request: Request) -> HTTPResponse:
        need(request, "viewer")
        store = ctx.unit.store
        return json(
            {
                "diskStorages": store["diskStorages"],
                "netStorages": store["netStorages"],
                "recordingStorage": store["recordingStorage"],
                "backupStorage": store["backupStorage"],
            }
        )

    @app.post("/api/storages/net")
    async def add_net_storage(request: Request) -> HTTPResponse:
        need(request, "admin")
        body = _json_body(request, None)
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            raise ApiError(400, 'body must be {"path": "/mounted/folder", "name": "optional"}', field="path")
        try:
            storage = await ctx.device.storages.add_net(body["path"], body.get("name"))
        except Refused as exc:
            raise ApiError(400, str(exc), field="path") from None
        return json(ctx.unit.store["netStorages"].get(storage.uuid, {}), status=201)

    @app.delete("/api/storages/net/<uid:str>")
    async def remove_net_storage(request: Request, uid: str) -> HTTPResponse:
        need(request, "admin")
        try:
            await ctx.device.storages.remove_net(uid)
        except Refused as exc:
            raise ApiError(404, str(exc)) from None
        return json({"removed": uid})
