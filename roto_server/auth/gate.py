"""One authentication decision for every endpoint of the server, without any web framework.

Tried in order: the C2 query credentials (token/password, optional user), the
Authorization header (Basic, Digest, Bearer), the session cookie, and finally anonymous
read-only access where the operator allows it. Failed attempts are limited per client
address and user name, and per address across all user names (so junk names cannot dilute
or evict a lockout); successes are not counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import digest
from .credentials import API_USER, Authenticator, AuthError, Principal, parse_basic
from .limits import WindowLimiter
from .sessions import SessionStore

log = logging.getLogger("roto.auth")
REALM = "roto"
SESSION_COOKIE = "roto_session"
ANONYMOUS = Principal("anonymous", "viewer")
FAILED_LOGINS = (5, 300.0)  # attempts, seconds, per address and user name
FAILED_LOGINS_PER_ADDRESS = (20, 300.0)  # whatever the user names


class Unauthorized(Exception):
    def __init__(self, message: str, challenges: list[str]) -> None:
        super().__init__(message)
        self.challenges = challenges


class TooManyFailures(Exception):
    def __init__(self, retry_after: int, limit: int, period: float) -> None:
        super().__init__("too many failed logins; wait before trying again")
        self.retry_after = retry_after
        self.limit = limit
        self.period = period


@dataclass(frozen=True)
class Attempt:
    """What a request brings that could identify it."""

    query: Mapping[str, str]
    authorization: str | None
    cookie: str | None
    method: str
    uri: str  # path and query as sent, for Digest
    client: str


class Gate:
    def __init__(self, users: Authenticator, anonymous_allowed: Callable[[], bool]) -> None:
        self.users = users
        self.digest = digest.DigestAuth(REALM)
        self.sessions = SessionStore()
        self.failures = WindowLimiter(*FAILED_LOGINS)
        self.address_failures = WindowLimiter(*FAILED_LOGINS_PER_ADDRESS)
        self.counts: Counter[str] = Counter()  # refusals by kind, read by GET /metrics
        self._anonymous_allowed = anonymous_allowed

    def challenges(self, now: float, stale: bool = False) -> list[str]:
        # strongest first: some clients (HTTPie) read only the first WWW-Authenticate header
        return [
            *self.digest.challenges(now, stale),
            f'Basic realm="{REALM}", charset="UTF-8"',
            f'Bearer realm="{REALM}"',
        ]

    def identify(self, attempt: Attempt, now: float) -> Principal:
        secret = attempt.query.get("token") or attempt.query.get("password")
        if secret:
            return self._password(attempt, attempt.query.get("user") or API_USER, secret, now)
        header = (attempt.authorization or "").strip()
        scheme, _, rest = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                user, password = parse_basic(header)
            except AuthError as exc:
                raise Unauthorized(str(exc), self.challenges(now)) from None
            return self._password(attempt, user, password, now)
        if scheme == "digest":
            return self._digest(attempt, rest, now)
        if scheme == "bearer":
            session = self.sessions.find(rest.strip(), now)
            if session is None:
                raise Unauthorized("the bearer token is unknown, expired or revoked", self.challenges(now))
            return Principal(session.user, session.role, session.token, session.expires)
        if header:
            raise Unauthorized(f"unsupported Authorization scheme {scheme!r}", self.challenges(now))
        if attempt.cookie:
            session = self.sessions.find(attempt.cookie, now)
            if session is not None:
                return Principal(session.user, session.role, session.token, session.expires)
        if self._anonymous_allowed():
            return ANONYMOUS
        if attempt.cookie:
            raise Unauthorized("the session has ended (logged out or expired): log in again", self.challenges(now))
        raise Unauthorized(
            "credentials required: ?token=..., Basic, Digest or Bearer (POST /api/login)", self.challenges(now)
        )

    @staticmethod
    def brings_credentials(attempt: Attempt) -> bool:
        """Whether the attempt carries anything that could identify it (a wrong secret counts)."""
        return bool(
            attempt.query.get("token") or attempt.query.get("password") or (attempt.authorization or "").strip()
        )

    def login(self, attempt: Attempt, user: str, password: str, now: float) -> Principal:
        return self._password(attempt, user, password, now)

    def proof(self, attempt: Attempt, user: str, check: Callable[[str], str | None], now: float) -> Principal:
        """A credential proved against the user's stored password (a WS-Security UsernameToken).

        ``check`` gets the password and returns why the proof fails, or None; failures count and
        lockouts hold exactly as for Basic and Digest.
        """
        key = self._guard(attempt, user, now)
        password = self.users.password_of(user)
        problem = check(password if password is not None else "\x00")
        if password is None or problem is not None:
            raise self._failed(key, problem or "wrong user name or password", now)
        return self.users.principal_of(user)

    def _guard(self, attempt: Attempt, user: str, now: float) -> tuple[str, str]:
        key = (attempt.client, user)
        if not self.address_failures:  # no failure anywhere in the window: nothing can be locked out
            return key
        for limiter, counted in ((self.address_failures, attempt.client), (self.failures, key)):
            decision = limiter.check(counted, now)
            if not decision.allowed:
                self.counts["locked_out"] += 1
                raise TooManyFailures(decision.reset_after, limiter.limit, limiter.period)
        return key

    def _failed(self, key: tuple[str, str], message: str, now: float, stale: bool = False) -> Unauthorized:
        client, user = key
        log.info("failed login for user %r from %s: %s", user, client, message)
        for limiter, counted, whom in (
            (self.failures, key, f"user {user!r} from {client}"),
            (self.address_failures, client, f"every user from {client}"),
        ):
            last = limiter.hit(counted, now)
            if last.allowed and last.remaining == 0:  # this failure was the last one allowed
                log.warning("%s locked out for %d s after %d failed logins", whom, last.reset_after, limiter.limit)
        self.counts["auth_failed"] += 1
        return Unauthorized(message, self.challenges(now, stale))

    def _password(self, attempt: Attempt, user: str, password: str, now: float) -> Principal:
        key = self._guard(attempt, user, now)
        try:
            return self.users.verify(user, password)
        except AuthError as exc:
            raise self._failed(key, str(exc), now) from None

    def _digest(self, attempt: Attempt, params: str, now: float) -> Principal:
        try:
            request = digest.parse(params)
        except (digest.DigestError, ValueError) as exc:
            raise Unauthorized(str(exc), self.challenges(now)) from None
        key = self._guard(attempt, request.username, now)
        password = self.users.password_of(request.username)
        try:
            self.digest.verify(request, password or "\x00", attempt.method, attempt.uri, now)
            if password is None:
                raise digest.DigestError("wrong user name or password")
        except digest.DigestError as exc:
            if exc.stale:  # an old nonce is not a wrong password: ask again, count nothing
                raise Unauthorized(str(exc), self.challenges(now, stale=True)) from None
            raise self._failed(key, str(exc), now) from None
        return self.users.principal_of(request.username)
