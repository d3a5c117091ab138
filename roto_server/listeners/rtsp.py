"""The RTSP listener: the camera's /stream1, /stream2 and /recording, opened and closed from rtspOn/rtspPort."""

from __future__ import annotations

import socket
from typing import Any

from roto_server.auth.gate import Gate
from roto_server.device.store import StateStore
from roto_server.rtsp.access import gate_authorizer
from roto_server.rtsp.server import RtspServer
from roto_server.rtsp.source import MediaSource

from . import Serving, tcp_bind

DEFAULT_MAX_PLAYING = 10  # the vendor's "RTSP connections: 10 concurrent", counted as playing sessions
PATHS = ("/stream1", "/stream2", "/recording")


class RtspKind:
    """One RtspServer per listening socket; rtspStatus carries the sessions of the one serving."""

    name = "rtsp"
    schemes: tuple[str, ...] = ("rtsp",)
    paths = PATHS  # what connectionUrls lists per base URL
    serves_api = False  # a unit reachable only over RTSP could not be configured: it must not start so

    def __init__(self, source: MediaSource, gate: Gate, store: StateStore, max_playing: int = DEFAULT_MAX_PLAYING):
        self.source = source
        self.authorize = gate_authorizer(gate)
        self.store = store
        self.max_playing = max_playing
        self.server: RtspServer | None = None
        self._reported: dict[str, Any] | None = None

    def bind(self, host: str, port: int) -> socket.socket:
        return tcp_bind(host, port)

    async def serve(self, sock: socket.socket) -> Serving:
        server = RtspServer(self.source, self.authorize, max_playing=self.max_playing)
        await server.start(sock)
        server.on_sessions = lambda: self._report(server)
        self.server = server
        return _Closing(self, server)

    def status(self) -> dict[str, Any]:
        """What rtspStatus adds while serving: the session summary."""
        return self.server.summary() if self.server is not None else {}

    def _report(self, server: RtspServer) -> None:
        if server is not self.server:
            return
        summary = server.summary()
        current = self.store["rtspStatus"]
        if summary == self._reported or not current.get("running"):
            return
        self._reported = summary
        self.store.set_facts({"rtspStatus": {**current, **summary}})


class _Closing:
    """Closes the server and forgets it, so the status no longer reports its sessions."""

    def __init__(self, kind: RtspKind, server: RtspServer) -> None:
        self.kind, self.server = kind, server

    async def close(self) -> None:
        if self.kind.server is self.server:
            self.kind.server = None
        await self.server.close()
