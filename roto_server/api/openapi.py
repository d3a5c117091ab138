"""The OpenAPI 3 document of every HTTP endpoint, served at /api/openapi.json.

Schemas of the state come from the catalogue, those of v1 settings from the v1 mapping,
so the document cannot drift from what the server does.
"""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from roto_server import __version__
from roto_server.api.v1_mapping import V1_KEYS
from roto_shared.catalogue import Catalogue, Variable, load_catalogue

JSON_TYPES = {
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "string": "string",
    "object": "object",
    "array": "array",
}
SECURED: list[dict[str, list[str]]] = [{"basic": []}, {"digest": []}, {"bearer": []}, {"cookie": []}, {"token": []}]


def _value_schema(var: Variable) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": JSON_TYPES[var.type], "description": var.description}
    if var.options is not None:
        schema["enum"] = list(var.options)
    elif var.type in ("integer", "number") and var.min is not None:
        schema.update(minimum=var.min, maximum=var.max)
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


HEALTH_CHECK = {
    "type": "object",
    "required": ["ok", "message"],
    "properties": {"ok": {"type": "boolean"}, "message": {"type": "string"}},
}
HEALTH = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["healthy", "degraded"]},
        "checks": {
            "type": "object",
            "required": ["camera", "storage", "network", "files"],
            "additionalProperties": HEALTH_CHECK,
        },
    },
}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return _json(
        {
            "type": "object",
            "required": ["status", "data", "timestamp"],
            "properties": {
                "status": {"type": "string", "enum": ["success"]},
                "data": data,
                "timestamp": {"type": "integer"},
            },
        }
    )


ERRORS = {
    code: _json(_ref("Error"), text)
    for code, text in (
        ("400", "Bad request: which field, and why"),
        ("401", "Credentials missing or wrong"),
        ("403", "Not allowed for this user"),
        ("404", "Not found"),
        ("409", "Refused by the device"),
        ("416", "Range not satisfiable"),
        ("429", "Rate limited (see Retry-After)"),
        ("503", "Not available now"),
        ("405", "Method not supported here (see Allow)"),
        ("415", "Wrong Content-Type"),
    )
}
BINARY = {"type": "string", "format": "binary"}


def _op(
    summary: str, responses: dict[str, Any], *, public: bool = False, errors: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**responses, **{c: ERRORS[c] for c in errors}}}
    if not public:
        op["security"] = SECURED
        op["responses"].setdefault("401", ERRORS["401"])
    op["responses"].setdefault("429", ERRORS["429"])
    op.update(extra)
    return op


