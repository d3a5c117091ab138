"""HTTP and HTTPS listeners: the Sanic app served on sockets opened at run time."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from typing import Any

from sanic import Sanic
from sanic.server.async_server import AsyncioServer

from roto_server.config import ServerConfig
from roto_server.device.store import StateStore
from roto_server.rtsp.camera import CameraSource
from roto_server.tls import device_certificate, operator_certificate

from . import ListenerKind, Listeners, Serving, tcp_bind
from .rtsp import RtspKind

log = logging.getLogger("roto.listeners")


class SanicServing:
    """One asyncio server running the app's protocol on one socket."""

    def __init__(self, server: AsyncioServer, grace_s: float) -> None:
        self.server = server
        self.grace_s = grace_s

    async def close(self) -> None:
        if self.server.server is None:
            return
        self.server.server.close()  # no new connections from here on
        connections: set[Any] = self.server.connections
        deadline = time.monotonic() + self.grace_s
        while connections and time.monotonic() < deadline:
            for conn in list(connections):
                conn.close_if_idle()  # again each round: a request in flight (maybe the very write) ends
            await asyncio.sleep(0.05)  # Sanic's own shutdown polls its connections the same way
        for conn in list(connections):
            websocket = getattr(conn, "websocket", None)
            if websocket is not None:
                websocket.fail_connection(code=1001)  # "going away"
            else:
                conn.abort()


class WebKind:
    """HTTP (``ssl`` None) or HTTPS: every route of the app, WebSockets included."""

    def __init__(self, app: Sanic, name: str, tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.name = name
        self.tls = tls
        self.schemes: tuple[str, ...] = ("https", "wss") if tls else ("http", "ws")

    def bind(self, host: str, port: int) -> socket.socket:
        return tcp_bind(host, port)

    async def serve(self, sock: socket.socket) -> Serving:
        # create_server is Sanic's documented way to run the app on a socket inside a running loop;
        # it returns once the asyncio server exists, and that serves at once
        server = await self.app.create_server(sock=sock, ssl=self.tls, access_log=False, backlog=256)
        assert server is not None
        return SanicServing(server, float(self.app.config.GRACEFUL_SHUTDOWN_TIMEOUT))


def web_listeners(app: Sanic, config: ServerConfig) -> Listeners:
    """HTTP and HTTPS for the app's device, switched as the command line and the stored settings say.

    The certificate is made (or the operator's loaded) even while HTTPS is off, so httpsOn can be
    switched on at run time and httpsCertificate always describes what HTTPS would present.
    """
    store: StateStore = app.ctx.unit.store
    if config.tls_cert is not None and config.tls_key is not None:
        cert = operator_certificate(config.tls_cert, config.tls_key)
    else:
        cert = device_certificate(config.data_dir, store["hostname"], _addresses(store))
    store.set_facts({"httpsCertificate": cert.describe()})
    switches = {
        "httpOn": config.http_port is not None,
        "httpsOn": config.https_port is not None,
        "rtspOn": config.rtsp_port is not None,
    }
    store.set_facts({name: True for name, given in switches.items() if given})  # a port flag switches it on
    if not (store["httpOn"] or store["httpsOn"]):
        log.warning("httpOn and httpsOn are both false, which would lock every client out: serving HTTP")
        store.set_facts({"httpOn": True})
    device = app.ctx.device
    rtsp = RtspKind(CameraSource(device.camera.stream, device.library), app.ctx.gate, store, config.rtsp_max_sessions)
    kinds: list[ListenerKind] = [WebKind(app, "http"), WebKind(app, "https", cert.context()), rtsp]
    ports = {"http": config.http_port, "https": config.https_port, "rtsp": config.rtsp_port}
    return Listeners(store, config.host, kinds, ports)


def _addresses(store: StateStore) -> list[str]:
    return [c["address"] for iface in store["netInfo"] for c in iface["connections"]]
