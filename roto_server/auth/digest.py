"""HTTP Digest authentication (RFC 7616): MD5 and SHA-256, qop=auth, expiring nonces. No I/O.

Responses without qop (the RFC 2069 form) are accepted too, since many RTSP clients (ffmpeg, GStreamer, NVRs)
send none; they carry no nonce count, so within a nonce's lifetime such a response can be replayed for the
same method and URI, which is what those clients need (they reuse one nonce for the whole session).

Nonces are self-checking (a timestamp and its HMAC under a per-process secret), so no
table of issued nonces is needed; only the highest nonce count seen per nonce is kept,
in a bounded map, to refuse replayed requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.request import parse_http_list, parse_keqv_list

ALGORITHMS: dict[str, Callable[[bytes], str]] = {
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
}
NONCE_LIFETIME_S = 300
MAX_TRACKED_NONCES = 10_000
NONCE_COUNT = re.compile(r"[0-9a-fA-F]{1,8}")  # RFC 7616: 8 hex digits; int() alone also takes "0x1", "-1", "１２"


class DigestError(Exception):
    def __init__(self, message: str, stale: bool = False) -> None:
        super().__init__(message)
        self.stale = stale


@dataclass(frozen=True)
class DigestRequest:
    username: str
    params: dict[str, str]


def parse(header_value: str) -> DigestRequest:
    """The parameters of an 'Authorization: Digest ...' value (the scheme already removed)."""
    params = parse_keqv_list(parse_http_list(header_value))
    if "username" not in params:
        raise DigestError("Digest credentials without a username")
    return DigestRequest(params["username"], params)


class DigestAuth:
    def __init__(self, realm: str, secret: bytes | None = None) -> None:
        self.realm = realm
        self._secret = secret or secrets.token_bytes(32)
        self._counts: OrderedDict[str, int] = OrderedDict()

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def nonce(self, now: float) -> str:
        """A fresh nonce for every challenge: time, randomness, and their signature."""
        stamp = f"{int(now)}.{secrets.token_hex(8)}"
        return base64.b64encode(f"{stamp}:{self._sign(stamp)}".encode()).decode()

    def challenges(self, now: float, stale: bool = False) -> list[str]:
        """WWW-Authenticate values, SHA-256 first (clients pick the strongest they know)."""
        nonce, opaque = self.nonce(now), self._sign("opaque")
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", qop="auth", algorithm={name}, nonce="{nonce}", '
            f'opaque="{opaque}", charset=UTF-8{extra}'
            for name in ALGORITHMS
        ]

    def verify(self, request: DigestRequest, password: str, method: str, uri: str, now: float) -> None:
        """Raise DigestError unless the request proves knowledge of ``password``."""
        p = request.params
        algorithm = p.get("algorithm", "MD5")
        hash_ = ALGORITHMS.get(algorithm)
        if hash_ is None:
            raise DigestError(f"unsupported Digest algorithm {algorithm}; use SHA-256 or MD5")
        if p.get("realm") != self.realm:
            raise DigestError("Digest realm does not match")
        legacy = "qop" not in p  # RFC 2069: no qop, nc or cnonce
        if not legacy and (p.get("qop") != "auth" or not p.get("nc") or not p.get("cnonce")):
            raise DigestError("Digest needs qop=auth with nc and cnonce, or no qop at all")
        if not legacy and not NONCE_COUNT.fullmatch(p["nc"]):
            raise DigestError("Digest nc must be the nonce count in hexadecimal, e.g. 00000001")
        if p.get("uri") != uri:
            raise DigestError("Digest uri does not match the request")
        nonce = p.get("nonce", "")
        try:
            stamp, signature = base64.b64decode(nonce, validate=True).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise DigestError("malformed Digest nonce") from None
        if not hmac.compare_digest(signature, self._sign(stamp)):
            raise DigestError("Digest nonce was not issued here")
        if now - int(stamp.split(".", 1)[0]) > NONCE_LIFETIME_S:
            raise DigestError("Digest nonce expired", stale=True)
        ha1 = hash_(f"{request.username}:{self.realm}:{password}".encode())
        ha2 = hash_(f"{method}:{uri}".encode())
        if legacy:
            expected = hash_(f"{ha1}:{nonce}:{ha2}".encode())
        else:
            expected = hash_(f"{ha1}:{nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}".encode())
        if not hmac.compare_digest(expected, p.get("response", "")):
            raise DigestError("wrong user name or password")
        if legacy:
            return
        count = int(p["nc"], 16)
        if count <= self._counts.get(nonce, 0):
            raise DigestError("Digest nonce count reused (a replayed request)")
        self._counts[nonce] = count
        self._counts.move_to_end(nonce)
        while len(self._counts) > MAX_TRACKED_NONCES:
            self._counts.popitem(last=False)
