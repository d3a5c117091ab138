"""Bearer tokens and session cookies from /api/login: expiring, revocable, kept in memory.

A restart ends every session (clients log in again); the C2 API token and passwords stay.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from roto_shared.catalogue import Role

SESSION_LIFETIME_S = 3600
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    token: str
    user: str
    role: Role
    expires: float


class SessionStore:
    def __init__(self, lifetime: float = SESSION_LIFETIME_S) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._on_end: list[Callable[[str], None]] = []

    def on_end(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the token of every session that is revoked or pushed out."""
        self._on_end.append(listener)

    def _ended(self, token: str) -> None:
        for listener in self._on_end:
            listener(token)

    def issue(self, user: str, role: Role, now: float) -> Session:
        if len(self._sessions) >= MAX_SESSIONS:
            self._expire(now)
        if len(self._sessions) >= MAX_SESSIONS:  # still full: drop the session that ends soonest
            oldest = min(self._sessions.values(), key=lambda s: s.expires).token
            del self._sessions[oldest]
            self._ended(oldest)
        session = Session(secrets.token_urlsafe(32), user, role, now + self.lifetime)
        self._sessions[session.token] = session
        return session

    def find(self, token: str, now: float) -> Session | None:
        session = self._sessions.get(token)
        if session is None or session.expires <= now:
            self._sessions.pop(token, None)
            return None
        return session

    def revoke(self, token: str) -> bool:
        if self._sessions.pop(token, None) is None:
            return False
        self._ended(token)
        return True

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[token]
