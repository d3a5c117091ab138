"""The servers the unit offers (HTTP, HTTPS; next RTSP and WS-Discovery), opened and closed at run time.

Each kind of server is a :class:`ListenerKind`: it binds a socket and serves on it. The service ties
every kind to its state variables (``<kind>On``, ``<kind>Port``, ``<kind>Status``) and keeps
``connectionUrls`` true. A write binds the new socket synchronously, inside the store's handler, so a
port that cannot be bound refuses the write with the reason and changes nothing; the swap itself runs
on the loop afterwards: the new server serves before the old one closes. No web framework here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from roto_server.device.store import ChangeEvent, Refused, StateStore

log = logging.getLogger("roto.listeners")

WILDCARDS = ("0.0.0.0", "::", "")


class Serving(Protocol):
    """A server running on one socket."""

    async def close(self) -> None:
        """Stop accepting, let open connections finish briefly, then drop them."""


class ListenerKind(Protocol):
    """A kind may also offer ``paths`` (what connectionUrls lists under each base URL, default "/api") and
    ``status()`` (more facts for its ``<kind>Status`` while it serves)."""

    name: str  # "http": its variables are httpOn, httpPort and httpStatus
    schemes: tuple[str, ...]  # URL schemes served on its port, for connectionUrls

    def bind(self, host: str, port: int) -> socket.socket:
        """A listening socket on host:port (0: any free port); OSError when the port is unavailable."""

    def serve(self, sock: socket.socket) -> Awaitable[Serving]:
        """Start serving on ``sock``, which is already bound and listening."""


def tcp_bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=256)


class ListenerError(Exception):
    """A listener could not be opened at start; the message says which and why."""


@dataclass
class _Running:
    sock: socket.socket
    serving: Serving


class Listener:
    """One kind of server: the socket it should serve, and what serves now."""

    def __init__(self, kind: ListenerKind, host: str, on: bool, port: int, swapped: Callable[[], None]) -> None:
        self.kind = kind
        self.swapped = swapped  # called when the new server serves and the old one is about to close
        self.host = host
        self.on = on
        self.port = port  # the port served, or served when switched on again
        self._wanted: socket.socket | None = None
        self._running: _Running | None = None
        self._starting: socket.socket | None = None  # the socket apply() is starting a server on
        self.failure: str | None = None  # why it is not serving although switched on (a port taken at start)
        self._lock = asyncio.Lock()

    @property
    def bound_port(self) -> int | None:
        """The port clients reach: the running server's, or at start the bound socket about to serve."""
        sock = self._running.sock if self._running else self._wanted
        return sock.getsockname()[1] if sock is not None else None

    def want(self, on: bool, port: int) -> None:
        """Bind what should serve now (raises OSError, leaving everything as it was)."""
        fresh = None
        if on and (self._wanted is None or port != self.port):
            fresh = self.kind.bind(self.host, port)
            port = fresh.getsockname()[1]
        elif on:
            fresh = self._wanted
        stale, self._wanted = self._wanted, fresh
        if stale is not None and stale is not fresh and not self._serves(stale):
            stale.close()  # bound by an earlier write that never got to serve
        self.on, self.port = on, port
        self.failure = None

    def _serves(self, sock: socket.socket) -> bool:
        return sock is self._starting or (self._running is not None and self._running.sock is sock)

    async def apply(self) -> None:
        """Make the running server match the wanted socket: start the new one, then close the old."""
        async with self._lock:
            wanted = self._wanted
            if self._running is not None and self._running.sock is wanted:
                return
            old = self._running
            if wanted is not None:
                self._starting = wanted
                try:
                    self._running = _Running(wanted, await self.kind.serve(wanted))
                finally:
                    self._starting = None
                log.info("%s serving on %s:%s", self.kind.name, self.host, wanted.getsockname()[1])
            else:
                self._running = None
            if old is not None:
                port = old.sock.getsockname()[1]
                self.swapped()  # the state tells the truth while the old server drains
                await old.serving.close()
                old.sock.close()
                log.info("%s stopped serving on port %s", self.kind.name, port)


