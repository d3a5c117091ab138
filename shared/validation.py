"""Turning what a client sent into a valid catalogue value, or a clear reason why not.

Pure functions: the state store uses them for every write, the console uses them to
check an edit before it is sent. Numbers out of range are clamped (the C2 API
"saturates" them); anything of the wrong type or outside a list of options is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from .catalogue import Field, Variable
from .json_input import JsonInputError, decode_json, has_lone_surrogate

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}
_NAME_RE = re.compile(r"^[A-Za-z0-9 _.\-]*$")
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$"
)


# Integers beyond this gain nothing from clamping and break float arithmetic (10**400 overflows).
MAX_MAGNITUDE = 10**15
# Timestamps a datetime can render everywhere: 1970-01-01 up to the end of year 9999 (UTC).
TIMESTAMP_RANGE = (0.0, 253_402_300_799.0)


class InvalidValue(ValueError):
    """A write that cannot be applied; the message names the variable and what is allowed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the variable, or variable.member, at fault


@dataclass(frozen=True)
class Coerced:
    value: Any
    note: str | None = None  # set when the value was clamped or rounded


def _fail(var: str, what: str) -> InvalidValue:
    return InvalidValue(f"{var}: {what}", var)


def _as_bool(name: str, raw: Any, text: bool) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and text:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise _fail(name, f"expected a boolean (true or false), got {raw!r:.80}")


def _as_number(name: str, raw: Any, text: bool) -> float | int:
    if isinstance(raw, str) and text:
        if not raw.isascii():  # int() would take '١٢' as 12 and fail on '²'
            raise _fail(name, f"expected a number written with the digits 0-9, got {raw!r:.80}")
        try:
            num: float | int = int(raw.strip())
        except ValueError:
            try:
                num = float(raw.strip())
            except ValueError:
                raise _fail(name, f"expected a number, got {raw!r:.80}") from None
        raw = num
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _fail(name, f"expected a number, got {raw!r:.80}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise _fail(name, f"expected a finite number, got {raw!r:.80}")
    if abs(raw) > MAX_MAGNITUDE:  # in any spelling: 1e20 as well as twenty-one digits
        size = f"one with {len(str(abs(raw)))} digits" if isinstance(raw, int) else f"{raw:g}"
        raise _fail(name, f"expected a number between -1e15 and 1e15, got {size}")
    return raw


def _bound(value: float, bound: float) -> float | int:
    # keep integers integral where the bound allows it (gain 42, not 42.0)
    if isinstance(value, int) and float(bound).is_integer():
        return int(bound)
    return float(bound)


def clamp_number(name: str, value: float, lo: float | None, hi: float | None) -> Coerced:
    """Clamp into [lo, hi]; the note says what happened."""
    if lo is not None and value < lo:
        low = _bound(value, lo)
        return Coerced(low, f"{name}: {value} is below the minimum, clamped to {low}")
    if hi is not None and value > hi:
        high = _bound(value, hi)
        return Coerced(high, f"{name}: {value} is above the maximum, clamped to {high}")
    return Coerced(value)


def _check_options(var: Variable, value: Any) -> None:
    if var.options is not None and value not in var.options:
        allowed = ", ".join(repr(o) for o in var.options)
        raise _fail(var.name, f"{value!r:.80} is not one of {allowed}")


@cache
def _timezones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) | {"UTC"}


def _check_unicode(name: str, value: str) -> None:
    if has_lone_surrogate(value):  # cannot be stored, saved or sent back
        raise _fail(name, "text with a lone surrogate (U+D800 to U+DFFF) is not valid Unicode")


def _check_string(var: Variable, value: str) -> None:
    _check_unicode(var.name, value)
    if var.max_length is not None and len(value) > var.max_length:
        raise _fail(var.name, f"at most {var.max_length} characters allowed, got {len(value)}")
    if var.pattern == "name" and not _NAME_RE.match(value):
        raise _fail(var.name, "only letters, digits, space, '_', '-' and '.' are allowed in file names")
    if var.pattern == "host" and not _HOST_RE.match(value):
        raise _fail(var.name, f"{value!r:.80} is not a valid host name or IPv4 address")
    if var.pattern == "timezone" and value not in _timezones():
        raise _fail(var.name, f"{value!r:.80} is not a known IANA time zone (e.g. 'Europe/Berlin')")


