"""The sans-IO authentication pieces: Digest, the window limiter, sessions."""

from __future__ import annotations

import hashlib

import pytest

from roto_server.auth.digest import NONCE_LIFETIME_S, DigestAuth, DigestError, parse
from roto_server.auth.limits import WindowLimiter
from roto_server.auth.sessions import SessionStore


def answer(
    auth: DigestAuth,
    nonce: str,
    *,
    password: str = "pw",
    nc: str = "00000001",
    uri: str = "/api/info",
    algorithm: str = "SHA-256",
) -> str:
    def h(text: str) -> str:
        return hashlib.new("sha256" if algorithm == "SHA-256" else "md5", text.encode()).hexdigest()

    response = h(f"{h(f'admin:roto:{password}')}:{nonce}:{nc}:c0ffee:auth:{h(f'GET:{uri}')}")
    return (
        f'username="admin", realm="roto", nonce="{nonce}", uri="{uri}", algorithm={algorithm}, '
        f'response="{response}", qop=auth, nc={nc}, cnonce="c0ffee"'
    )


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_digest_accepts_a_correct_proof_once(algorithm: str) -> None:
    auth = DigestAuth("roto")
    nonce = auth.nonce(1000.0)
    auth.verify(parse(answer(auth, nonce, algorithm=algorithm)), "pw", "GET", "/api/info", 1001.0)
    with pytest.raises(DigestError, match="reused"):
        auth.verify(parse(answer(auth, nonce, algorithm=algorithm)), "pw", "GET", "/api/info", 1002.0)
    auth.verify(parse(answer(auth, nonce, nc="00000002", algorithm=algorithm)), "pw", "GET", "/api/info", 1002.0)


def test_digest_refusals() -> None:
    auth = DigestAuth("roto")
    nonce = auth.nonce(1000.0)
    with pytest.raises(DigestError, match="wrong"):
        auth.verify(parse(answer(auth, nonce, password="guess")), "pw", "GET", "/api/info", 1001.0)
    with pytest.raises(DigestError, match="uri"):
        auth.verify(parse(answer(auth, nonce)), "pw", "GET", "/api/status", 1001.0)
    with pytest.raises(DigestError) as expired:
        auth.verify(parse(answer(auth, nonce)), "pw", "GET", "/api/info", 1000.0 + NONCE_LIFETIME_S + 1)
    assert expired.value.stale
    forged = DigestAuth("roto").nonce(1000.0)  # another secret
    with pytest.raises(DigestError, match="not issued here"):
        auth.verify(parse(answer(auth, forged)), "pw", "GET", "/api/info", 1001.0)
    assert auth.nonce(1000.0) != auth.nonce(1000.0)  # every challenge gets its own nonce


def test_window_limiter_counts_per_key_and_stays_bounded() -> None:
    limiter = WindowLimiter(3, 60.0, max_keys=100)
    assert [limiter.hit("a", 0.0).allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("b", 1.0).allowed and not limiter.check("a", 59.0).allowed
    assert limiter.check("a", 59.0).reset_after == 1
    assert limiter.check("a", 60.0).allowed  # a new window
    for i in range(1000):
        limiter.hit(f"client{i}", 2.0)
    assert len(limiter) == 100


def test_sessions_expire_and_can_be_revoked() -> None:
    sessions = SessionStore(lifetime=10)
    session = sessions.issue("admin", "admin", 0.0)
    assert sessions.find(session.token, 5.0) == session
    assert sessions.find(session.token, 10.0) is None
    other = sessions.issue("API-User", "operator", 0.0)
    assert sessions.revoke(other.token) and sessions.find(other.token, 1.0) is None
