"""Credential checks for the C2 API: URL query (user + token/password) and HTTP Basic.

No web framework here: callers pass the query pairs and the Authorization header.
Secrets are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from roto_shared.catalogue import Role

API_USER = "API-User"
ADMIN = "admin"
AUTH_QUERY_KEYS = frozenset({"user", "token", "password"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    # set when the request came with a bearer token or session cookie: open connections end with it
    session: str | None = field(default=None, compare=False, repr=False)
    expires: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Account:
    secret: str
    role: Role


class AuthError(Exception):
    """Credentials were missing or wrong; the message is safe to show (no secrets)."""


class Authenticator:
    """The device's user table: admin and API-User (whose password is the API token)."""

    def __init__(self, accounts: Mapping[str, Account]) -> None:
        self._accounts = dict(accounts)

    @classmethod
    def for_device(cls, api_token: str, admin_password: str) -> Authenticator:
        return cls({ADMIN: Account(admin_password, "admin"), API_USER: Account(api_token, "operator")})

    def verify(self, user: str, secret: str) -> Principal:
        account = self._accounts.get(user)
        # compare even for unknown users so timing does not reveal which names exist
        expected = account.secret if account else "\x00" * max(len(secret), 1)
        ok = hmac.compare_digest(expected.encode(), secret.encode())
        if account is None or not ok:
            raise AuthError("wrong user name or password")
        return Principal(user, account.role)

    def password_of(self, user: str) -> str | None:
        """The secret of ``user``, for schemes that need it to check a proof (Digest)."""
        account = self._accounts.get(user)
        return account.secret if account else None

    def role_of(self, user: str) -> Role | None:
        account = self._accounts.get(user)
        return account.role if account else None

    def principal_of(self, user: str) -> Principal:
        return Principal(user, self._accounts[user].role)


def parse_basic(header: str) -> tuple[str, str]:
    """Split an RFC 7617 'Basic' Authorization header into user and password."""
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic" or not param:
        raise AuthError("unsupported Authorization scheme; use Basic")
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise AuthError("malformed Basic credentials")
    return user, password
