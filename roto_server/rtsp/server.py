"""A thin asyncio RTSP server around the sans-IO SessionTable: TCP for requests and interleaved RTP,
a pair of UDP sockets shared by all UDP sessions, and one RtpStreamer task per playing session.

roto-server runs it as the "rtsp" listener (roto_server/listeners/rtsp.py) over the camera's MediaSource
(roto_server/rtsp/camera.py); tests also run it over a synthetic source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from roto_server.protocols.rtp.packet import RtpError
from roto_server.protocols.rtp.rtcp import ReceiverReport, SenderReport, parse_compound
from roto_server.protocols.rtsp.auth import Authorize, allow_anyone
from roto_server.protocols.rtsp.codec import Decoder, ProtocolError
from roto_server.protocols.rtsp.messages import Headers, InterleavedFrame, Request, Response
from roto_server.protocols.rtsp.sdp import StreamDescription
from roto_server.protocols.rtsp.sessions import (
    Session,
    SessionClosed,
    SessionEvent,
    SessionTable,
    StartPlaying,
    StopPlaying,
)
from roto_server.protocols.rtsp.urls import parse_control_url
from roto_server.rtsp.source import MediaSource
from roto_server.rtsp.streamer import RtpStreamer, Send

log = logging.getLogger("roto.rtsp")
# beyond this much unsent data on a TCP connection the reader is too slow: drop to the next keyframe
MAX_TCP_BACKLOG = 2 * 1024 * 1024
DESCRIBE_WAIT_S = 5.0


class _Connection:
    """One client TCP connection; sessions that stream interleaved write their packets here."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer: str = peer[0] if peer else ""

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def send_interleaved(self, channel: int, data: bytes) -> bool:
        if self.writer.is_closing() or self.writer.transport.get_write_buffer_size() > MAX_TCP_BACKLOG:
            return False
        self.writer.write(InterleavedFrame(channel, data).serialize())
        return True


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr)