SDP_BODY = {"required": True, "content": {"application/sdp": {"schema": {"type": "string"}}}}
WEBRTC_STREAM = {"name": "stream", "in": "path", "required": True, "schema": {"enum": ["stream1", "stream2"]}}
WEBRTC_PATHS: dict[str, Any] = {
    "/api/webrtc/offer": {
        "get": _op(
            "The unit's WebRTC offer (H.264, VP8 fallback); answer it within 30 s",
            {"200": _json({"type": "object", "required": ["type", "sdp", "id"]})},
            errors=("404", "503"),
            parameters=[{"name": "stream", "in": "query", "schema": {"enum": ["stream1", "stream2"]}}],
        )
    },
    "/api/webrtc/answer": {
        "post": _op(
            "Complete an offer with the browser's answer (id optional with one pending offer)",
            {"200": _json({"type": "object"})},
            errors=("400", "404"),
            requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        )
    },
    "/api/whep/{stream}": {
        "post": _op(
            "WHEP: an SDP offer in, the SDP answer out, the session's URL in Location",
            {"201": {"description": "the SDP answer", "content": {"application/sdp": {"schema": {"type": "string"}}}}},
            errors=("400", "404", "415", "503"),
            parameters=[WEBRTC_STREAM],
            requestBody=SDP_BODY,
        )
    },
    "/api/whep/{stream}/{id}": {
        "delete": _op(
            "WHEP: end the session",
            {"200": {"description": "ended"}},
            errors=("404",),
            parameters=[WEBRTC_STREAM, {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
        "patch": _op(
            "WHEP trickle: not supported, the answer holds every candidate",
            {},
            errors=("405",),
            parameters=[WEBRTC_STREAM, {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
    },
}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def build(catalogue: Catalogue | None = None) -> dict[str, Any]:
    catalogue = catalogue or load_catalogue()
    readable = {v.name: _value_schema(v) for v in catalogue.values() if v.readable}
    # a write answer also echoes write-only triggers: false / null when refused
    echoed = {v.name: {**_value_schema(v), "nullable": True} for v in catalogue.values() if not v.readable}
    writable = {v.name: {"description": v.description} for v in catalogue.values() if v.writable}
    v1_settings = {k.key: {"description": f"{k.variable}: {k.allowed}"} for k in V1_KEYS if k.readable}
    jpeg = {"description": "JPEG picture", "content": {"image/jpeg": {"schema": BINARY}}}
    width = {
        "name": "width",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 16, "maximum": 8192},
    }
    listing = {"type": "object"}
    paths: dict[str, Any] = {
        "/api": {
            "get": _op(
                "C2: read the state, or get/set variables in query order",
                {"200": _json(_ref("C2State"))},
                errors=("400",),
                parameters=[
                    {
                        "name": "get",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "variables to read, e.g. [light0,record]",
                    },
                    {
                        "name": "variables",
                        "in": "query",
                        "required": False,
                        "style": "form",
                        "explode": True,
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                        "description": "variable=value setters, converted to the catalogue types",
                    },
                ],
            ),
            "post": _op(
                "C2: getters and setters in key order (JSON body)",
                {"200": _json(_ref("C2State"))},
                errors=("400",),
                requestBody={"required": False, "content": {"application/json": {"schema": _ref("C2Request")}}},
            ),
        },
        "/camera.jpeg": {"get": _op("Current frame", {"200": jpeg}, errors=("400", "503"), parameters=[width])},
        "/camera.mjpeg": {
            "get": _op(
                "MJPEG stream (multipart/x-mixed-replace)",
                {
                    "200": {
                        "description": "an endless series of JPEG parts",
                        "content": {"multipart/x-mixed-replace": {"schema": BINARY}},
                    }
                },
                errors=("400", "503"),
                parameters=[width],
            )
        },
        "/api/info": {"get": _op("System information (public)", {"200": _envelope({"type": "object"})}, public=True)},
        "/api/openapi.json": {"get": _op("This document (public)", {"200": _json({"type": "object"})}, public=True)},
        "/api/status": {"get": _op("Current status", {"200": _envelope({"type": "object"})})},
        "/api/health": {"get": _op("Health checks for monitors (public)", {"200": _json(HEALTH)}, public=True)},
        "/api/camera/status": {"get": _op("Camera heads", {"200": _envelope({"type": "object"})})},
        "/api/streams": {"get": _op("Stream URLs", {"200": _envelope({"type": "array"})})},
        **WEBRTC_PATHS,
        "/api/recording/start": {
            "post": _op("Start manual recording", {"200": _envelope({"type": "object"})}, errors=("403", "409"))
        },
        "/api/recording/stop": {
            "post": _op("Stop manual recording", {"200": _envelope({"type": "object"})}, errors=("403", "409"))
        },
        "/api/recordings": {
            "get": _op(
                "Recordings and backup files, newest first",
                {"200": _envelope(listing)},
                errors=("400",),
                parameters=[
                    {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                    {
                        "name": "per_page",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                ],
            )
        },
        "/api/recordings/{id}": {
            "get": _op(
                "Download a recording (Range supported)",
                {
                    "200": {"description": "the file", "content": {"video/x-matroska": {"schema": BINARY}}},
                    "206": {"description": "part of the file", "content": {"video/x-matroska": {"schema": BINARY}}},
                },
                errors=("404", "416"),
                parameters=[_path_param("id")],
            )
        },
        "/api/snapshot": {"get": _op("Current frame", {"200": jpeg}, errors=("503",))},
        "/api/settings": {
            "get": _op("Settings in v1 keys and units", {"200": _envelope(_ref("V1Settings"))}),
            "post": _op(
                "Change settings (v1 keys)",
                {"200": _envelope({"type": "object"})},
                errors=("400", "403"),
                requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            ),
        },
        "/api/settings/{name}": {
            "post": _op(
                "Change one setting; the body is the plain value",
                {"200": _envelope({"type": "object"})},
                errors=("400", "403", "404"),
                parameters=[_path_param("name")],
                requestBody={"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}},
            )
        },
        "/api/login": {
            "post": _op(
                "Log in: a bearer token and a session cookie",
                {
                    "200": _envelope(
                        {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}
                    )
                },
                public=True,
                errors=("400", "401"),
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                            }
                        }
                    },
                },
            )
        },
        "/api/logout": {
            "post": _op("End the session", {"200": _envelope({"type": "object"})}, public=True, errors=("401",))
        },
        "/api/users/{name}/permissions": {
            "get": _op(
                "What a user may read and write",
                {"200": _envelope({"type": "object"})},
                errors=("403", "404"),
                parameters=[_path_param("name")],
            )
        },
        "/api/backup/files": {
            "get": _op(
                "Visual Backup files with tags",
                {"200": _json({"type": "object", "required": ["files"], "properties": {"files": {"type": "array"}}})},
                errors=("400",),
                parameters=[
                    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                    for n in ("from", "to", "tagged")
                ],
            )
        },
        "/api/backup/files/{id}": {
            "get": _op(
                "Download a backup file (Range supported)",
                {
                    "200": {"description": "the file", "content": {"video/x-matroska": {"schema": BINARY}}},
                    "206": {"description": "part of the file", "content": {"video/x-matroska": {"schema": BINARY}}},
                },
                errors=("404", "416"),
                parameters=[_path_param("id")],
            )
        },
        "/api/backup/tags": {
            "get": _op("Every tag", {"200": _json({"type": "object", "properties": {"tags": {"type": "array"}}})}),
            "post": _op(
                "Create a tag",
                {"201": _json({"type": "object"})},
                errors=("400", "403", "409"),
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "title": {"type": "string"},
                                    "note": {"type": "string"},
                                    "creationTime": {},
                                },
                            }
                        }
                    },
                },
            ),
        },
        "/api/backup/tags/{id}": {
            "delete": _op(
                "Remove a tag",
                {"200": _json({"type": "object"})},
                errors=("403", "404"),
                parameters=[_path_param("id")],
            )
        },
        "/api/storages": {"get": _op("Storages and selections", {"200": _json({"type": "object"})})},
        "/api/storages/net": {
            "post": _op(
                "Add a network storage (admin)",
                {"201": _json({"type": "object"})},
                errors=("400", "403"),
                requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            )
        },
        "/api/storages/net/{uuid}": {
            "delete": _op(
                "Remove a network storage (admin)",
                {"200": _json({"type": "object"})},
                errors=("403", "404"),
                parameters=[_path_param("uuid")],
            )
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "roto control unit",
            "version": __version__,
            "description": "C2 API (/api, /camera.*), backup gallery, and the v1 REST API over one state.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "digest": {"type": "http", "scheme": "digest"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "roto_session"},
                "token": {"type": "apiKey", "in": "query", "name": "token"},
            },
            "schemas": {
                "C2State": {"type": "object", "properties": {**readable, **echoed}, "additionalProperties": False},
                "C2Request": {
                    "type": "object",
                    "properties": {"get": {"type": "array", "items": {"type": "string"}}, **writable},
                },
                "V1Settings": {"type": "object", "properties": v1_settings, "additionalProperties": False},
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
                },
            },
        },
    }


def install(app: Sanic) -> None:
    document = build()

    @app.get("/api/openapi.json")
    async def openapi(request: Request) -> HTTPResponse:
        return json(document)
