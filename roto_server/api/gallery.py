"""Backup gallery over HTTP: backup files with their tags, tag management, downloads, storages.

Files and tags are named by opaque ids ``<storage uuid>.<number>``; a download looks the
file name up in the storage's index, so no client-supplied text ever becomes a path.
"""

from __future__ import annotations

import os
from typing import Any

from sanic import Request, Sanic
from sanic.handlers import ContentRangeHandler
from sanic.response import HTTPResponse, ResponseStream, file_stream, json

from roto_server.api.access import principal
from roto_server.api.errors import ApiError
from roto_server.device.storage import Storage
from roto_server.device.store import Refused, Set
from roto_server.recording.index import FileRow
from roto_shared.catalogue import ROLE_RANK
from roto_shared.json_input import JsonInputError, decode_json
from roto_shared.validation import InvalidValue, coerce, parse_timestamp

MKV = "video/x-matroska"


def _split_id(text: str, what: str) -> tuple[str, int]:
    uid, _, number = text.rpartition(".")
    if not uid or not number.isdigit():
        raise ApiError(404, f"no {what} {text!r}")
    return uid, int(number)


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
        return parse_timestamp(name, float(text) if text.isascii() and text.replace(".", "", 1).isdigit() else text)
    except InvalidValue as exc:
        raise ApiError(400, str(exc), field=name) from None


def install(app: Sanic) -> None:
    ctx = app.ctx

    def need(request: Request, role: str) -> None:
        who = principal(request, ctx.gate)
        if ROLE_RANK[who.role] < ROLE_RANK[role]:
            raise ApiError(403, f"this needs the {role} role")

    def storage_of(uid: str, what: str) -> Storage:
        storage = ctx.device.storages.storages.get(uid)
        if storage is None:
            raise ApiError(404, f"no {what} on a connected storage {uid!r}")
        return storage

    def file_json(storage: Storage, row: FileRow, tags: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"{storage.uuid}.{row.id}",
            "name": row.name,
            "start": row.start,
            "end": row.end,
            "duration": round(row.duration, 3),
            "size": row.size,
            "complete": row.complete,
            "storage": {"uuid": storage.uuid, "name": storage.name},
            "tags": tags,
        }

    @app.get("/api/backup/files")
    async def list_files(request: Request) -> HTTPResponse:
        need(request, "viewer")
        since, until = _time_arg(request, "from"), _time_arg(request, "to")
        tagged = request.args.get("tagged", "").lower() in ("1", "true", "yes")
        out = []
        for storage in ctx.device.storages.storages.values():
            index = ctx.device.backup.index_for(storage, create=False)
            if index is None:
                continue
            tags_by_file: dict[int, list[dict[str, Any]]] = {}
            for tag in index.tags():
                tags_by_file.setdefault(tag.file_id, []).append({**tag.as_json(), "id": f"{storage.uuid}.{tag.id}"})
            for row in index.files(since, until, tagged):
                out.append(file_json(storage, row, tags_by_file.get(row.id, [])))
        out.sort(key=lambda f: f["start"])
        return json({"files": out})

    @app.get("/api/backup/files/<file_id:str>")
    async def download(request: Request, file_id: str) -> HTTPResponse | ResponseStream:
        need(request, "viewer")
        uid, number = _split_id(file_id, "backup file")
        storage = storage_of(uid, "backup file")
        index = ctx.device.backup.index_for(storage, create=False)
        row = index.file(number) if index is not None else None
        if row is None:
            raise ApiError(404, f"no backup file {file_id!r}")
        folder = storage.path / "roto" / "backup"
        path = folder / row.name
        if os.sep in row.name or path.resolve().parent != folder.resolve() or not path.is_file():
            raise ApiError(404, f"backup file {file_id!r} is not on the storage any more")
        span = ContentRangeHandler(request, path.stat()) if "range" in request.headers else None
        return await file_stream(
            path, mime_type=MKV, filename=row.name, _range=span, headers={"Accept-Ranges": "bytes"}
        )

    @app.get("/api/backup/tags")
    async def list_tags(request: Request) -> HTTPResponse:
        need(request, "viewer")
        out = []
        for storage in ctx.device.storages.storages.values():
            for tag in ctx.device.backup.tags(storage):
                out.append(
                    {**tag.as_json(), "id": f"{storage.uuid}.{tag.id}", "fileId": f"{storage.uuid}.{tag.file_id}"}
                )
        return json({"tags": out})

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
        uid, number = _split_id(tag_id, "tag")
        if not ctx.device.backup.remove_tag(storage_of(uid, "tag"), number):
            raise ApiError(404, f"no tag {tag_id!r}")
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
            storage = ctx.device.storages.add_net(body["path"], body.get("name"))
        except Refused as exc:
            raise ApiError(400, str(exc), field="path") from None
        return json(storage.describe(), status=201)

    @app.delete("/api/storages/net/<uid:str>")
    async def remove_net_storage(request: Request, uid: str) -> HTTPResponse:
        need(request, "admin")
        try:
            ctx.device.storages.remove_net(uid)
        except Refused as exc:
            raise ApiError(404, str(exc)) from None
        return json({"removed": uid})
