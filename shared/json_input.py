"""Decoding JSON that a client sent: the one place every entry point turns text into values.

``json.loads`` alone is not safe for client input: deep nesting raises RecursionError
(here, or later in whatever walks the result), and ``\\ud800`` escapes give strings that
cannot be encoded back into a response or a database. This helper refuses both with a
message naming where the problem is, as a ValueError the callers already turn into a 4xx.
"""

from __future__ import annotations

import json
from typing import Any

# The catalogue's deepest value is an object of scalars; 32 leaves room for any real client.
MAX_DEPTH = 32


class JsonInputError(ValueError):
    """Client JSON that cannot be used; ``field`` names the member at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def decode_json(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse client JSON, refusing invalid UTF-8, deep nesting and lone surrogates."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"not valid UTF-8 at byte {exc.start}") from None
    try:
        doc = json.loads(data)
    except RecursionError:
        raise JsonInputError(f"nested too deeply; at most {max_depth} levels are allowed") from None
    except ValueError as exc:
        raise JsonInputError(f"not valid JSON ({exc})") from None
    _check_tree(doc, max_depth)
    return doc


def has_lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(doc: Any, max_depth: int) -> None:
    """Walk the document without recursion: depth, and strings that are not valid Unicode."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                raise JsonInputError(_SURROGATE.format(path or "the document"), path or None)
            continue
        if not isinstance(value, list | dict):
            continue
        if depth >= max_depth:
            raise JsonInputError(f"nested more than {max_depth} levels deep", path.partition(".")[0] or None)
        if isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
            continue
        for key, item in value.items():
            if has_lone_surrogate(key):
                raise JsonInputError(_SURROGATE.format(f"a member name in {path or 'the document'}"), path or None)
            stack.append((item, f"{path}.{key}" if path else key, depth + 1))


_SURROGATE = "{}: text with a lone surrogate (U+D800 to U+DFFF) is not valid Unicode"
