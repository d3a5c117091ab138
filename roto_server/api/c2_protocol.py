"""The C2 /api request vocabulary, without any I/O.

GET: query pairs in order; ``get=[a,b]`` lists getters, any other known name is a
setter whose text is converted to the catalogue type. POST: a JSON object whose
``get`` member lists getters and whose other members are setters, in key order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from roto_server.auth.credentials import AUTH_QUERY_KEYS
from roto_server.device.store import Get, Op, Set
from roto_shared.json_input import JsonInputError, decode_json

MAX_BODY_BYTES = 1024 * 1024


class BadRequest(ValueError):
    """The request itself is malformed; nothing was applied."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def parse_get_list(text: str) -> list[str]:
    """'[light0, record]' or 'light0,record' -> ['light0', 'record']."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [name.strip().strip("\"'") for name in inner.split(",") if name.strip()]


def ops_from_query(pairs: Iterable[tuple[str, str]]) -> list[Op]:
    """Operations from URL query pairs, in the order they were written."""
    ops: list[Op] = []
    for key, value in pairs:
        if key in AUTH_QUERY_KEYS:
            continue
        if key == "get":
            ops.extend(Get(name) for name in parse_get_list(value))
        else:
            ops.append(Set(key, value))
    return ops


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a POST body (empty body = empty object)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        doc = decode_json(body)
    except JsonInputError as exc:
        raise BadRequest(f"body: {exc}", field=exc.field) from None
    if not isinstance(doc, dict):
        raise BadRequest(f"body must be a JSON object of variables, got {type(doc).__name__}")
    return doc


def ops_from_object(doc: dict[str, Any]) -> list[Op]:
    """Operations from a JSON object (POST body or WebSocket message), in key order."""
    ops: list[Op] = []
    for key, value in doc.items():
        if key == "get":
            if isinstance(value, str):
                value = parse_get_list(value)
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise BadRequest("get must be an array of variable names", field="get")
            ops.extend(Get(name) for name in value)
        else:
            ops.append(Set(key, value))
    return ops
