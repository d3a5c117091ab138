"""Start a real roto-server process on 127.0.0.1 with an ephemeral port, for tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

TOKEN = "test-token-123"
ADMIN_PASSWORD = "admin-pw-456"
_LISTEN = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class ServerClient:
    """What tests ask of a running unit, in-process or not: its URLs and the C2 API as the API-User."""

    port: int
    token = TOKEN
    admin_password = ADMIN_PASSWORD

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api?token={self.token}"

    def get(self, **params: Any) -> requests.Response:
        return requests.get(self.url("/api"), params={"token": self.token, **params}, timeout=10)

    def post(self, body: Any, auth: tuple[str, str] | None = None) -> requests.Response:
        return requests.post(self.url("/api"), json=body, auth=auth or ("API-User", self.token), timeout=10)

    def state(self, *names: str) -> dict[str, Any]:
        if names:
            return self.post({"get": list(names)}).json()  # type: ignore[no-any-return]
        return self.get().json()  # type: ignore[no-any-return]


class ServerProcess(ServerClient):
    def __init__(
        self,
        data_dir: Path,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        credentials: bool = True,
        port: int = 0,
    ) -> None:
        """``port`` 0 lets the OS choose; a test reuses an OS-chosen port only to restart in place."""
        self.data_dir = data_dir
        self.lines: list[str] = []
        cmd = [
            sys.executable,
            "-m",
            "roto_server",
            "--host",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ]
        if credentials:
            cmd += ["--api-token", TOKEN, "--admin-password", ADMIN_PASSWORD]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # tests poll freely; the limits have their own tests, which pass --rate-limit-http (flags win);
            # RTSP (on by default, stored port 8554) takes a free port, as no test may bind a fixed one
            env={**os.environ, "ROTO_RATE_LIMIT_HTTP": "0", "ROTO_RTSP_PORT": "0", **(env or {})},
        )
        self.port = self._wait_for_port()
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_ready()

    def _wait_for_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = _LISTEN.search(line)
            if match:
                return int(match.group(1))
        self.proc.kill()
        raise RuntimeError("roto-server did not start:\n" + "".join(self.lines))

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(self.url("/api"), timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("roto-server never answered:\n" + "".join(self.lines))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
            self.lines += [line + "\n" for line in status if line.startswith(("Sig", "ShdPnd"))]
            if shutil.which("py-spy"):  # native stacks too, when py-spy happens to be installed
                dump = subprocess.run(
                    ["py-spy", "dump", "--native", "--pid", str(self.proc.pid)], capture_output=True, text=True
                )
                self.lines.append("PYSPY\n" + dump.stdout + dump.stderr)
            self.proc.send_signal(signal.SIGUSR1)  # the server dumps its threads' stacks
            time.sleep(1.0)
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop within {timeout} s:\n{self.log()[-6000:]}") from None

    def log(self) -> str:
        return "".join(self.lines)
