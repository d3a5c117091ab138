"""A server inside the test process: the same app as roto-server, on its own event loop in a thread.

It listens on a real socket (port 0), so tests keep their real clients (requests, websocket-client,
curl); it only skips starting a Python process and importing everything again (about a second per
server). Where the process itself is the subject (CLI, signals, kill -9, log output, restarts) the
tests keep tests/server_process.ServerProcess.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import requests
from sanic import Sanic

from roto_server.app import create_app
from roto_server.config import parse_config
from roto_server.serve import serve_until
from tests.server_process import ADMIN_PASSWORD, TOKEN, ServerClient

_names = itertools.count()
# Sanic rewrites a few of its own methods for each app it starts; test mode lets it do that again for the
# next app of the same process (sanic-testing sets it too). All these apps are alike, so the rewrite fits each.
Sanic.test_mode = True
START_TIMEOUT_S = 30


class _Lines(logging.Handler):
    """The log lines as roto-server would print them (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + "\n")


class InProcessServer(ServerClient):
    """What tests use of ServerProcess (url, get, post, state, stop), without a process."""

    def __init__(
        self,
        data_dir: Path,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        credentials: bool = True,
    ) -> None:
        self.data_dir = data_dir
        # the whole process's log while this server runs (another in-process server's lines may show too)
        self._log = _Lines()
        logging.getLogger().addHandler(self._log)
        logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
        argv = ["--host", "127.0.0.1", "--http-port", "0", "--data-dir", str(data_dir), *args]
        if credentials:
            argv += ["--api-token", TOKEN, "--admin-password", ADMIN_PASSWORD]
        # as ServerProcess: tests poll freely; the rate-limit tests pass their limits as flags
        # no fixed ports in tests: RTSP (on by default, 8554) picks a free one like HTTP
        config = parse_config(argv, {**os.environ, "ROTO_RATE_LIMIT_HTTP": "0", "ROTO_RTSP_PORT": "0", **(env or {})})
        self.app: Sanic = create_app(config, name=f"roto_test_{next(_names)}")
        self.app.ctx.listeners.bind()  # the port is known before anything runs
        port = self.app.ctx.listeners.bound_ports()["http"]
        assert port is not None
        self.port = port
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"in-process {self.app.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failure is not None:
            raise RuntimeError(f"the in-process server did not start: {self._failure!r}")
        # one request, as ServerProcess makes: the listener answers (and rate-limit tests count it as the first)
        requests.get(self.url("/api"), timeout=10)

    def _run(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            self._loop.call_soon(self._ready.set)  # runs once serve_until has started the device and listeners
            await serve_until(self.app, self._stop)

        try:
            self._loop.run_until_complete(serve())
        except BaseException as exc:  # reported to the test that started it
            self._failure = exc
            self._ready.set()
        finally:
            self._loop.close()
            Sanic._app_registry.pop(self.app.name, None)

    def log(self) -> str:
        return "".join(self._log.lines)

    def stop(self, timeout: float = 10) -> int:
        """Stop as on SIGTERM: listeners closed, device stopped, settings saved. Returns 0 like a clean exit."""
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        logging.getLogger().removeHandler(self._log)
        if self._thread.is_alive():
            raise RuntimeError("the in-process server did not stop")
        if self._failure is not None:
            raise RuntimeError("the in-process server failed") from self._failure
        return 0
