"""How many admin passwords can one address try a minute while it floods junk user names?

Drives the Gate directly on a simulated clock (no server, no sleeps): the attacker sends
``--rate`` login attempts a second from one address; one attempt in ``--admin-every`` guesses admin's
password, the others a fresh junk user name each, hoping to push admin's
lockout out of the failure table. Prints the admin guesses that were really checked per minute.

    PYTHONPATH=. python scripts/bench_lockout.py --rate 1000 --minutes 10
"""

from __future__ import annotations

import argparse

from roto_server.auth.credentials import Authenticator
from roto_server.auth.gate import Attempt, Gate, TooManyFailures, Unauthorized


def attempt(client: str) -> Attempt:
    return Attempt({}, None, None, "POST", "/api/login", client)


def admin_guesses_per_minute(rate: float, minutes: float, admin_every: int) -> float:
    gate = Gate(Authenticator.for_device("token", "the-real-admin-password"), anonymous_allowed=lambda: False)
    attacker = attempt("203.0.113.7")
    checked = 0
    for step in range(int(rate * 60 * minutes)):
        now = 1_000_000.0 + step / rate
        user = "admin" if step % admin_every == 0 else f"junk{step}"
        try:
            gate.login(attacker, user, f"guess{step}", now)
        except Unauthorized:
            checked += user == "admin"  # admin's password was really compared
        except TooManyFailures:
            pass
    return checked / minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="attempts a second from the attacker")
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    parser.add_argument("--admin-every", type=int, default=100, help="one admin guess every N attempts")
    args = parser.parse_args()
    per_minute = admin_guesses_per_minute(args.rate, args.minutes, args.admin_every)
    print(f"{args.rate:.0f} attempts/s for {args.minutes:g} simulated minutes: {per_minute:.1f} admin guesses a minute")


if __name__ == "__main__":
    main()
