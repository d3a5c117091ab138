"""The one device state: values typed by the catalogue, ordered writes, change events.

Pure Python and synchronous (no sockets, no event loop), in the spirit of h11's
``Connection``: every protocol adapter turns its input into a list of operations,
calls :meth:`StateStore.apply` and turns the result back into its own wire format.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from roto_shared.catalogue import Catalogue, Variable
from roto_shared.validation import InvalidValue, clamp, coerce

log = logging.getLogger("roto.state")

Level = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Notice:
    """Why a write was refused or changed, or something the device wants operators to know."""

    variable: str | None
    message: str
    level: Level = "warning"

    def as_json(self) -> dict[str, Any]:
        return {"variable": self.variable, "level": self.level, "message": self.message}


@dataclass(frozen=True)
class Get:
    name: str


@dataclass(frozen=True)
class Set:
    name: str
    value: Any


Op = Get | Set


@dataclass
class ApplyResult:
    """What one request did: the touched variables with their actual values, in order."""

    values: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeEvent:
    changes: Mapping[str, Any]
    notices: tuple[Notice, ...] = ()


class Refused(Exception):
    """Raised by a guard or handler: the write is not applied; the message says why."""


# A guard looks at the state and the coerced value and refuses by raising Refused; it may
# instead return a note (an info notice) when the write is kept but worth explaining.
Guard = Callable[["StateStore", Any], str | None]
# A handler performs a write (record, storages, takePicture ...) and returns the value to keep.
Handler = Callable[[Any], Any]
Listener = Callable[[ChangeEvent], None]

_EMPTY: dict[str, Any] = {"boolean": False, "integer": 0, "number": 0, "string": ""}


def _empty(var: Variable) -> Any:
    if var.default is not None:
        return _copy(var.default)
    if var.type == "object":
        return {}
    if var.type == "array":
        return []
    return _EMPTY[var.type]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class StateStore:
    """Holds every catalogue variable and applies writes in the order they were given."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._values: dict[str, Any] = {v.name: _empty(v) for v in catalogue.values() if v.readable}
        self._guards: dict[str, list[Guard]] = {}
        self._handlers: dict[str, Handler] = {}
        self._listeners: list[Listener] = []
        self._open: ApplyResult | None = None  # the transaction being applied, if any
        self.revision = 0  # counts stored changes: an answer rendered at one revision holds until the next

    # -- reading -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def snapshot(self, role: str) -> dict[str, Any]:
        """Every variable ``role`` may read, in catalogue order."""
        return {v.name: _copy(self._values[v.name]) for v in self.catalogue.readable_by(role)}

    def read(self, names: Iterable[str], role: str) -> dict[str, Any]:
        """The values of ``names`` that ``role`` may read, in the order asked (unknown names left out):
        what :meth:`apply` answers for reads alone, without opening a transaction."""
        found = {}
        for name in names:
            var = self.catalogue.get(name)
            if var is not None and var.may_read(role):
                found[var.name] = _copy(self._values[var.name])
        return found

    def readable_subset(self, values: Mapping[str, Any], role: str) -> dict[str, Any]:
        cat = self.catalogue
        return {k: v for k, v in values.items() if k in cat and cat[k].may_read(role)}

    # -- wiring --------------------------------------------------------------------------
    def add_guard(self, name: str, guard: Guard) -> None:
        self._guards.setdefault(name, []).append(guard)

    def set_handler(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- writing -------------------------------------------------------------------------
    def apply(self, ops: Iterable[Op], role: str, *, text: bool = False) -> ApplyResult:
        """Run getters and setters in order on behalf of ``role``.

        Unknown variables and variables the role may not read are left out of the
        result. Every refused or adjusted write yields a :class:`Notice`; a refused
        write changes nothing.
        """
        result = ApplyResult()
        self._open = result
        try:
            for op in ops:
                var = self.catalogue.get(op.name)
                if var is None:
                    continue
                if isinstance(op, Get):
                    if var.may_read(role):
                        result.values[var.name] = _copy(self._values[var.name])
                    continue
                self._write(var, op.value, role, text, result)
        finally:
            self._open = None
            # whatever happened, what did change is announced (and so saved)
            self._emit(result.changes, ())
        return result

    def check(self, ops: Iterable[Op], role: str) -> list[Notice]:
        """What :meth:`apply` would refuse, without applying anything (handlers are not run).

        Checks permission, the value and the guards against the current state; a batch
        that must be all-or-nothing calls this first.
        """
        refusals = []
        for op in ops:
            var = self.catalogue.get(op.name)
            if var is None or isinstance(op, Get):
                continue
            if not var.may_write(role):
                refusals.append(Notice(var.name, _not_allowed(var), "warning"))
                continue
            try:
                self._checked_value(var, op.value, False)
            except (InvalidValue, Refused) as exc:
                refusals.append(Notice(var.name, str(exc), "warning"))
            except Exception:  # a bug in a guard: refuse the batch rather than fail the request
                log.exception("checking %s failed", var.name)
                refusals.append(Notice(var.name, f"{var.name}: the value could not be checked", "error"))
        return refusals

    def _checked_value(self, var: Variable, raw: Any, text: bool) -> tuple[Any, list[str]]:
        """The value to write after conversion, clamping and guards, with the notes to report."""
        coerced = coerce(var, raw, text=text)
        value, notes = coerced.value, [coerced.note]
        if var.relative:
            absolute = clamp(var, _add(self._values[var.name], value))
            value, notes = absolute.value, [absolute.note]
        notes += [guard(self, value) for guard in self._guards.get(var.name, ())]
        return value, [n for n in notes if n]

    def _write(self, var: Variable, raw: Any, role: str, text: bool, result: ApplyResult) -> None:
        if not var.may_write(role):
            self._refuse(var, role, _not_allowed(var), result)
            return
        try:
            value, notes = self._checked_value(var, raw, text)
            handler = self._handlers.get(var.name)
            if handler is not None:
                value = handler(value)
            elif not var.readable:
                raise Refused(f"{var.name} is not available on this unit yet")
        except (InvalidValue, Refused) as exc:
            self._refuse(var, role, str(exc), result)
            return
        except Exception:  # a bug in one setter must not cost the request's other writes
            log.exception("writing %s failed", var.name)
            message = f"{var.name}: the write failed inside the unit and was not applied; see the server log"
            result.notices.append(Notice(var.name, message, "error"))
            if var.may_read(role):
                result.values[var.name] = _copy(self._values[var.name])
            return
        for note in notes:
            result.notices.append(Notice(var.name, note, "info"))
            log.info("%s", note)
        if var.readable:
            self._store(var.name, value, result)
            result.values[var.name] = _copy(self._values[var.name])
        else:
            result.values[var.name] = value

    def _refuse(self, var: Variable, role: str, message: str, result: ApplyResult) -> None:
        result.notices.append(Notice(var.name, message, "warning"))
        log.warning("write refused: %s", message)
        if var.may_read(role):
            result.values[var.name] = _copy(self._values[var.name])
        elif var.may_write(role):  # a refused trigger reads back as "nothing happened"
            result.values[var.name] = False if var.type == "boolean" else None

    def _store(self, name: str, value: Any, result: ApplyResult) -> None:
        if self._values.get(name) != value or type(self._values.get(name)) is not type(value):
            self._values[name] = _copy(value)
            self.revision += 1
            result.changes[name] = _copy(value)

    def set_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Device-side updates (hardware readings, host facts, subsystem state).

        Bypasses permissions; names must be in the catalogue. Inside an :meth:`apply`
        (a handler reporting side effects) they join that request's changes.
        """
        target = self._open if self._open is not None else ApplyResult()
        for name, value in facts.items():
            if name not in self._values:
                raise KeyError(f"{name} is not a readable catalogue variable")
            self._store(name, value, target)
        if self._open is None:
            self._emit(target.changes, ())
        return target.changes

    def announce(self, notice: Notice) -> None:
        """Tell every listener (and so every connected client) something happened."""
        log.log(logging.WARNING if notice.level != "info" else logging.INFO, "%s", notice.message)
        self._emit({}, (notice,))

    def _emit(self, changes: Mapping[str, Any], notices: tuple[Notice, ...]) -> None:
        if not changes and not notices:
            return
        event = ChangeEvent(changes, notices)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the device
                log.exception("state listener failed")


def _not_allowed(var: Variable) -> str:
    return f"{var.name} " + ("is read-only" if not var.writable else f"needs the {var.write_role} role")


def _add(current: Any, delta: Any) -> Any:
    if isinstance(delta, dict):
        return {k: float(current.get(k, 0)) + float(delta.get(k, 0)) for k in current}
    return current + delta
