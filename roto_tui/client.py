"""The Python SDK for a roto control unit (or any device speaking the C2 API).

It keeps a live mirror of the device state over the WebSocket API, reconnecting with
backoff, and wraps the HTTP calls: ordered get/set with the server's answer, camera
snapshots and MJPEG frames, and the backup gallery. No UI code here::

    async with RotoClient("http://127.0.0.1:8080", token="...") as device:
        await device.wait_connected()
        print(device.state["oct0"])
        answer = await device.apply({"sharpness": 99})   # answer.values == {"sharpness": 15}
        async for jpeg in device.frames(width=320):
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from roto_shared.messages import Notification  # the device's message shape, one definition for both sides

log = logging.getLogger("roto.client")
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)


class AuthenticationFailed(Exception):
    """The device refused the credentials (HTTP 401)."""


@dataclass(frozen=True)
class StateReset:
    """A full state arrived (first message after every (re)connection): replace, don't merge."""

    state: dict[str, Any]


@dataclass(frozen=True)
class StateChanged:
    changes: dict[str, Any]


@dataclass(frozen=True)
class ConnectionChanged:
    connected: bool
    detail: str = ""


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds (at least 1; the longest backoff when missing or unreadable)."""
    try:
        return max(1.0, float(retry_after or ""))
    except ValueError:
        return float(BACKOFF[-1])


@dataclass(frozen=True)
class AccessRefused:
    """The device refused the credentials (HTTP 401): retrying cannot help, so the client stops."""

    detail: str


Event = StateReset | StateChanged | Notification | ConnectionChanged | AccessRefused


@dataclass
class Answer:
    """What the device did with a request: values after it ran, and why anything was refused or adjusted."""

    values: dict[str, Any]
    notices: list[dict[str, Any]] = field(default_factory=list)


class RotoClient:
    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        reconnect: bool = True,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.base = urlunsplit((parts.scheme, parts.netloc, "", "", "")).rstrip("/")
        self._token, self._user, self._password = token, user, password
        self.reconnect = reconnect
        self.state: dict[str, Any] = {}
        self.connected = False
        self.refused = False
        self._listeners: list[Callable[[Event], None]] = []
        self._http = httpx.AsyncClient(base_url=self.base, auth=self._basic(), params=self._query(), timeout=timeout)
        self._ws: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._connected_event = asyncio.Event()

    # -- credentials ---------------------------------------------------------------------
    def _query(self) -> dict[str, str]:
        if self._token is not None:
            return {"token": self._token} | ({"user": self._user} if self._user else {})
        return {}

    def _basic(self) -> httpx.BasicAuth | None:
        if self._token is None and self._user is not None and self._password is not None:
            return httpx.BasicAuth(self._user, self._password)
        return None

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.base.startswith("https") else "ws"
        query = self._query() or (
            {"user": self._user or "", "password": self._password or ""} if self._password is not None else {}
        )
        return f"{scheme}://{self.base.split('://', 1)[1]}/api" + (f"?{urlencode(query)}" if query else "")

    # -- life cycle ----------------------------------------------------------------------
    async def __aenter__(self) -> RotoClient:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def start(self) -> None:
        """Connect in the background and keep connected (reconnecting with backoff)."""
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="roto-client")

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        await self._http.aclose()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` with every event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("client listener failed")

    @property
    def brings_credentials(self) -> bool:
        """Whether the client sends any credentials at all."""
        return bool(self._token or self._user)

    async def _run(self) -> None:
        attempt = 0
        while True:
            wait: float | None = None  # how long the device asked us to wait, if it did
            try:
                async with connect(self.ws_url, max_size=2**22, open_timeout=10) as ws:
                    self._ws = ws
                    attempt = 0
                    first = True
                    async for raw in ws:
                        message = json.loads(raw)
                        if not isinstance(message, dict):
                            continue
                        if first:
                            first = False
                            self.state = message  # a fresh full state: nothing stale survives
                            self.connected = True
                            self._connected_event.set()
                            self._emit(ConnectionChanged(True, self.base))
                            self._emit(StateReset(dict(message)))
                        elif (note := Notification.from_message(message)) is not None:
                            self._emit(note)
                        else:
                            self.state.update(message)
                            self._emit(StateChanged(message))
                detail = "connection closed by the device"
            except InvalidStatus as exc:
                detail = f"refused: HTTP {exc.response.status_code}"
                if exc.response.status_code == 401:
                    self.refused = True
                    self._emit(AccessRefused(f"{self.base} refused the credentials (HTTP 401)"))
                    self._emit(ConnectionChanged(False, f"{detail}: wrong or missing token"))
                    return
                if exc.response.status_code == 429:  # a lockout after failed logins: wait it out, then retry
                    wait = _seconds(exc.response.headers.get("Retry-After"))
                    detail = "too many failed logins from this address (locked out)"
            except (TimeoutError, OSError, WebSocketException, ValueError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
            self._ws = None
            if self.connected:
                self.connected = False
                self._connected_event.clear()
                self._emit(ConnectionChanged(False, detail))
            if not self.reconnect:
                self._emit(ConnectionChanged(False, detail))
                return
            delay = wait if wait is not None else BACKOFF[min(attempt, len(BACKOFF) - 1)]
            attempt += 1
            self._emit(ConnectionChanged(False, f"{detail}; retrying in {delay:g} s"))
            await asyncio.sleep(delay)

    # -- state -----------------------------------------------------------------------------
    async def set(self, **values: Any) -> None:
        """Send writes over the WebSocket (fire and forget; changes come back as events)."""
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.send(json.dumps(values))

    async def apply(self, values: dict[str, Any]) -> Answer:
        """Write over HTTP in order and return the device's answer (actual values and notices)."""
        res = await self._http.post("/api", content=json.dumps(values))
        self._check(res)
        notices = json.loads(res.headers.get("X-Roto-Notices", "[]"))
        return Answer(res.json(), notices)

    async def get(self, *names: str) -> dict[str, Any]:
        return (await self.apply({"get": list(names)})).values

    # -- camera ----------------------------------------------------------------------------
    async def snapshot(self, width: int | None = None) -> bytes:
        res = await self._http.get("/camera.jpeg", params={"width": width} if width else {})
        self._check(res)
        return res.content

    async def frames(self, width: int | None = None) -> AsyncIterator[bytes]:
        """JPEG frames of /camera.mjpeg, newest first-come; stop iterating to disconnect."""
        params = {"width": width} if width else {}
        async with self._http.stream("GET", "/camera.mjpeg", params=params, timeout=None) as res:
            if res.status_code >= 400:
                await res.aread()
                self._check(res)
            buffer = b""
            async for chunk in res.aiter_bytes():
                buffer += chunk
                while True:
                    head_end = buffer.find(b"\r\n\r\n")
                    if head_end < 0:
                        break
                    headers = buffer[:head_end].decode("latin-1").split("\r\n")
                    length = next(
                        (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length")), None
                    )
                    if length is None:
                        raise ValueError("MJPEG part without Content-Length")
                    end = head_end + 4 + length
                    if len(buffer) < end + 2:
                        break
                    yield buffer[head_end + 4 : end]
                    buffer = buffer[end + 2 :]

    # -- backup gallery --------------------------------------------------------------------
    async def backup_files(self, tagged_only: bool = False) -> list[dict[str, Any]]:
        res = await self._http.get("/api/backup/files", params={"tagged": "true"} if tagged_only else {})
        self._check(res)
        return list(res.json()["files"])

    async def tags(self) -> list[dict[str, Any]]:
        res = await self._http.get("/api/backup/tags")
        self._check(res)
        return list(res.json()["tags"])

    async def create_tag(self, title: str = "", note: str = "", creation_time: float | None = None) -> Answer:
        tag: dict[str, Any] = {"title": title, "note": note}
        if creation_time is not None:
            tag["creationTime"] = creation_time
        return await self.apply({"createTag": tag})

    async def remove_tag(self, tag_id: str) -> None:
        res = await self._http.delete(f"/api/backup/tags/{tag_id}")
        self._check(res)

    @staticmethod
    def _check(res: httpx.Response) -> None:
        if res.status_code == 401:
            raise AuthenticationFailed("the device refused the credentials")
        if res.status_code >= 400:
            try:
                detail = res.json().get("error", res.text)
            except (ValueError, json.JSONDecodeError):
                detail = res.text
            raise RuntimeError(f"HTTP {res.status_code}: {detail}")