class RtspServer:
    """Serves the paths of a MediaSource over RTSP; start() binds, close() ends every session and socket."""

    def __init__(
        self,
        source: MediaSource,
        authorize: Authorize = allow_anyone,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        udp: bool = True,
        max_playing: int = 10,
        max_sessions: int = 100,
        session_timeout: int = 60,
        report_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.host, self.requested_port, self.udp = host, port, udp
        self.table = SessionTable(
            authorize, max_playing=max_playing, max_sessions=max_sessions, timeout=session_timeout
        )
        self.report_interval = report_interval
        self.clock = clock
        self._server: asyncio.Server | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._streams: dict[str, asyncio.Task[None]] = {}
        self._connections: set[_Connection] = set()
        self._reaper: asyncio.Task[None] | None = None
        self.on_sessions: Callable[[], None] | None = None  # told after anything that may change the sessions

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, sock: socket.socket | None = None) -> None:
        """Serve on ``sock`` (already listening) or bind host:port; UDP binds on the same address."""
        if sock is not None:
            self.host = str(sock.getsockname()[0])
            self._server = await asyncio.start_server(self._serve, sock=sock)
        else:
            self._server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        if self.udp:
            self.table.udp_server_ports = await self._open_udp_pair()
        self._reaper = asyncio.create_task(self._expire_sessions())
        log.info("RTSP listening on %s:%d (UDP %s)", self.host, self.port, self.table.udp_server_ports)

    async def close(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        for task in list(self._streams.values()):
            task.cancel()
        await asyncio.gather(*self._streams.values(), return_exceptions=True)
        if self._server:
            self._server.close()
        for connection in list(self._connections):
            connection.writer.close()
        for transport in (self._rtp, self._rtcp):
            if transport:
                transport.close()
        if self._server:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _open_udp_pair(self) -> tuple[int, int]:
        """An RTP socket and an RTCP socket on the next port: clients send receiver reports to RTP port + 1."""
        loop = asyncio.get_running_loop()
        for _ in range(50):
            rtp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(lambda data, addr: None), local_addr=(self.host, 0)
            )
            port = int(rtp.get_extra_info("sockname")[1])
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    lambda: _Datagrams(self._on_rtcp), local_addr=(self.host, port + 1)
                )
            except OSError:
                rtp.close()
                continue
            self._rtp, self._rtcp = rtp, rtcp
            return port, port + 1
        raise OSError("found no two consecutive free UDP ports for RTP and RTCP")

    # --- TCP: requests and interleaved data ----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer)
        self._connections.add(connection)
        decoder = Decoder()
        try:
            while not decoder.failed and (data := await reader.read(65536)):
                for event in decoder.feed(data):
                    if isinstance(event, Request):
                        await self._answer(connection, event)
                    elif isinstance(event, InterleavedFrame):
                        self._on_interleaved(connection, event)
                    elif isinstance(event, ProtocolError):
                        self._refuse(connection, event)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._connections.discard(connection)
            self._apply(self.table.connection_closed(connection))
            writer.close()

    def _refuse(self, connection: _Connection, error: ProtocolError) -> None:
        log.info("RTSP refused from %s: %s %s", connection.peer, error.status, error.reason)
        headers = [("CSeq", str(error.cseq))] if error.cseq is not None else []
        headers += [("X-Reason", error.reason), ("Content-Type", "text/plain")]
        connection.send(Response(error.status, Headers(tuple(headers)), f"{error.reason}\r\n".encode()).serialize())

    async def _answer(self, connection: _Connection, request: Request) -> None:
        description: StreamDescription | None = None
        if request.method in ("DESCRIBE", "SETUP") and (url := parse_control_url(request.uri)):
            try:
                description = await asyncio.wait_for(self.source.describe(url.path, url.query), DESCRIBE_WAIT_S)
            except Exception:
                log.exception("describing %s failed", url.path)
                refusal = ProtocolError(503, f"/{url.path} is not available right now", request.cseq)
                self._refuse(connection, refusal)
                return
        outcome = self.table.handle(
            request, now=self.clock(), connection=connection, peer=connection.peer, description=description
        )
        connection.send(outcome.response.serialize())
        self._apply(outcome.events)
        if request.method in ("SETUP", "PLAY", "PAUSE", "TEARDOWN"):
            self._sessions_changed()
        # a client that pipelines requests without reading the answers is held back here, not buffered for
        await connection.writer.drain()

    def _on_interleaved(self, connection: _Connection, frame: InterleavedFrame) -> None:
        if frame.channel % 2 == 1:  # RTCP travels on the odd channel of each pair
            self._on_rtcp(frame.data, (connection.peer, -1))

    def _on_rtcp(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packets = parse_compound(data)
        except RtpError:
            return
        for packet in packets:
            if isinstance(packet, ReceiverReport | SenderReport):
                for block in packet.reports:
                    session = self.table.session_for_ssrc(block.ssrc)
                    if session and session.peer == addr[0]:
                        self.table.touch(session.id, self.clock())

    # --- sessions -----------------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The sessions now, for rtspStatus: how many, how many play, and who watches what over which transport."""
        sessions = list(self.table.sessions.values())
        return {
            "sessions": len(sessions),
            "playing": self.table.playing,
            "maxPlaying": self.table.max_playing,
            "clients": [
                {
                    "address": s.peer,
                    "path": f"/{s.path}",
                    "transport": "tcp" if s.interleaved else "udp",
                    "state": s.state.name.lower(),
                    "user": s.user,
                }
                for s in sessions
            ],
        }

    def _sessions_changed(self) -> None:
        if self.on_sessions is not None:
            self.on_sessions()

    def _apply(self, events: Iterable[SessionEvent]) -> None:
        events = list(events)
        if events:
            asyncio.get_running_loop().call_soon(self._sessions_changed)
        for event in events:
            if isinstance(event, StartPlaying):
                self._play(event.session)
            elif isinstance(event, StopPlaying | SessionClosed):
                task = self._streams.pop(event.session.id, None)
                if task:
                    task.cancel()
                if isinstance(event, SessionClosed):
                    log.info("RTSP session %s of %s ended: %s", event.session.id, event.session.peer, event.reason)

    def _play(self, session: Session) -> None:
        sender = session.tracks.get(0)
        if sender is None:
            return
        track = session.description.tracks[0]
        if sender.transport.lower == "tcp":
            send_rtp, send_rtcp = self._tcp_senders(session)
        else:
            send_rtp, send_rtcp = self._udp_senders(session)
        streamer = RtpStreamer(sender, track, send_rtp, send_rtcp, self.report_interval)
        frames = self.source.frames(session.path, session.query)
        task = asyncio.create_task(streamer.run(frames), name=f"rtsp-{session.id}")
        task.add_done_callback(lambda done: self._stream_ended(session, done))
        self._streams[session.id] = task

    def _tcp_senders(self, session: Session) -> tuple[Send, Send]:
        connection = session.connection
        assert isinstance(connection, _Connection)
        rtp_channel, rtcp_channel = session.tracks[0].transport.channels or (0, 1)

        def send_rtp(data: bytes) -> bool:
            return connection.send_interleaved(rtp_channel, data)

        def send_rtcp(data: bytes) -> bool:
            return connection.send_interleaved(rtcp_channel, data)

        return send_rtp, send_rtcp

    def _udp_senders(self, session: Session) -> tuple[Send, Send]:
        ports = session.tracks[0].transport.client_ports or (0, 0)
        rtp, rtcp = self._rtp, self._rtcp
        assert rtp is not None and rtcp is not None

        def send_rtp(data: bytes) -> bool:
            rtp.sendto(data, (session.peer, ports[0]))
            return True

        def send_rtcp(data: bytes) -> bool:
            rtcp.sendto(data, (session.peer, ports[1]))
            return True

        return send_rtp, send_rtcp

    def _stream_ended(self, session: Session, task: asyncio.Task[None]) -> None:
        if self._streams.get(session.id) is task:
            del self._streams[session.id]
        if not task.cancelled() and task.exception() is not None:
            log.error("RTSP stream of session %s failed", session.id, exc_info=task.exception())
            # a player would otherwise wait for pictures until its own timeout: end the session, and its
            # TCP connection so that an interleaved player learns at once
            self._apply(self.table.end(session.id, "its stream failed"))
            if session.interleaved and isinstance(session.connection, _Connection):
                session.connection.writer.close()

    async def _expire_sessions(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.table.timeout / 4))
            self._apply(self.table.expire(self.clock()))
