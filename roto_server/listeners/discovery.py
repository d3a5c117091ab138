"""WS-Discovery on UDP 3702: the multicast socket and its life cycle around the app (ONVIF discovery).

The decisions live in roto_server.protocols.wsd; this module only moves datagrams. A probe is answered
by unicast to its sender with XAddrs on the address the unit uses towards that sender (the interface
the probe came in on). Hello goes out when the servers are up, Bye before they close. A unit that
listens on loopback only stays silent: nothing on the network could reach the addresses it would announce.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct
import uuid
from typing import Any

from sanic import Sanic

from roto_server.config import ServerConfig
from roto_server.device.store import StateStore
from roto_server.protocols.onvif.device import scopes
from roto_server.protocols.wsd import codec
from roto_server.protocols.wsd.responder import Responder

from . import Listeners, Serving

log = logging.getLogger("roto.listeners")

GROUP = "239.255.255.250"
PORT = 3702


def endpoint_address(store: StateStore) -> str:
    """The unit's stable WS-Discovery address, from its MAC (or host name): the same across restarts."""
    identity = str(store["macAddr"] or store["hostname"] or "roto")
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'roto-onvif:' + identity)}"


def local_address_towards(peer: str) -> str:
    """The unit's own address on the route to ``peer``: connecting a UDP socket sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((peer, PORT))
        return str(probe.getsockname()[0])


class DiscoveryKind:
    """The multicast socket: bound to the WS-Discovery port, member of the group on every IPv4 address."""

    name = "discovery"
    schemes: tuple[str, ...] = ()

    def __init__(self, responder: Responder, addresses: list[str]) -> None:
        self.responder = responder
        self.addresses = addresses

    def bind(self, host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("", port))
        for address in ["0.0.0.0", *self.addresses]:
            mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(address))
            with contextlib.suppress(OSError):  # already a member through the default interface
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # WS-Discovery stays on the link
        sock.setblocking(False)
        return sock

    async def serve(self, sock: socket.socket) -> Serving:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self.responder), sock=sock)
        return _Serving(transport, self.responder)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = str(addr[0])
        try:
            reply = self.responder.answer(data, local_address_towards(peer))
        except OSError:
            return  # no route back to the sender: nothing to answer with
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class _Serving:
    def __init__(self, transport: asyncio.DatagramTransport, responder: Responder) -> None:
        self.transport = transport
        self.responder = responder

    def announce(self, message: bytes) -> None:
        with contextlib.suppress(OSError):
            self.transport.sendto(message, (GROUP, PORT))

    async def close(self) -> None:
        self.transport.close()


def _target_for(store: StateStore, listeners: Listeners | None) -> Any:
    def target(local: str) -> codec.Target:
        ports = listeners.bound_ports() if listeners is not None else {}
        host = f"[{local}]" if ":" in local else local
        xaddrs = [f"http://{host}:{ports['http']}/onvif/device_service"] if ports.get("http") else []
        if ports.get("https"):
            xaddrs.append(f"https://{host}:{ports['https']}/onvif/device_service")
        return codec.Target(endpoint_address(store), tuple(scopes(str(store["hostname"]))), tuple(xaddrs))

    return target


def install(app: Sanic, config: ServerConfig, port: int = PORT) -> None:
    """Open WS-Discovery when the servers are up and close it (with Bye) before they stop."""
    if not config.discovery:
        return
    try:
        loopback = ipaddress.ip_address(config.host).is_loopback
    except ValueError:
        loopback = config.host == "localhost"
    if loopback:
        log.info("WS-Discovery off: the unit listens on loopback only (%s)", config.host)
        return
    store: StateStore = app.ctx.unit.store
    responder = Responder(_target_for(store, app.ctx.listeners), instance_id=int.from_bytes(os.urandom(4)) >> 1)
    running: dict[str, _Serving] = {}

    @app.after_server_start
    async def _open(app: Sanic) -> None:
        if app.asgi:
            return
        addresses = [c["address"] for i in store["netInfo"] for c in i["connections"] if "." in c["address"]]
        kind = DiscoveryKind(responder, addresses)
        try:
            serving = await kind.serve(kind.bind(config.host, port))
        except OSError as exc:
            log.error("WS-Discovery cannot listen on UDP %s: %s; the unit is not discoverable", port, exc)
            return
        assert isinstance(serving, _Serving)
        running["server"] = serving
        with contextlib.suppress(OSError):
            serving.announce(responder.hello(local_address_towards(GROUP)))
        log.info("WS-Discovery answering on UDP %s", port)

    @app.before_server_stop
    async def _close(app: Sanic) -> None:
        serving = running.pop("server", None)
        if serving is not None:
            with contextlib.suppress(OSError):
                serving.announce(responder.bye(local_address_towards(GROUP)))
            await serving.close()
