"""Reading and writing the state in v1 keys: shared by WebSocket /api/v1 and the REST settings.

No web framework: the store and a role in, v1 answers and errors out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roto_server.api.v1_mapping import BY_KEY, InvalidV1Value, V1Key, to_v1
from roto_server.device.store import Set, StateStore


@dataclass
class V1Result:
    values: dict[str, Any] = field(default_factory=dict)  # v1 key -> value after the write
    changed: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def read(store: StateStore, role: str, keys: list[Any] | None = None) -> dict[str, Any]:
    """v1 values the role may read: all of them, or the listed keys (unknown ones left out)."""
    if keys is None:
        return to_v1(store.snapshot(role))
    out = {}
    for key in keys:
        spec = BY_KEY.get(key) if isinstance(key, str) else None
        if spec is not None and spec.readable and store.catalogue[spec.variable].may_read(role):
            out[spec.key] = spec.to_v1(store[spec.variable])
    return out


def write(store: StateStore, role: str, values: dict[str, Any]) -> V1Result:
    """Translate and apply v1 writes in order; every key not applied gets an error saying why."""
    result = V1Result()
    ops, specs = [], []
    for key, value in values.items():
        spec = BY_KEY.get(key)
        if spec is None:
            result.errors.append({"error": "Invalid value", "key": key, "message": "unknown key"})
            continue
        var = store.catalogue[spec.variable]
        if not spec.writable:
            result.errors.append({"error": "Permission denied", "key": key, "message": f"{spec.key} is read only"})
            continue
        if not var.may_write(role):
            result.errors.append(
                {"error": "Permission denied", "key": key, "message": f"{spec.key} needs the {var.write_role} role"}
            )
            continue
        try:
            ops.append(Set(spec.variable, spec.to_c2(value)))
            specs.append(spec)
        except InvalidV1Value as exc:
            result.errors.append({"error": "Invalid value", "key": key, "message": str(exc)})
    if not ops:
        return result
    applied = store.apply(ops, role)
    refused = {n.variable: n.message for n in applied.notices if n.level != "info"}
    for spec in specs:
        if spec.variable in refused:
            result.errors.append({"error": "Invalid value", "key": spec.key, "message": refused[spec.variable]})
        if spec.variable in applied.values:
            result.values[spec.key] = spec.to_v1(applied.values[spec.variable])
        if _changed(spec, applied.changes, refused, store):
            result.changed.append(spec.key)
    return result


def _changed(spec: V1Key, changes: dict[str, Any], refused: dict[str | None, str], store: StateStore) -> bool:
    if spec.variable in changes:
        return True
    # a trigger (snap) changes nothing stored, but it did happen unless refused
    return not store.catalogue[spec.variable].readable and spec.variable not in refused
