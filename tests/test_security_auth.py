"""Security regressions of the authentication layer itself (no server): lockout under floods, Digest input."""

from __future__ import annotations

import hashlib

import pytest

from roto_server.auth.credentials import Authenticator
from roto_server.auth.digest import DigestAuth, DigestError, parse
from roto_server.auth.gate import Attempt, Gate, TooManyFailures, Unauthorized
from roto_server.auth.limits import MAX_KEYS, WindowLimiter

ADMIN_PASSWORD = "the-admin-password"
T0 = 1_000_000.0


def gate() -> Gate:
    return Gate(Authenticator.for_device("token", ADMIN_PASSWORD), anonymous_allowed=lambda: False)


def login(g: Gate, client: str, user: str, password: str, now: float = T0) -> str:
    """What the Gate did with one attempt: 'ok', 'wrong' or 'locked'."""
    try:
        g.login(Attempt({}, None, None, "POST", "/api/login", client), user, password, now)
    except Unauthorized:
        return "wrong"
    except TooManyFailures:
        return "locked"
    return "ok"


def lock_admin(g: Gate, client: str) -> None:
    while login(g, client, "admin", "guess") == "wrong":
        pass
    assert login(g, client, "admin", ADMIN_PASSWORD) == "locked"


def test_junk_user_names_from_the_same_address_do_not_reopen_admin() -> None:
    g = gate()
    lock_admin(g, "203.0.113.7")
    outcomes = {login(g, "203.0.113.7", f"junk{i}", "x", T0 + 1) for i in range(MAX_KEYS + 100)}
    assert outcomes == {"wrong", "locked"}  # the address itself gets locked out as well
    assert login(g, "203.0.113.7", "admin", ADMIN_PASSWORD, T0 + 2) == "locked"
    assert login(g, "198.51.100.1", "admin", ADMIN_PASSWORD, T0 + 2) == "ok"  # others are not locked out


def test_a_flood_from_many_addresses_does_not_evict_a_live_lockout() -> None:
    g = gate()
    lock_admin(g, "203.0.113.7")
    for i in range(MAX_KEYS + 100):  # every table fills with idle-ish entries from other addresses
        login(g, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", f"junk{i}", "x", T0 + 1)
    assert len(g.failures) <= MAX_KEYS and len(g.address_failures) <= MAX_KEYS
    assert login(g, "203.0.113.7", "admin", ADMIN_PASSWORD, T0 + 2) == "locked"
    assert login(g, "203.0.113.7", "admin", ADMIN_PASSWORD, T0 + 301) == "ok"  # and it ends on time


def test_limiter_evicts_idle_and_open_entries_before_live_lockouts() -> None:
    limiter = WindowLimiter(2, 60.0, max_keys=10)
    limiter.hit("expired", 0.0)
    limiter.hit("expired", 0.0)
    for _ in range(2):
        limiter.hit("locked", 100.0)
    for i in range(50):
        limiter.hit(f"new{i}", 101.0)
    assert len(limiter) == 10
    assert not limiter.check("locked", 102.0).allowed
    assert limiter.check("expired", 102.0).remaining == 2


def test_limiter_full_of_lockouts_stays_bounded() -> None:
    limiter = WindowLimiter(1, 60.0, max_keys=10)
    for i in range(100):
        limiter.hit(f"locked{i}", float(i) / 100)
    assert len(limiter) == 10
    assert not limiter.check("locked99", 2.0).allowed  # the newest lockouts are kept


@pytest.mark.parametrize("nc", ["zz", "0x1", "1 2", "-1", "１２"])
def test_digest_nonce_count_that_is_not_hex_is_refused_cleanly(nc: str) -> None:
    auth = DigestAuth("roto")
    nonce = auth.nonce(T0)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    proof = md5(f"{md5('admin:roto:pw')}:{nonce}:{nc}:c0ffee:auth:{md5('GET:/api')}")  # right password
    header = (
        f'username="admin", realm="roto", nonce="{nonce}", uri="/api", algorithm=MD5, '
        f'response="{proof}", qop=auth, nc="{nc}", cnonce="c0ffee"'
    )
    with pytest.raises(DigestError, match="nc must be"):
        auth.verify(parse(header), "pw", "GET", "/api", T0)


def test_a_lockout_is_logged_once_when_it_begins(caplog: pytest.LogCaptureFixture) -> None:
    g = gate()
    with caplog.at_level("INFO", logger="roto.auth"):
        lock_admin(g, "203.0.113.9")
        login(g, "203.0.113.9", "admin", "again")  # refused while locked: no new lines
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("failed login")]
    locked = [r.getMessage() for r in caplog.records if "locked out" in r.getMessage()]
    assert len(failed) == 5 and "'admin' from 203.0.113.9" in failed[0] and "guess" not in failed[0]
    assert locked == ["user 'admin' from 203.0.113.9 locked out for 300 s after 5 failed logins"]
