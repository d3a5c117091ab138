"""HTTP Range requests (RFC 9110 section 14), sans-IO: a header and a size in, the bytes to send out.

Only a single byte range is honoured; a header we do not serve (other units, several ranges,
bad syntax) is ignored, which the RFC allows, and the whole file is sent with 200.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ASCII digits only: str.isdigit() and \\d also accept "²" and "١", which int() then refuses or misreads
_SPEC = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)
_HUGE = 1 << 63  # stands for any position past every file; keeps int() away from 10 000-digit strings


@dataclass(frozen=True)
class Span:
    """Bytes ``first`` … ``last`` (inclusive) of a representation of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


@dataclass(frozen=True)
class Unsatisfiable:
    size: int

    def content_range(self) -> str:
        return f"bytes */{self.size}"


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _HUGE if len(digits) > 18 else int(digits)


def _order(digits: str) -> tuple[int, str]:
    """Sorts digit strings of any length as their numbers sort, without converting them."""
    digits = digits.lstrip("0") or "0"
    return len(digits), digits


def parse_range(header: str | None, size: int) -> Span | Unsatisfiable | None:
    """What to send for ``Range: header``: a span (206), unsatisfiable (416) or None (the whole file, 200)."""
    if not header or size <= 0:
        return None
    match = _SPEC.match(header)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes, the whole file when N is larger
        suffix = _number(last_text)
        return Span(max(0, size - suffix), size - 1, size) if suffix > 0 else Unsatisfiable(size)
    first = _number(first_text)
    if last_text and _order(last_text) < _order(first_text):
        return None  # invalid syntax by the RFC's rule: ignore the header
    if first >= size:
        return Unsatisfiable(size)
    last = min(_number(last_text), size - 1) if last_text else size - 1
    return Span(first, last, size)
