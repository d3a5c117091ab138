"""Reading and writing the state in v1 keys: shared by WebSocket /api/v1 and the REST settings.

No web framework: the store and a role in, v1 answers and errors out. A batch of v1 writes is
all-or-nothing: every key is translated and checked before any is applied. Errors and notices
speak v1 (keys, values, heads numbered from 1), never the C2 names behind them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from roto_server.api.v1_mapping import BY_KEY, BY_VARIABLE, InvalidV1Value, V1Key, to_v1
from roto_server.device.store import Notice, Set, StateStore


@dataclass
class V1Result:
    values: dict[str, Any] = field(default_factory=dict)  # v1 key -> value after the write
    changed: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)  # kept, but rounded or not acting yet


# The v1 value last written to each variable and the C2 value it became. 0-100 maps onto
# fewer C2 steps (brightness has 15), so 75 is stored as a step that reads back as 79; while
# the C2 value is still that step, v1 readers get the 75 that was written.
_WRITTEN: WeakKeyDictionary[StateStore, dict[str, tuple[Any, Any]]] = WeakKeyDictionary()
_C2_NAME = re.compile(r"\b(" + "|".join(sorted(map(re.escape, BY_VARIABLE), key=len, reverse=True)) + r")\b")
_HEAD = re.compile(r"\bcamera head (\d)\b")


def translate(store: StateStore, c2_values: dict[str, Any]) -> dict[str, Any]:
    """C2 values in v1 keys, giving back the v1 value a client wrote while it still holds."""
    out = to_v1(c2_values)
    for name, (v1_value, c2_value) in _WRITTEN.get(store, {}).items():
        key = BY_VARIABLE[name].key
        if key in out and c2_values.get(name) == c2_value:
            out[key] = v1_value
    return out


def read(store: StateStore, role: str, keys: list[Any] | None = None) -> dict[str, Any]:
    """v1 values the role may read: all of them, or the listed keys (unknown ones left out)."""
    if keys is None:
        return translate(store, store.snapshot(role))
    names = {}
    for key in keys:
        spec = BY_KEY.get(key) if isinstance(key, str) else None
        if spec is not None and spec.readable and store.catalogue[spec.variable].may_read(role):
            names[spec.variable] = store[spec.variable]
    return translate(store, names)


def v1_text(message: str) -> str:
    """A store message in v1 words: C2 variable names become v1 keys, heads count from 1."""
    message = _HEAD.sub(lambda m: f"camera {int(m.group(1)) + 1}", message)
    return _C2_NAME.sub(lambda m: BY_VARIABLE[m.group(1)].key, message)


def _error(kind: str, key: str, message: str) -> dict[str, Any]:
    return {"error": kind, "key": key, "message": message}


def _translate_all(
    store: StateStore, role: str, values: dict[str, Any], result: V1Result
) -> list[tuple[V1Key, Any, Any]]:
    """Each key's spec, v1 value and C2 value; every key that cannot be written adds an error."""
    planned = []
    for key, value in values.items():
        spec = BY_KEY.get(key)
        if spec is None:
            result.errors.append(_error("Invalid value", key, "unknown key"))
            continue
        var = store.catalogue[spec.variable]
        if not spec.writable:
            result.errors.append(_error("Permission denied", key, f"{spec.key} is read only"))
            continue
        if not var.may_write(role):
            result.errors.append(_error("Permission denied", key, f"{spec.key} needs the {var.write_role} role"))
            continue
        try:
            planned.append((spec, value, spec.to_c2(value)))
        except InvalidV1Value as exc:
            result.errors.append(_error("Invalid value", key, str(exc)))
    return planned


def write(store: StateStore, role: str, values: dict[str, Any]) -> V1Result:
    """Check every v1 write, then apply all of them in order, or none and say why."""
    result = V1Result()
    planned = _translate_all(store, role, values, result)
    ops = [Set(spec.variable, c2) for spec, _, c2 in planned]
    by_variable = {spec.variable: spec for spec, _, _ in planned}
    if not result.errors:
        for refusal in store.check(ops, role):
            spec = by_variable[refusal.variable or ""]
            result.errors.append(_error("Invalid value", spec.key, v1_text(refusal.message)))
    if result.errors or not ops:
        return result
    before = {spec.variable: store[spec.variable] for spec, _, _ in planned if spec.readable}
    applied = store.apply(ops, role)
    refused = [n for n in applied.notices if n.level != "info"]
    if refused:  # a handler refused at run time (record, snap): put back what the batch changed
        _undo(store, role, before, applied.changes)
        result.errors += [
            _error("Invalid value", by_variable[n.variable or ""].key, v1_text(n.message)) for n in refused
        ]
        return result
    result.notices += [_notice(by_variable, n) for n in applied.notices]
    _remember(store, planned, applied.values, result)
    result.values = {**result.values, **translate(store, applied.values)}
    result.changed = [spec.key for spec, _, _ in planned if _changed(spec, applied.changes, store)]
    return result


def _remember(
    store: StateStore, planned: list[tuple[V1Key, Any, Any]], stored: dict[str, Any], result: V1Result
) -> None:
    """Note each v1 value the unit could only approximate, so it reads back as written."""
    written = _WRITTEN.setdefault(store, {})
    for spec, v1_value, c2 in planned:
        if spec.variable not in stored:
            continue
        nearest = spec.to_v1(c2)
        if nearest == v1_value or isinstance(v1_value, bool) or not isinstance(v1_value, int | float):
            written.pop(spec.variable, None)
            continue
        written[spec.variable] = (v1_value, stored[spec.variable])
        message = (
            f"{spec.key}: {v1_value} lies between two of the unit's steps; the nearest step ({nearest}) is used,"
            f" and {spec.key} reads back as {v1_value} until it changes"
        )
        result.notices.append({"key": spec.key, "level": "info", "message": message})


def _notice(by_variable: dict[str, V1Key], notice: Notice) -> dict[str, Any]:
    spec = by_variable.get(notice.variable or "")
    return {"key": spec.key if spec else None, "level": notice.level, "message": v1_text(notice.message)}


def _undo(store: StateStore, role: str, before: dict[str, Any], changes: dict[str, Any]) -> None:
    restore = [Set(name, value) for name, value in before.items() if name in changes]
    if restore:
        store.apply(restore, role)


def _changed(spec: V1Key, changes: dict[str, Any], store: StateStore) -> bool:
    # a trigger (snap) changes nothing stored, but it did happen
    return spec.variable in changes or not store.catalogue[spec.variable].readable
