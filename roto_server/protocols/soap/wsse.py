"""WS-Security UsernameToken (PasswordDigest and PasswordText), checked against a clock passed in."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from .envelope import child

PASSWORD_DIGEST = "PasswordDigest"
CLOCK_SKEW_S = 300.0  # ONVIF allows a Created this far from the device's clock either way
NONCE_WINDOW_S = 2 * CLOCK_SKEW_S  # a nonce older than this is refused by its Created anyway
NONCE_CACHE_SIZE = 4096


class TokenError(Exception):
    """The token is malformed, stale, replayed or its password is wrong."""


@dataclass(frozen=True)
class UsernameToken:
    username: str
    password: str
    digest: bool
    nonce: bytes
    created: str  # as sent: the digest covers these exact characters


def find_token(header: etree._Element | None) -> UsernameToken | None:
    """The UsernameToken of a SOAP header, found by local names (clients use several WSSE prefixes)."""
    token = child(header, "Security", "UsernameToken")
    if token is None:
        return None
    user = child(token, "Username")
    password = child(token, "Password")
    if user is None or password is None:
        raise TokenError("the UsernameToken needs a Username and a Password")
    kind = (password.get("Type") or "").rsplit("#", 1)[-1]
    nonce_node, created_node = child(token, "Nonce"), child(token, "Created")
    try:
        nonce = base64.b64decode((nonce_node.text or "").strip(), validate=True) if nonce_node is not None else b""
    except (binascii.Error, ValueError):
        raise TokenError("the UsernameToken Nonce is not base64") from None
    created = (created_node.text or "").strip() if created_node is not None else ""
    return UsernameToken(
        (user.text or "").strip(), (password.text or "").strip(), kind == PASSWORD_DIGEST, nonce, created
    )


def _created_at(created: str) -> float:
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise TokenError(f"the UsernameToken Created {created!r} is not an xs:dateTime") from None


class NonceCache:
    """Nonces seen recently, so a captured digest cannot be sent again; bounded in size and age."""

    def __init__(self, size: int = NONCE_CACHE_SIZE, window_s: float = NONCE_WINDOW_S) -> None:
        self.size = size
        self.window_s = window_s
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def fresh(self, nonce: bytes, now: float) -> bool:
        """Whether the nonce is new; remembers it either way."""
        while self._seen and (len(self._seen) >= self.size or next(iter(self._seen.values())) < now - self.window_s):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


def verify(token: UsernameToken, password: str, now: float, nonces: NonceCache) -> None:
    """Raise TokenError unless the token proves ``password``; a digest must be recent and its nonce new."""
    if token.digest:
        if not token.created or not token.nonce:
            raise TokenError("a PasswordDigest needs a Nonce and a Created")
        skew = _created_at(token.created) - now
        if abs(skew) > CLOCK_SKEW_S:
            raise TokenError(f"the UsernameToken Created is {skew:+.0f} s from the device clock (allowed ±300 s)")
        expected = base64.b64encode(
            hashlib.sha1(token.nonce + token.created.encode() + password.encode()).digest()
        ).decode()
        if not hmac.compare_digest(expected, token.password):
            raise TokenError("wrong user name or password")
        if not nonces.fresh(token.nonce, now):
            raise TokenError("the UsernameToken Nonce was already used")
        return
    if token.created and abs(_created_at(token.created) - now) > CLOCK_SKEW_S:
        raise TokenError("the UsernameToken Created is more than 300 s from the device clock")
    if not hmac.compare_digest(token.password.encode(), password.encode()):
        raise TokenError("wrong user name or password")