class Listeners:
    """Every listener of the unit, driven by the state and reporting back into it."""

    def __init__(
        self,
        store: StateStore,
        host: str,
        kinds: list[ListenerKind],
        start_ports: Mapping[str, int | None] | None = None,
    ) -> None:
        """``start_ports`` are command-line ports: they serve from the start until the port is written."""
        self.store = store
        self.host = host
        self.listeners: dict[str, Listener] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._bound = False
        start_ports = start_ports or {}
        for kind in kinds:
            given = start_ports.get(kind.name)
            port = given if given is not None else int(store[f"{kind.name}Port"])
            self.listeners[kind.name] = Listener(kind, host, bool(store[f"{kind.name}On"]), port, self.publish)
            store.set_handler(f"{kind.name}On", self._on_switch(kind.name))
            store.set_handler(f"{kind.name}Port", self._on_port(kind.name))
        store.subscribe(self._on_change)

    # -- life cycle ----------------------------------------------------------------------
    def bind(self) -> None:
        """Bind every switched-on listener.

        One that cannot listen is logged and reported in its status while the others serve; only
        when no listener of the API (HTTP, HTTPS) can, ListenerError names them all: a unit whose
        API nobody can reach should not start, even if its RTSP server could.
        """
        if self._bound:
            return
        failures = []
        for listener in self.listeners.values():
            try:
                listener.want(listener.on, listener.port)
            except OSError as exc:
                listener.failure = f"cannot listen on {self.host}:{listener.port}: {_why(exc)}"
                failures.append(f"{listener.kind.name.upper()}: {listener.failure}")
        api = [lst for lst in self.listeners.values() if getattr(lst.kind, "serves_api", True)]
        if failures and all(listener.bound_port is None for listener in api):
            raise ListenerError("; ".join(failures))
        for failure in failures:
            log.error("%s; the other listeners serve", failure)
        self._bound = True

    def _release(self) -> None:
        for listener in self.listeners.values():
            if listener.bound_port is not None:
                listener.want(False, listener.port)

    async def start(self) -> None:
        self.bind()
        # bound sockets already queue connections: say so before the first server answers anyone
        self.publish()
        await asyncio.gather(*(listener.apply() for listener in self.listeners.values()))

    async def stop(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._release()
        await asyncio.gather(*(listener.apply() for listener in self.listeners.values()))

    # -- writes from the state -------------------------------------------------------------
    def _on_switch(self, name: str) -> Callable[[Any], Any]:
        def handle(on: bool) -> bool:
            listener = self.listeners[name]
            self._change(f"{name}On", listener, on, listener.port)
            return on

        return handle

    def _on_port(self, name: str) -> Callable[[Any], Any]:
        def handle(port: int) -> int:
            listener = self.listeners[name]
            self._change(f"{name}Port", listener, listener.on, port)
            return port

        return handle

    def _change(self, variable: str, listener: Listener, on: bool, port: int) -> None:
        if not self._bound:  # before the start: the start binds what the state says
            listener.on, listener.port = on, port
            return
        try:
            listener.want(on, port)
        except OSError as exc:
            now = listener.bound_port
            stays = f"stays on port {now}" if now is not None else "stays off"
            raise Refused(
                f"{variable}: cannot listen on {self.host}:{port}: {_why(exc)}; {listener.kind.name.upper()} {stays}"
            ) from exc
        task = asyncio.get_running_loop().create_task(self._apply(listener))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(self, listener: Listener) -> None:
        try:
            await listener.apply()
        except Exception:
            log.exception("switching the %s listener failed", listener.kind.name)
        self.publish()

    # -- what is served ---------------------------------------------------------------------
    def _on_change(self, event: ChangeEvent) -> None:
        if "netInfo" not in event.changes or not self._bound:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet: start() publishes
        loop.call_soon(self.publish)  # publishing inside a change event would nest events; do it right after

    def hosts(self) -> list[str]:
        """Every address a client can use to reach a wildcard listener, loopback first."""
        if self.host not in WILDCARDS:
            return [self.host]
        hosts = ["127.0.0.1"]
        for iface in self.store["netInfo"]:
            hosts += [c["address"] for c in iface["connections"] if c["address"] not in hosts]
        return hosts

    def bound_ports(self) -> dict[str, int | None]:
        """The port of every listener: serving, or bound and about to serve; None while off."""
        return {name: listener.bound_port for name, listener in self.listeners.items()}

    def urls(self) -> dict[str, list[str]]:
        """Base URL of every scheme served, per scheme: {"http": [...], "ws": [...], ...}."""
        out: dict[str, list[str]] = {}
        for listener in self.listeners.values():
            port = listener.bound_port
            if port is None:
                continue
            for scheme in listener.kind.schemes:
                out.setdefault(scheme, []).extend(f"{scheme}://{_url_host(h)}:{port}" for h in self.hosts())
        return out

    def publish(self) -> None:
        facts: dict[str, Any] = {}
        for name, listener in self.listeners.items():
            port = listener.bound_port
            if port is None:
                facts[f"{name}Status"] = {"running": False, "reason": listener.failure or f"{name}On is false"}
            else:
                status = getattr(listener.kind, "status", None)
                extra = status() if status is not None else {}
                facts[f"{name}Status"] = {"running": True, "port": port, "address": self.host, **extra}
        facts["connectionUrls"] = self.connection_urls()
        self.store.set_facts(facts)

    def connection_urls(self) -> dict[str, list[str]]:
        """Per scheme, what a client opens: the API under HTTP(S) and WS(S), the streams under RTSP."""
        paths = {
            scheme: getattr(lst.kind, "paths", ("/api",))
            for lst in self.listeners.values()
            for scheme in lst.kind.schemes
        }
        return {scheme: [f"{u}{p}" for u in urls for p in paths[scheme]] for scheme, urls in self.urls().items()}


def _why(exc: OSError) -> str:
    # socket.create_server appends the address to strerror; the message already names it
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
