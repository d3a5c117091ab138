"""The state catalogue: every variable of the C2 device state, loaded from ``catalogue.json``.

The JSON file is the single source of truth. Validation, permissions, persistence,
the console's editors and the docs table are all derived from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

Role = Literal["viewer", "operator", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}
VarType = Literal["boolean", "integer", "number", "string", "object", "array"]


@dataclass(frozen=True)
class Field:
    """One member of an object variable (pan x/y, createTag title ...)."""

    type: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Variable:
    """One entry of the state table."""

    name: str
    type: VarType
    access: Literal["r", "w", "rw"]
    description: str
    group: str
    min: float | None = None
    max: float | None = None
    options: tuple[Any, ...] | None = None
    default: Any = None
    unit: str | None = None
    head: int | None = None
    relative: bool = False
    write_type: VarType | None = None
    requires: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Field] = field(default_factory=dict)
    max_length: int | None = None
    pattern: str | None = None
    read_role: Role = "viewer"
    write_role: Role = "operator"
    persist_flag: bool | None = None

    @property
    def readable(self) -> bool:
        return "r" in self.access

    @property
    def writable(self) -> bool:
        return "w" in self.access

    @property
    def persist(self) -> bool:
        """Writable settings survive a restart unless the catalogue says otherwise."""
        if self.persist_flag is not None:
            return self.persist_flag
        return self.access == "rw"

    @property
    def accepts(self) -> VarType:
        """The type a write must have (storages are read as objects, written as uuids)."""
        return self.write_type or self.type

    def may_read(self, role: str) -> bool:
        return self.readable and ROLE_RANK[role] >= ROLE_RANK[self.read_role]

    def may_write(self, role: str) -> bool:
        return self.writable and ROLE_RANK[role] >= ROLE_RANK[self.write_role]

    def range_text(self) -> str:
        """Human-readable range or options, e.g. '[-7, 7]' or 'start | stop'."""
        if self.options is not None:
            return " | ".join(str(o) for o in self.options)
        if self.min is not None and self.max is not None:
            return f"[{_num(self.min)}, {_num(self.max)}]"
        if self.fields:
            return ", ".join(
                f"{k}" + (f" [{_num(f.min)}, {_num(f.max)}]" if f.min is not None and f.max is not None else "")
                for k, f in self.fields.items()
            )
        return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class Catalogue(Mapping[str, Variable]):
    """Ordered, read-only mapping of variable name to :class:`Variable`."""

    def __init__(self, variables: list[Variable]) -> None:
        self._vars = {v.name: v for v in variables}

    def __getitem__(self, name: str) -> Variable:
        return self._vars[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    def readable_by(self, role: str) -> list[Variable]:
        return [v for v in self._vars.values() if v.may_read(role)]


def _variable(raw: dict[str, Any]) -> Variable:
    raw = dict(raw)
    fields = {k: Field(**f) for k, f in raw.pop("fields", {}).items()}
    options = raw.pop("options", None)
    persist = raw.pop("persist", None)
    return Variable(
        **raw,
        fields=fields,
        options=tuple(options) if options is not None else None,
        persist_flag=persist,
    )


def parse_catalogue(text: str) -> Catalogue:
    data = json.loads(text)
    return Catalogue([_variable(v) for v in data["variables"]])


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped inside the package (read once per process)."""
    text = resources.files(__package__).joinpath("catalogue.json").read_text("utf-8")
    return parse_catalogue(text)