def parse_timestamp(name: str, raw: Any) -> float:
    """Unix seconds, or 'yyyy-MM-ddTHH:mm:ss' with a UTC offset (e.g. +02:00), from 1970 to 9999."""
    seconds: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        seconds = float(raw) if abs(raw) <= MAX_MAGNITUDE else math.inf
    elif isinstance(raw, str):
        try:
            stamp = datetime.fromisoformat(raw.strip())
        except ValueError:
            pass
        else:
            if stamp.tzinfo is None:
                raise _fail(name, f"{raw!r:.80} has no UTC offset; write e.g. 2024-05-01T13:45:00+02:00")
            try:
                seconds = stamp.timestamp()
            except (OverflowError, ValueError, OSError):  # an offset pushing year 1 or 9999 out of range
                seconds = math.inf
    if seconds is None:
        raise _fail(name, f"expected unix seconds or 'yyyy-MM-ddTHH:mm:ss+hh:mm', got {raw!r:.80}")
    lo, hi = TIMESTAMP_RANGE
    if not lo <= seconds <= hi:
        raise _fail(name, "must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    return seconds


def _coerce_field(var: str, key: str, spec: Field, raw: Any) -> Any:
    label = f"{var}.{key}"
    if spec.type == "number":
        return _as_number(label, raw, False)
    if spec.type == "boolean":
        return _as_bool(label, raw, False)
    if spec.type == "string":
        if not isinstance(raw, str):
            raise _fail(label, f"expected a string, got {raw!r:.80}")
        if len(raw) > 1000:
            raise _fail(label, "at most 1000 characters allowed")
        _check_unicode(label, raw)
        return raw
    if spec.type == "timestamp":
        return parse_timestamp(label, raw)
    raise _fail(label, f"unsupported field type {spec.type}")


def _coerce_object(var: Variable, raw: Any, text: bool) -> dict[str, Any]:
    if isinstance(raw, str) and text:
        try:
            raw = decode_json(raw)
        except JsonInputError as exc:
            raise _fail(var.name, f"expected a JSON object: {exc}") from None
    if not isinstance(raw, dict):
        raise _fail(var.name, f"expected a JSON object, got {raw!r:.80}")
    if not var.fields:
        return raw
    unknown = sorted(set(raw) - set(var.fields))
    if unknown:
        allowed = ", ".join(var.fields)
        raise _fail(var.name, f"unknown member(s) {', '.join(unknown)[:200]}; allowed: {allowed}")
    return {k: _coerce_field(var.name, k, var.fields[k], v) for k, v in raw.items()}


def coerce(var: Variable, raw: Any, *, text: bool = False) -> Coerced:
    """Validate and convert a written value for ``var``.

    ``text`` is true for values that arrived as URL query text, which are converted
    to the catalogue type first. Relative variables return the parsed delta unclamped;
    the store adds it to the current value and clamps the sum with :func:`clamp`.
    """
    kind = var.accepts
    if kind == "boolean":
        return Coerced(_as_bool(var.name, raw, text))
    if kind in ("integer", "number"):
        num = _as_number(var.name, raw, text)
        note = None
        if kind == "integer" and not isinstance(num, int):
            rounded = round(num)
            note = f"{var.name}: {num} rounded to the integer {rounded}"
            num = rounded
        if var.options is not None:
            _check_options(var, num)
            return Coerced(num, note)
        if var.relative:
            return Coerced(num, note)
        clamped = clamp_number(var.name, num, var.min, var.max)
        return Coerced(clamped.value, clamped.note or note)
    if kind == "string":
        if not isinstance(raw, str):
            raise _fail(var.name, f"expected a string, got {raw!r:.80}")
        _check_options(var, raw)
        _check_string(var, raw)
        return Coerced(raw)
    if kind == "object":
        return Coerced(_coerce_object(var, raw, text))
    if kind == "array":
        if not isinstance(raw, list):
            raise _fail(var.name, f"expected a JSON array, got {raw!r:.80}")
        return Coerced(raw)
    raise _fail(var.name, f"unsupported type {kind}")


def clamp(var: Variable, value: Any) -> Coerced:
    """Clamp an absolute value (a number, or an object's numeric members) into range."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        notes = []
        for key, item in value.items():
            spec = var.fields.get(key)
            if spec is not None and spec.type == "number":
                c = clamp_number(f"{var.name}.{key}", float(item), spec.min, spec.max)
                out[key] = c.value
                if c.note:
                    notes.append(c.note)
            else:
                out[key] = item
        return Coerced(out, "; ".join(notes) or None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return clamp_number(var.name, value, var.min, var.max)
    return Coerced(value)
