"""The sans-IO RTSP engine: codec, control URLs, transports and the session table, with `now` passed in."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roto_server.protocols.rtsp.auth import AuthAttempt, Granted, Refused
from roto_server.protocols.rtsp.codec import Decoder, ProtocolError
from roto_server.protocols.rtsp.messages import Headers, InterleavedFrame, Request, Response
from roto_server.protocols.rtsp.sdp import StreamDescription, TrackDescription
from roto_server.protocols.rtsp.sessions import SessionClosed, SessionTable, StartPlaying, State, StopPlaying
from roto_server.protocols.rtsp.transport import Transport, TransportError, parse_offers
from roto_server.protocols.rtsp.urls import parse_control_url

BASE = "rtsp://127.0.0.1:8554"
TRACK = TrackDescription(96, "H264", fmtp="packetization-mode=1;profile-level-id=42C01F", width=640, height=360)
LIVE = StreamDescription((TRACK,), title="stream1")

# --- codec ------------------------------------------------------------------------------------------------

tokens = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=16)
values = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)
header_lists = st.lists(
    st.tuples(tokens.filter(lambda name: name.lower() != "content-length"), values), max_size=8
).map(lambda items: Headers((("CSeq", "1"), *items)))
requests = st.builds(
    Request,
    st.sampled_from(["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "GET_PARAMETER", "X-VENDOR"]),
    tokens.map(lambda path: f"{BASE}/{path}"),
    header_lists,
    st.binary(max_size=200),
)
responses = st.builds(
    Response,
    st.sampled_from([200, 401, 453, 454]),
    header_lists,
    st.binary(max_size=200),
    st.sampled_from(["OK", "Not Enough Bandwidth", "Some Reason"]),
)
frames = st.builds(InterleavedFrame, st.integers(0, 255), st.binary(max_size=2000))


def with_length(message: Request | Response) -> Request | Response:
    """A message as it decodes: serialize() adds Content-Length after the other fields when there is a body."""
    if not message.body:
        return message
    headers = Headers((*message.headers.items, ("Content-Length", str(len(message.body)))))
    return type(message)(**{**message.__dict__, "headers": headers})  # type: ignore[arg-type]


@given(st.lists(requests | responses | frames, min_size=1, max_size=6), st.data())
def test_any_stream_of_messages_decodes_the_same_however_it_is_split(messages: list, data: st.DataObject) -> None:
    wire = b"".join(message.serialize() for message in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    decoder, events = Decoder(), []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        events += decoder.feed(wire[start:end])
    expected = [m if isinstance(m, InterleavedFrame) else with_length(m) for m in messages]
    assert events == expected


def test_pipelined_requests_and_interleaved_rtcp_in_one_read() -> None:
    wire = (
        b"GET_PARAMETER rtsp://h/stream1 RTSP/1.0\r\nCSeq: 5\r\nSession: AB;timeout=60\r\n\r\n"
        + InterleavedFrame(1, b"\x81\xc9\0\1rrrr").serialize()
        + b"\r\nPLAY rtsp://h/stream1 RTSP/1.0\nCSeq: 6\nContent-Length: 3\n\nabc"
    )
    events = Decoder().feed(wire)
    assert [type(event) for event in events] == [Request, InterleavedFrame, Request]
    first, frame, second = events
    assert isinstance(first, Request) and first.cseq == 5 and first.session_id == "AB"
    assert frame == InterleavedFrame(1, b"\x81\xc9\0\1rrrr")
    assert isinstance(second, Request) and second.cseq == 6 and second.body == b"abc"


@pytest.mark.parametrize(
    ("wire", "status", "words"),
    [
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + b"a" * 9000, 400, "header exceeds 8192 bytes"),
        (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 999999\r\n\r\n", 400, "exceeds the limit of 65536"),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: -1\r\n\r\n", 400, "non-negative integer"),
        (b"OPTIONS * HTTP/1.1\r\nCSeq: 4\r\n\r\n", 505, "use RTSP/1.0"),
        (b"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n", 400, "expected 'Name: value'"),
        (b"HELLO\r\n\r\n", 400, "expected 'METHOD URI RTSP/1.0'"),
    ],
)
def test_malformed_input_becomes_one_clear_error_and_then_nothing(wire: bytes, status: int, words: str) -> None:
    decoder = Decoder()
    events = decoder.feed(wire)
    assert len(events) == 1 and isinstance(events[0], ProtocolError)
    assert events[0].status == status and words in events[0].reason
    assert decoder.feed(b"OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n") == []


def test_error_keeps_the_cseq_when_it_was_readable() -> None:
    [error] = Decoder().feed(b"OPTIONS * RTSP/2.0\r\nCSeq: 17\r\n\r\n")
    assert isinstance(error, ProtocolError) and error.cseq == 17


# --- control URLs and transports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path", "track", "query"),
    [
        (f"{BASE}/stream1", "stream1", None, {}),
        (f"{BASE}/stream1/", "stream1", None, {}),
        (f"{BASE}/stream1/trackID=0", "stream1", 0, {}),
        (f"{BASE}/stream2/track1", "stream2", 1, {}),
        (f"{BASE}/stream1?tcp", "stream1", None, {"tcp": ""}),
        (f"{BASE}/stream1?tcp/trackID=0", "stream1", 0, {"tcp": ""}),
        (f"{BASE}/stream1/trackID=0?udp", "stream1", 0, {"udp": ""}),
        (f"{BASE}/stream0", "stream1", None, {}),
        (f"{BASE}/stream/streamid=0", "stream1", 0, {}),
        ("rtsp://user:pw@h/recording?id=rec-1&token=T", "recording", None, {"id": "rec-1", "token": "T"}),
    ],
)
def test_control_url_dialects(uri: str, path: str, track: int | None, query: dict[str, str]) -> None:
    url = parse_control_url(uri)
    assert url is not None and (url.path, url.track, url.query) == (path, track, query)


def test_content_base_keeps_the_clients_spelling_without_credentials() -> None:
    url = parse_control_url("rtsp://u:p@h:8554/stream0?tcp")
    assert url is not None and url.base == "rtsp://h:8554/stream0/"


@pytest.mark.parametrize("uri", [f"{BASE}/", f"{BASE}/stream3", f"{BASE}/a/stream1", "http://h/stream1"])
def test_unknown_control_urls(uri: str) -> None:
    assert parse_control_url(uri) is None


def test_transport_offers_in_order_with_reasons_for_unusable_ones() -> None:
    offers = parse_offers(
        "RTP/AVP;multicast, RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;unicast;interleaved=2-3, RTP/SAVP"
    )
    assert isinstance(offers[0], TransportError) and "multicast" in str(offers[0])
    assert offers[1] == Transport("udp", client_ports=(5000, 5001))
    assert offers[2] == Transport("tcp", channels=(2, 3))
    assert isinstance(offers[3], TransportError) and "RTP/AVP/TCP" in str(offers[3])
    assert Transport("udp", (5000, 5001), server_ports=(6000, 6001), ssrc=255).serialize() == (
        "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=000000FF"
    )


# --- the session table ----------------------------------------------------------------------------------


class Client:
    """Sends requests to a SessionTable the way a player would, one connection, CSeq counting up."""

    def __init__(self, table: SessionTable, connection: object = "conn-1") -> None:
        self.table, self.connection, self.cseq, self.session = table, connection, 0, ""

    def send(self, method: str, uri: str = f"{BASE}/stream1", now: float = 0.0, body: bytes = b"", **fields: str):
        self.cseq += 1
        items = [("CSeq", str(self.cseq))] + [(name.replace("_", "-"), value) for name, value in fields.items()]
        if self.session and "Session" not in fields:
            items.append(("Session", self.session))
        request = Request(method, uri, Headers(tuple(items)), body)
        outcome = self.table.handle(
            request,
            now=now,
            connection=self.connection,
            peer="127.0.0.1",
            description=LIVE if parse_control_url(uri) else None,
        )
        assert outcome.response.cseq == self.cseq or outcome.response.status == 400
        session = outcome.response.headers.get("Session")
        if session:
            self.session = session.split(";")[0]
        return outcome

    def play(self, now: float = 0.0, transport: str = "RTP/AVP/TCP;unicast;interleaved=0-1"):
        assert self.send("SETUP", f"{BASE}/stream1/trackID=0", now, Transport=transport).response.status == 200
        return self.send("PLAY", f"{BASE}/stream1/", now)


def table(**options: object) -> SessionTable:
    return SessionTable(
        lambda attempt, now: Granted("viewer"), rng=random.Random(7), udp_server_ports=(6970, 6971), **options
    )  # type: ignore[arg-type]


def test_options_lists_the_methods_and_needs_no_credentials() -> None:
    refusing = SessionTable(lambda attempt, now: Refused(("Basic realm=x",)))
    response = Client(refusing).send("OPTIONS", "*").response
    assert response.status == 200 and "GET_PARAMETER" in (response.headers.get("Public") or "")


def test_a_request_without_cseq_is_refused() -> None:
    outcome = table().handle(Request("OPTIONS", "*"), now=0, connection=1)
    assert outcome.response.status == 400 and b"CSeq" in outcome.response.body


def test_describe_answers_sdp_with_aggregate_and_track_control() -> None:
    response = Client(table()).send("DESCRIBE", f"{BASE}/stream0", Accept="application/sdp").response
    sdp = response.body.decode()
    assert response.status == 200 and response.headers.get("Content-Type") == "application/sdp"
    assert response.headers.get("Content-Base") == f"{BASE}/stream0/"
    assert "a=control:*" in sdp and "a=control:trackID=0" in sdp and "a=rtpmap:96 H264/90000" in sdp
    assert "a=fmtp:96 packetization-mode=1;profile-level-id=42C01F" in sdp and "a=range:npt=0-" in sdp


def test_describe_of_an_unknown_path_names_the_streams() -> None:
    response = Client(table()).send("DESCRIBE", f"{BASE}/nope").response
    assert response.status == 404 and b"/stream1, /stream2, /recording" in response.body


def test_setup_udp_and_tcp_transports() -> None:
    client = Client(table())
    udp = client.send("SETUP", f"{BASE}/stream1/trackID=0", Transport="RTP/AVP;unicast;client_port=5000-5001")
    assert udp.response.status == 200
    assert udp.response.headers.get("Session", "").endswith(";timeout=60")
    assert "client_port=5000-5001;server_port=6970-6971;ssrc=" in (udp.response.headers.get("Transport") or "")
    tcp = Client(table()).send("SETUP", f"{BASE}/stream1", Transport="RTP/AVP/TCP;unicast")
    assert (tcp.response.headers.get("Transport") or "").startswith("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=")


@pytest.mark.parametrize(
    ("uri", "transport", "words"),
    [
        (f"{BASE}/stream1?tcp", "RTP/AVP;unicast;client_port=5000-5001", "use RTP/AVP/TCP"),
        (f"{BASE}/stream1?udp", "RTP/AVP/TCP;unicast;interleaved=0-1", "use RTP/AVP with client_port"),
        (f"{BASE}/stream1", "RTP/AVP;multicast", "multicast is not offered"),
    ],
)
def test_setup_refuses_a_transport_it_cannot_serve(uri: str, transport: str, words: str) -> None:
    response = Client(table()).send("SETUP", uri, Transport=transport).response
    assert response.status == 461 and words.encode() in response.body


def test_play_answers_rtp_info_and_range_and_starts_streaming() -> None:
    client = Client(table())
    outcome = client.play()
    info = outcome.response.headers.get("RTP-Info") or ""
    assert outcome.response.status == 200 and outcome.response.headers.get("Range") == "npt=0-"
    assert info.startswith(f"url={BASE}/stream1/trackID=0;seq=") and ";rtptime=" in info
    [event] = outcome.events
    assert isinstance(event, StartPlaying) and event.session.state is State.PLAYING
    assert isinstance(client.send("PAUSE").events[0], StopPlaying)
    assert client.send("PLAY").events and client.table.playing == 1


def test_teardown_ends_the_session_and_later_requests_get_454() -> None:
    client = Client(table())
    client.play()
    [closed] = client.send("TEARDOWN").events
    assert isinstance(closed, SessionClosed) and client.table.sessions == {}
    response = client.send("GET_PARAMETER").response
    assert response.status == 454 and b"does not exist" in response.body


def test_play_without_a_session_gets_454() -> None:
    assert Client(table()).send("PLAY").response.status == 454


def test_the_limit_of_playing_sessions_answers_453_and_leaves_the_others_playing() -> None:
    shared = table(max_playing=2)
    players = [Client(shared, connection=n) for n in range(3)]
    assert [p.play().response.status for p in players] == [200, 200, 453]
    assert b"2 sessions are playing already" in players[2].send("PLAY").response.body
    assert shared.playing == 2
    players[0].send("TEARDOWN")
    assert players[2].send("PLAY").response.status == 200


def test_a_session_kept_alive_by_requests_survives_its_timeout() -> None:
    shared = table()
    kept, idle = Client(shared, "a"), Client(shared, "b")
    kept.play(now=0, transport="RTP/AVP;unicast;client_port=5000-5001")
    idle.play(now=0, transport="RTP/AVP;unicast;client_port=5002-5003")
    closed = []
    for now in (25, 50, 75, 100):  # the keep-alives of VLC and NVRs: GET_PARAMETER or OPTIONS
        closed += [event.session.id for event in shared.expire(now)]
        assert kept.send("GET_PARAMETER" if now % 50 else "OPTIONS", now=now).response.status == 200
    assert closed == [idle.session]
    assert set(shared.sessions) == {kept.session}
    assert shared.next_expiry() == 160


def test_expiry_comes_from_now_and_a_receiver_report_counts() -> None:
    shared = table()
    client = Client(shared)
    client.play(now=0, transport="RTP/AVP;unicast;client_port=5000-5001")
    assert shared.expire(59.9) == []
    ssrc = shared.sessions[client.session].tracks[0].ssrc
    session = shared.session_for_ssrc(ssrc)
    assert session is not None and shared.touch(session.id, 50)
    assert shared.expire(109) == []
    [closed] = shared.expire(110)
    assert closed.session.id == client.session and "60 s" in closed.reason


def test_closing_a_connection_ends_its_interleaved_sessions_only() -> None:
    shared = table()
    tcp, udp = Client(shared, "conn"), Client(shared, "conn")
    tcp.play()
    udp.session = ""
    udp.play(transport="RTP/AVP;unicast;client_port=5000-5001")
    closed = shared.connection_closed("conn")
    assert [event.session.id for event in closed] == [tcp.session] and list(shared.sessions) == [udp.session]


def test_a_second_session_on_one_connection_gets_free_channels() -> None:
    shared = table()
    first, second = Client(shared, "conn"), Client(shared, "conn")
    first.play()
    second.play()
    channels = [session.tracks[0].transport.channels for session in shared.sessions.values()]
    assert channels == [(0, 1), (2, 3)]


def test_setup_while_playing_and_across_paths_is_refused() -> None:
    client = Client(table())
    client.play()
    assert client.send("SETUP", f"{BASE}/stream1", Transport="RTP/AVP/TCP").response.status == 455
    other = client.send("SETUP", f"{BASE}/stream2", Transport="RTP/AVP/TCP").response
    assert other.status == 459 and b"/stream2 in a new session" in other.body


def test_unauthenticated_requests_get_the_challenges_of_the_callback() -> None:
    seen: list[AuthAttempt] = []

    def authorize(attempt: AuthAttempt, now: float) -> Granted | Refused:
        seen.append(attempt)
        if attempt.authorization == "Basic dTpw" or attempt.query.get("token") == "T":
            return Granted("u")
        return Refused(('Digest realm="roto", nonce="n"', 'Basic realm="roto"'))

    shared = SessionTable(authorize)
    response = Client(shared).send("DESCRIBE").response
    assert response.status == 401
    assert response.headers.get_all("WWW-Authenticate") == ['Digest realm="roto", nonce="n"', 'Basic realm="roto"']
    assert Client(shared).send("DESCRIBE", Authorization="Basic dTpw").response.status == 200
    assert Client(shared).send("DESCRIBE", f"{BASE}/stream1?token=T").response.status == 200
    # a mistyped path with a good query token is a 404 naming the streams, not a misleading 401
    assert Client(shared).send("DESCRIBE", f"{BASE}/stream9?token=T").response.status == 404
    assert seen[0] == AuthAttempt("DESCRIBE", f"{BASE}/stream1", None, {}, "127.0.0.1")
    client = Client(shared)
    client.send("SETUP", Authorization="Basic dTpw", Transport="RTP/AVP/TCP")
    asked = len(seen)
    assert client.send("PLAY").response.status == 200 and len(seen) == asked  # the session id vouches for it
    assert shared.sessions[client.session].user == "u"


def test_a_locked_out_user_gets_the_callbacks_status() -> None:
    shared = SessionTable(lambda attempt, now: Refused(status=403, reason="too many failed attempts"))
    response = Client(shared).send("DESCRIBE").response
    assert response.status == 403 and b"too many failed attempts" in response.body


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [("SET_PARAMETER", b"", 200), ("SET_PARAMETER", b"x: 1\r\n", 451), ("ANNOUNCE", b"", 405), ("BREW", b"", 501)],
)
def test_other_methods(method: str, body: bytes, status: int) -> None:
    assert Client(table()).send(method, body=body).response.status == status


@pytest.mark.parametrize("field", ["CSeq: \u00b2", "Content-Length: \u00b2", "CSeq: \u0663"])
def test_non_ascii_digits_are_not_numbers(field: str) -> None:
    wire = f"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n{field}\r\n\r\n".replace("CSeq: 1\r\nCSeq", "CSeq").encode()
    events = Decoder().feed(wire)
    assert len(events) == 1
    event = events[0]
    if isinstance(event, Request):
        assert event.cseq is None
    else:
        assert isinstance(event, ProtocolError) and "Content-Length" in event.reason


junk = st.text(max_size=30) | st.sampled_from(["", "0", "-1", "99999999999", "a-b", "1-2-3"])
fuzzed_requests = st.builds(
    lambda method, path, suffix, cseq, session, transport, body: Request(
        method,
        f"{BASE}/{path}{suffix}",
        Headers(tuple((k, v) for k, v in (("CSeq", cseq), ("Session", session), ("Transport", transport)) if v)),
        body,
    ),
    st.sampled_from(["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"]),
    st.sampled_from(["stream1", "stream2", "recording", "x", "stream1/trackID=9", ""]),
    st.sampled_from(["", "/", "?tcp", "?udp/trackID=0", "?token=%zz"]),
    st.sampled_from(["1", "", "x", "²"]),
    st.sampled_from(["", "0", "ZZ"]) | junk,
    st.sampled_from(
        ["RTP/AVP;unicast;client_port=1-2", "RTP/AVP/TCP;interleaved=254-255", "RTP/AVP/TCP;interleaved=300-301"]
    )
    | junk.map(lambda text: f"RTP/AVP;client_port={text},RTP/AVP/TCP;interleaved={text}"),
    st.binary(max_size=10),
)


@given(st.lists(fuzzed_requests, max_size=12))
def test_any_request_sequence_gets_a_status_and_never_an_exception(batch: list[Request]) -> None:
    shared = table(max_playing=1)
    for now, request in enumerate(batch):
        if request.session_id == "ZZ" and shared.sessions:  # "ZZ" stands for the newest real session
            items = tuple((k, list(shared.sessions)[-1] if k == "Session" else v) for k, v in request.headers.items)
            request = Request(request.method, request.uri, Headers(items), request.body)
        outcome = shared.handle(request, now=now, connection=now % 2, description=LIVE)
        assert 200 <= outcome.response.status < 500 or outcome.response.status == 501
        shared.expire(now)
    assert shared.playing <= 1


def test_the_protocol_engines_do_no_io() -> None:
    from tests.test_import_hygiene import ROOT, imported_roots

    files = sorted((ROOT / "roto_server" / "protocols").rglob("*.py"))
    offenders = {p.name: imported_roots(p) & {"asyncio", "socket", "selectors", "sanic", "threading"} for p in files}
    assert len(files) >= 8 and {name: bad for name, bad in offenders.items() if bad} == {}


def test_sessions_that_never_play_are_limited_too() -> None:
    shared = table(max_sessions=3)
    outcomes = [Client(shared, n).send("SETUP", Transport="RTP/AVP/TCP").response for n in range(4)]
    assert [response.status for response in outcomes] == [200, 200, 200, 453]
    assert b"3 sessions exist already" in outcomes[3].body and len(shared.sessions) == 3
