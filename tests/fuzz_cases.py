"""Arbitrary input for every entry point, and the check that the server survived it.

Shared by tests/test_no_server_errors.py (a short hypothesis run in the suite) and
scripts/fuzz_api.py (a long run that counts cases and 5xx answers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket
from hypothesis import strategies as st

from roto_server.api.v1_mapping import BY_KEY
from roto_shared.catalogue import load_catalogue
from roto_shared.validation import InvalidValue, clamp, coerce
from tests.server_process import ServerProcess

CATALOGUE = load_catalogue()
# writing these (as admin) moves or closes the very listener the fuzzer talks to: tests/test_listeners.py covers them
LISTENER_VARIABLES = {"httpOn", "httpsOn", "httpPort", "httpsPort", "rtspOn", "rtspPort"}
VARIABLES = sorted(set(CATALOGUE) - LISTENER_VARIABLES)
V1_KEYS = sorted(BY_KEY)
# values that broke the server once: keep them likely
NASTY: list[Any] = [
    10**400,
    -(10**400),
    2**63,
    1e308,
    -1e308,
    "²",
    "١٢",
    "\ud800",
    "0000-01-01T00:00:00+00:00",
    "10000-01-01T00:00:00+00:00",
    -62_200_000_000,
    253_402_300_800,
    [],
    {},
    [[[]]],
    {"x": 10**400},
    {"x": "²", "y": None},
    {"creationTime": 1e308},
    {"creationTime": -62_200_000_000, "title": "\udcff"},
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(NASTY),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
DEEP = st.integers(min_value=1, max_value=200_000).map(lambda n: "[" * n + "]" * n)
DEEP_OBJECT = st.integers(min_value=1, max_value=100_000).map(lambda n: '{"a":' * n + "1" + "}" * n)


# a wrong password would count as a failed login and lock the fuzzing client out
CREDENTIAL_KEYS = {"user", "username", "password", "token"}
KEYS = st.text(max_size=8).filter(lambda key: key not in CREDENTIAL_KEYS | LISTENER_VARIABLES)


def _objects(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(names) | KEYS, JSON, max_size=5)


C2_OBJECTS = _objects(VARIABLES)
V1_OBJECTS = _objects(V1_KEYS)
TAG_OBJECTS = st.dictionaries(st.sampled_from(["creationTime", "title", "note"]) | st.text(max_size=6), JSON)


def _body(objects: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str]:
    """Request text: mostly a JSON object, sometimes deep nesting or arbitrary text."""
    dumped = objects.map(lambda doc: json.dumps(doc, ensure_ascii=True))
    return st.one_of(dumped, dumped, dumped, DEEP, DEEP_OBJECT, JSON.map(json.dumps), st.text(max_size=30))


QUERY_TEXT = st.text(max_size=12) | st.sampled_from(["²", "١", "9" * 400, "-" + "9" * 400, "1e308", "[]", "{}"])
QUERY = st.lists(st.tuples(st.sampled_from([*VARIABLES, "get"]) | KEYS, QUERY_TEXT), max_size=4)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, Any]:
    """One (entry point, input) pair."""
    kind = draw(
        st.sampled_from(["c2-get", "c2-post", "c2-ws", "v1-post", "v1-post-one", "v1-ws", "tag-post", "camera-width"])
    )
    if kind == "c2-get":
        return kind, draw(QUERY)
    if kind in ("c2-post", "c2-ws"):
        return kind, draw(_body(C2_OBJECTS))
    if kind in ("v1-post", "v1-ws"):
        return kind, draw(_body(V1_OBJECTS))
    if kind == "v1-post-one":
        return kind, (draw(st.sampled_from(V1_KEYS)), draw(_body(st.just({})) | QUERY_TEXT | JSON.map(json.dumps)))
    if kind == "tag-post":
        return kind, draw(_body(TAG_OBJECTS))
    return kind, draw(QUERY_TEXT)


@dataclass
class Driver:
    """Sends cases to one running server as admin and remembers every 5xx and every dead socket."""

    server: ServerProcess
    ran: int = 0
    failures: list[str] = field(default_factory=list)
    _sockets: dict[str, websocket.WebSocket] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str]:
        return ("admin", self.server.admin_password)

    def run(self, case: tuple[str, Any]) -> None:
        kind, data = case
        self.ran += 1
        if kind in ("c2-ws", "v1-ws"):
            self._socket_case(kind, data)
            return
        try:
            status = self._http_case(kind, data)
        except requests.RequestException as exc:
            self.failures.append(f"{kind} {data!r:.300} -> no answer ({exc!r})")
            return
        if status >= 500:
            self.failures.append(f"{kind} {data!r:.300} -> {status}")

    def _http_case(self, kind: str, data: Any) -> int:
        url, s = self.server.url, requests.Session()
        s.auth = self.auth
        if kind == "c2-get":
            return s.get(url("/api"), params=data, timeout=30).status_code
        if kind == "c2-post":
            return s.post(url("/api"), data=data.encode("utf-8", "surrogatepass"), timeout=30).status_code
        if kind == "v1-post":
            return s.post(url("/api/settings"), data=data.encode("utf-8", "surrogatepass"), timeout=30).status_code
        if kind == "v1-post-one":
            key, text = data
            return s.post(
                url(f"/api/settings/{key}"), data=text.encode("utf-8", "surrogatepass"), timeout=30
            ).status_code
        if kind == "tag-post":
            return s.post(url("/api/backup/tags"), data=data.encode("utf-8", "surrogatepass"), timeout=30).status_code
        return s.get(url("/camera.jpeg"), params={"width": data}, timeout=30).status_code

    def _socket(self, kind: str) -> websocket.WebSocket:
        ws = self._sockets.get(kind)
        if ws is None:
            path = "/api" if kind == "c2-ws" else "/api/v1"
            ws = websocket.create_connection(
                f"ws://127.0.0.1:{self.server.port}{path}?user=admin&password={self.server.admin_password}",
                timeout=30,
            )
            ws.recv()  # the first message is the state
            self._sockets[kind] = ws
        return ws

    def _socket_case(self, kind: str, text: str) -> None:
        """Send the message, then prove the connection still answers a get."""
        probe_key = "light0" if kind == "c2-ws" else "cam1-light"
        try:
            ws = self._socket(kind)
            ws.send(text.encode("utf-8", "surrogatepass"), opcode=websocket.ABNF.OPCODE_TEXT)
            ws.send(json.dumps({"get": [probe_key]}))
            while True:  # skip notices, broadcasts and answers to the case itself
                text_in = ws.recv()
                if not text_in:
                    raise websocket.WebSocketConnectionClosedException("closed by the server")
                reply = json.loads(text_in)
                if isinstance(reply, dict) and probe_key in reply:
                    return
        except (OSError, websocket.WebSocketException) as exc:
            self._sockets.pop(kind, None)
            self.failures.append(f"{kind} {text!r:.300} -> connection lost ({exc!r})")

    def broken_invariants(self) -> list[str]:
        """Every readable value still passes the catalogue's own validation."""
        state = requests.get(self.server.url("/api"), auth=self.auth, timeout=30).json()
        broken = []
        for name, value in state.items():
            var = CATALOGUE[name]
            if not var.writable or var.write_type is not None:
                continue  # device facts, and storages (read as objects, written as uuids)
            try:
                kept = coerce(var, value).value
            except InvalidValue as exc:
                broken.append(f"{name}={value!r:.100}: {exc}")
                continue
            if var.relative:
                kept = clamp(var, value).value
            if kept != value:
                broken.append(f"{name}={value!r:.100} is outside the catalogue (would be {kept!r:.100})")
        return broken

    def close(self) -> None:
        for ws in self._sockets.values():
            ws.close()
