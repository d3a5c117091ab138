"""The WebSocket message shapes the device and its clients agree on, defined once.

- A notification, ``{"notification": {"variable": ..., "level": ..., "message": ...}}``: why a
  write was refused or changed, or a device-wide event. Both WebSocket APIs send it.
- An error, ``{"error": "Short title", "message": ..., more fields}``: the v1 API's answer to a
  message it cannot serve (also the body of every HTTP error). C2 clients get errors as
  notifications of level ``error``, because a bare ``{"error": ...}`` would read as a variable.
Any other object is a set of state values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["info", "warning", "error"]
LEVELS: tuple[Level, ...] = ("info", "warning", "error")

AUTHENTICATION_REQUIRED = "Authentication required"
AUTHENTICATION_FAILED = "Authentication failed"
RATE_LIMITED = "Rate limit exceeded"
SESSION_ENDED = "Session ended"
INVALID_VALUE = "Invalid value"
INTERNAL_ERROR = "Internal error"


@dataclass(frozen=True)
class Notification:
    variable: str | None
    level: str
    message: str

    def to_message(self) -> dict[str, Any]:
        return {"notification": {"variable": self.variable, "level": self.level, "message": self.message}}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Notification | None:
        """The notification a received message carries, or None when it is something else."""
        body = message.get("notification")
        if not isinstance(body, Mapping):
            return None
        variable = body.get("variable")
        level = body.get("level")
        return cls(
            variable if isinstance(variable, str) else None,
            level if level in LEVELS else "info",
            str(body.get("message", "")),
        )


def error(title: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
    """An error message: a short title, an optional explanation, and fields such as ``key`` or ``limit``."""
    return {"error": title, **({"message": message} if message is not None else {}), **fields}


def rate_limited(limit: int, period: str, retry_after: int) -> dict[str, Any]:
    return error(RATE_LIMITED, limit=limit, period=period, retry_after=retry_after)


def error_of(message: Mapping[str, Any]) -> str | None:
    """The title of an error message, or None when the message is not an error."""
    title = message.get("error")
    return title if isinstance(title, str) else None
