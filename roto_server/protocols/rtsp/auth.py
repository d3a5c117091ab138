"""The question the RTSP engine asks about every request that is not part of a known session: who is this?

The answer comes from a callback (the server's Gate: users, lockout, Digest and Basic, ?token=), so the engine
knows nothing of passwords; it only relays the challenges the callback hands back in a 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuthAttempt:
    method: str
    uri: str
    authorization: str | None  # the Authorization header as sent, scheme included
    query: dict[str, str] = field(default_factory=dict)
    peer: str = ""


@dataclass(frozen=True)
class Granted:
    user: str | None  # None: anonymous access that the callback allowed


@dataclass(frozen=True)
class Refused:
    challenges: tuple[str, ...] = ()  # WWW-Authenticate values, e.g. 'Digest realm=..., nonce=...'
    status: int = 401  # 403 for a locked-out user
    reason: str = "credentials required"


Authorize = Callable[[AuthAttempt, float], Granted | Refused]


def allow_anyone(attempt: AuthAttempt, now: float) -> Granted | Refused:
    """A callback for an open server (and for tests that are not about authentication)."""
    return Granted(None)
