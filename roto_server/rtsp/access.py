"""RTSP requests through the device's Gate: the same users, roles, Digest/Basic/?token= and lockouts as HTTP."""

from __future__ import annotations

import time

from roto_server.auth.gate import Attempt, Gate, TooManyFailures, Unauthorized
from roto_server.protocols.rtsp.auth import AuthAttempt, Authorize, Granted, Refused


def gate_authorizer(gate: Gate) -> Authorize:
    """The callback the RTSP session table asks about every request outside an established session."""

    def authorize(attempt: AuthAttempt, now: float) -> Granted | Refused:
        # the Gate's nonces and lockout windows run on the wall clock the HTTP side uses, not the table's
        wall = time.time()
        request = Attempt(dict(attempt.query), attempt.authorization, None, attempt.method, attempt.uri, attempt.peer)
        try:
            principal = gate.identify(request, wall)
        except TooManyFailures as exc:
            return Refused((), 403, f"{exc}; retry after {exc.retry_after} s")
        except Unauthorized as exc:
            # RTSP clients read only Digest and Basic; a Bearer challenge would only confuse them
            challenges = tuple(c for c in exc.challenges if not c.startswith("Bearer"))
            return Refused(challenges, 401, str(exc))
        return Granted(principal.name)

    return authorize
