"""The one request middleware: every module's per-request check, in a fixed order, on a path canonicalised once.

Sanic runs each registered middleware through its own machinery on every request. The C2 GET is
answered before routing can (GET /api is also the WebSocket route), so its cost is mostly what runs
in front of it: the modules hand their checks to the front desk instead, and a request pays for one
middleware and one canonical path.
"""

from __future__ import annotations

from collections.abc import Callable

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from roto_server.api.access import canonical_path

Check = Callable[[Request, str], HTTPResponse | None]

# The stages, in the order they run: a preflight carries no credentials, floods never reach
# password checks, a refused handshake never gets an upgrade, and the C2 GET is answered last.
PREFLIGHT, RATE_LIMIT, SOCKET_GATE, C2_GET = range(4)


class FrontDesk:
    """The checks every request passes, each given the request and its canonical path; the first
    that returns a response answers the request."""

    def __init__(self) -> None:
        self._staged: list[tuple[int, Check]] = []
        self.checks: tuple[Check, ...] = ()

    def add(self, stage: int, check: Check) -> None:
        self._staged.append((stage, check))
        self._staged.sort(key=lambda staged: staged[0])  # stable: one stage keeps the order of adding
        self.checks = tuple(check for _, check in self._staged)


def install(app: Sanic, desk: FrontDesk) -> None:
    # a plain function: Sanic awaits only what is awaitable, so no coroutine is made per request
    def front(request: Request) -> HTTPResponse | None:
        path = canonical_path(request.path)
        for check in desk.checks:
            response = check(request, path)
            if response is not None:
                return response
        return None

    app.on_request(front)
