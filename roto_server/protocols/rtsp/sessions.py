"""The RTSP session table: requests in, responses and session events out, time passed in (no I/O).

A session is created by SETUP, plays after PLAY and ends with TEARDOWN, with its TCP connection when it
streams interleaved, or when nothing was heard from it for `timeout` seconds. Any request naming the session
(including OPTIONS and GET_PARAMETER keep-alives) and any RTCP receiver report (via touch()) keeps it alive.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import parse_qsl, urlsplit

from roto_server.protocols.rtsp.auth import AuthAttempt, Authorize, Granted
from roto_server.protocols.rtsp.messages import Headers, Request, Response
from roto_server.protocols.rtsp.sdp import StreamDescription, build_sdp
from roto_server.protocols.rtsp.transport import Transport, TransportError, parse_offers
from roto_server.protocols.rtsp.urls import PATHS, ControlUrl, parse_control_url

PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
KNOWN_UNSUPPORTED = {"ANNOUNCE", "RECORD", "REDIRECT"}
DEFAULT_TIMEOUT_S = 60
DEFAULT_MAX_PLAYING = 10
DEFAULT_MAX_SESSIONS = 100


class State(Enum):
    READY = "ready"
    PLAYING = "playing"
    PAUSED = "paused"


@dataclass
class TrackSender:
    """What one track sends: the transport chosen in SETUP and the RTP counters the I/O layer advances."""

    track: int
    transport: Transport
    ssrc: int
    next_sequence: int
    next_rtptime: int
    packets: int = 0
    octets: int = 0


@dataclass
class Session:
    id: str
    path: str
    base: str
    connection: Hashable
    peer: str
    user: str | None
    description: StreamDescription
    expires_at: float
    query: dict[str, str] = field(default_factory=dict)
    tracks: dict[int, TrackSender] = field(default_factory=dict)
    state: State = State.READY

    @property
    def interleaved(self) -> bool:
        return any(sender.transport.lower == "tcp" for sender in self.tracks.values())


@dataclass(frozen=True)
class StartPlaying:
    session: Session


@dataclass(frozen=True)
class StopPlaying:
    session: Session


@dataclass(frozen=True)
class SessionClosed:
    session: Session
    reason: str


SessionEvent = StartPlaying | StopPlaying | SessionClosed


@dataclass(frozen=True)
class Outcome:
    response: Response
    events: tuple[SessionEvent, ...] = ()


class Refusal(Exception):
    """A request answered with an error status; raised inside handlers, turned into a response once."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers


class SessionTable:
    """Every RTSP session of one server, and the rules for creating, playing and ending them."""

    def __init__(
        self,
        authorize: Authorize,
        *,
        max_playing: int = DEFAULT_MAX_PLAYING,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        timeout: int = DEFAULT_TIMEOUT_S,
        udp_server_ports: tuple[int, int] | None = None,
        rng: random.Random | None = None,
        server_name: str = "roto",
    ) -> None:
        self.authorize = authorize
        self.max_playing = max_playing
        # sessions set up but never played cost a table entry each until they expire: bound them as well
        self.max_sessions = max_sessions
        self.timeout = timeout
        self.udp_server_ports = udp_server_ports  # None: this server offers only TCP interleaved
        self.server_name = server_name
        self._rng = rng or secrets.SystemRandom()
        self.sessions: dict[str, Session] = {}

    @property
    def playing(self) -> int:
        return sum(session.state is State.PLAYING for session in self.sessions.values())

    def handle(
        self,
        request: Request,
        *,
        now: float,
        connection: Hashable,
        peer: str = "",
        description: StreamDescription | None = None,
    ) -> Outcome:
        """Answer one request. `description` is what the caller found at the path the URI names (None: nothing)."""
        cseq = request.headers.get("CSeq")
        if cseq is None:
            return Outcome(self._error(None, Refusal(400, "the CSeq header is missing; every request needs one")))
        try:
            session = self._session_of(request, now)
            user = session.user if session else self._identify(request, now, peer)
            return self._dispatch(request, cseq, session, user, now, connection, peer, description)
        except Refusal as refusal:
            return Outcome(self._error(cseq, refusal))

    def touch(self, session_id: str, now: float) -> bool:
        """Keep a session alive (an RTCP receiver report arrived); False when no such session exists."""
        session = self.sessions.get(session_id)
        if session:
            session.expires_at = now + self.timeout
        return session is not None

    def session_for_ssrc(self, ssrc: int) -> Session | None:
        return next((s for s in self.sessions.values() if any(t.ssrc == ssrc for t in s.tracks.values())), None)

    def expire(self, now: float) -> list[SessionClosed]:
        """Remove and report every session that was silent for longer than its timeout."""
        gone = [session for session in self.sessions.values() if session.expires_at <= now]
        return [self._close(session, f"no request or receiver report for {self.timeout} s") for session in gone]

    def connection_closed(self, connection: Hashable) -> list[SessionClosed]:
        """Sessions streaming over a closed TCP connection end with it; UDP sessions outlive it (RFC 2326)."""
        gone = [s for s in self.sessions.values() if s.connection == connection and s.interleaved]
        return [self._close(session, "its TCP connection closed") for session in gone]

    def end(self, session_id: str, reason: str) -> list[SessionClosed]:
        """End a session for a reason of the I/O layer (its stream failed); nothing if it is gone already."""
        session = self.sessions.get(session_id)
        return [self._close(session, reason)] if session is not None else []

    def next_expiry(self) -> float | None:
        return min((session.expires_at for session in self.sessions.values()), default=None)

    # --- request handling -------------------------------------------------------------------------------

    def _session_of(self, request: Request, now: float) -> Session | None:
        session_id = request.session_id
        if session_id is None:
            return None
        session = self.sessions.get(session_id)
        if session is None:
            raise Refusal(454, f"session {session_id[:32]!r} does not exist (it ended or expired)")
        session.expires_at = now + self.timeout
        return session

    def _identify(self, request: Request, now: float, peer: str) -> str | None:
        """The user behind a request outside any session; OPTIONS is answered to anyone, as clients probe first."""
        if request.method == "OPTIONS":
            return None
        url = parse_control_url(request.uri)
        # a path that names no stream still carries its ?token=, so a typo is answered 404, not 401
        query = url.query if url else dict(parse_qsl(urlsplit(request.uri).query))
        attempt = AuthAttempt(request.method, request.uri, request.headers.get("Authorization"), query, peer)
        verdict = self.authorize(attempt, now)
        if isinstance(verdict, Granted):
            return verdict.user
        raise Refusal(verdict.status, verdict.reason, tuple(("WWW-Authenticate", c) for c in verdict.challenges))

    def _dispatch(
        self,
        request: Request,
        cseq: str,
        session: Session | None,
        user: str | None,
        now: float,
        connection: Hashable,
        peer: str,
        description: StreamDescription | None,
    ) -> Outcome:
        method = request.method
        if method == "OPTIONS":
            return Outcome(self._ok(cseq, session, [("Public", PUBLIC)]))
        if method == "DESCRIBE":
            return Outcome(self._describe(request, cseq, description))
        if method == "SETUP":
            return Outcome(self._setup(request, cseq, session, user, now, connection, peer, description))
        if method in ("GET_PARAMETER", "SET_PARAMETER"):
            if method == "SET_PARAMETER" and request.body.strip():
                raise Refusal(451, "no parameter can be set over RTSP; SET_PARAMETER only keeps a session alive")
            return Outcome(self._ok(cseq, session))
        if method in ("PLAY", "PAUSE", "TEARDOWN"):
            if session is None:
                raise Refusal(454, f"{method} needs the Session header that SETUP returned")
            return {"PLAY": self._play, "PAUSE": self._pause, "TEARDOWN": self._teardown}[method](cseq, session)
        if method in KNOWN_UNSUPPORTED:
            raise Refusal(405, f"{method} is not supported: this server only plays", (("Allow", PUBLIC),))
        raise Refusal(501, f"unknown method {method[:32]!r}; supported: {PUBLIC}")

    def _resource(
        self, request: Request, description: StreamDescription | None
    ) -> tuple[ControlUrl, StreamDescription]:
        url = parse_control_url(request.uri)
        if url is None or description is None:
            paths = ", ".join(f"/{path}" for path in PATHS)
            raise Refusal(404, f"no stream at {request.uri[:120]!r}; the streams are {paths}")
        return url, description

    def _describe(self, request: Request, cseq: str, description: StreamDescription | None) -> Response:
        url, found = self._resource(request, description)
        accept = request.headers.get("Accept")
        if accept and "application/sdp" not in accept and "*/*" not in accept:
            raise Refusal(406, f"DESCRIBE answers only application/sdp, not {accept[:60]!r}")
        sdp = build_sdp(found, self._rng.getrandbits(48), "0.0.0.0")
        headers = [("Content-Base", url.base), ("Content-Type", "application/sdp")]
        return Response(200, self._headers(cseq, None, headers), sdp)

    def _setup(
        self,
        request: Request,
        cseq: str,
        session: Session | None,
        user: str | None,
        now: float,
        connection: Hashable,
        peer: str,
        description: StreamDescription | None,
    ) -> Response:
        url, found = self._resource(request, description)
        track = url.track or 0
        if track >= len(found.tracks):
            raise Refusal(404, f"{url.path} has no track {track}; it has {len(found.tracks)}")
        if session is not None and session.path != url.path:
            raise Refusal(459, f"session plays /{session.path}; set up /{url.path} in a new session")
        if session is not None and session.state is State.PLAYING:
            raise Refusal(455, "SETUP is not allowed while the session plays; PAUSE it first")
        transport = self._choose_transport(request, url, session, connection)
        if session is None and len(self.sessions) >= self.max_sessions:
            raise Refusal(453, f"{self.max_sessions} sessions exist already, the most this server keeps")
        if session is None:
            session = Session(
                self._new_id(), url.path, url.base, connection, peer, user, found, now + self.timeout, url.query
            )
            self.sessions[session.id] = session
        sender = TrackSender(
            track, transport, self._rng.getrandbits(32), self._rng.getrandbits(16), self._rng.getrandbits(32)
        )
        sender.transport = Transport(**{**transport.__dict__, "ssrc": sender.ssrc})
        session.tracks[track] = sender
        return self._ok(cseq, session, [("Transport", sender.transport.serialize())])

    def _choose_transport(
        self, request: Request, url: ControlUrl, session: Session | None, connection: Hashable
    ) -> Transport:
        header = request.headers.get("Transport")
        if not header:
            raise Refusal(400, "SETUP needs a Transport header (RTP/AVP;unicast;client_port=N-M or RTP/AVP/TCP)")
        reasons = []
        for offer in parse_offers(header):
            if isinstance(offer, TransportError):
                reasons.append(str(offer))
            elif offer.lower == "udp" and (self.udp_server_ports is None or "tcp" in url.query):
                reasons.append("UDP is not offered here; use RTP/AVP/TCP interleaved")
            elif offer.lower == "tcp" and "udp" in url.query:
                reasons.append("the URL asks for UDP (?udp); use RTP/AVP with client_port")
            elif offer.lower == "udp":
                return Transport("udp", client_ports=offer.client_ports, server_ports=self.udp_server_ports)
            else:
                return Transport("tcp", channels=self._channels(offer.channels, session, connection))
        raise Refusal(461, "; ".join(reasons) or "no transport offered")

    def _channels(
        self, wanted: tuple[int, int] | None, session: Session | None, connection: Hashable
    ) -> tuple[int, int]:
        taken = {
            channel
            for other in self.sessions.values()
            if other.connection == connection and other is not session
            for sender in other.tracks.values()
            if sender.transport.channels
            for channel in sender.transport.channels
        }
        if wanted and max(wanted) <= 255 and not taken & set(wanted):
            return wanted
        low = next((n for n in range(0, 255, 2) if not taken & {n, n + 1}), None)
        if low is None:
            raise Refusal(461, "every interleaved channel of this connection is in use")
        return low, low + 1

    def _play(self, cseq: str, session: Session) -> Outcome:
        events: tuple[SessionEvent, ...] = ()
        if session.state is not State.PLAYING:
            if self.playing >= self.max_playing:
                raise Refusal(453, f"{self.max_playing} sessions are playing already, the most this server allows")
            session.state = State.PLAYING
            events = (StartPlaying(session),)
        rtp_info = ",".join(
            f"url={session.base}trackID={sender.track};seq={sender.next_sequence};rtptime={sender.next_rtptime}"
            for sender in session.tracks.values()
        )
        extra = [("Range", session.description.npt_range), ("RTP-Info", rtp_info)]
        return Outcome(self._ok(cseq, session, extra), events)

    def _pause(self, cseq: str, session: Session) -> Outcome:
        if session.state is not State.PLAYING:
            return Outcome(self._ok(cseq, session))
        session.state = State.PAUSED
        return Outcome(self._ok(cseq, session), (StopPlaying(session),))

    def _teardown(self, cseq: str, session: Session) -> Outcome:
        closed = self._close(session, "TEARDOWN")
        return Outcome(self._headers_response(200, cseq, []), (closed,))

    # --- helpers ------------------------------------------------------------------------------------------

    def _close(self, session: Session, reason: str) -> SessionClosed:
        self.sessions.pop(session.id, None)
        return SessionClosed(session, reason)

    def _new_id(self) -> str:
        while (candidate := f"{self._rng.getrandbits(64):016X}") in self.sessions:
            pass
        return candidate

    def _headers(self, cseq: str | None, session: Session | None, extra: list[tuple[str, str]]) -> Headers:
        items = [("CSeq", cseq)] if cseq is not None else []
        items.append(("Server", self.server_name))
        if session is not None:
            items.append(("Session", f"{session.id};timeout={self.timeout}"))
        return Headers(tuple(items + extra))

    def _ok(self, cseq: str, session: Session | None, extra: list[tuple[str, str]] | None = None) -> Response:
        return Response(200, self._headers(cseq, session, extra or []))

    def _headers_response(self, status: int, cseq: str, extra: list[tuple[str, str]]) -> Response:
        return Response(status, self._headers(cseq, None, extra))

    def _error(self, cseq: str | None, refusal: Refusal) -> Response:
        # the reason travels in a header too, since many clients print only the status line and headers
        extra = [*refusal.headers, ("X-Reason", refusal.reason), ("Content-Type", "text/plain")]
        return Response(
            refusal.status,
            self._headers(cseq, None, extra),
            f"{refusal.reason}\r\n".encode(),
        )
