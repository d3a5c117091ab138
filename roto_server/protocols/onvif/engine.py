"""What every ONVIF operation shares: the call's context, access levels and the dispatch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from roto_server.device.store import Refused, Set, StateStore
from roto_server.protocols.soap.envelope import Fault, Request, el, envelope

Level = Literal["pre", "read", "write"]  # pre: before authentication (ONVIF Core's PRE_AUTH set)
SERVICES = ("device", "media", "media2", "ptz", "imaging", "events", "subscription")
PATHS = {
    "device": "/onvif/device_service",
    "media": "/onvif/media_service",
    "media2": "/onvif/media2_service",
    "ptz": "/onvif/ptz_service",
    "imaging": "/onvif/imaging_service",
    "events": "/onvif/event_service",
}


@dataclass
class Call:
    """One request as the handlers see it."""

    store: StateStore
    role: str  # "anonymous" while only pre-auth operations run
    base: str  # scheme://host:port as the client reached the unit: XAddrs use it
    address: str  # the unit's own address the request arrived on: stream URIs use it
    now: float
    web_ports: Mapping[str, int | None] = field(default_factory=dict)
    user: str = ""  # who is calling ("" while only pre-auth operations run): subscriptions are theirs

    def url(self, service: str) -> str:
        return self.base + PATHS[service]

    @property
    def rtsp_port(self) -> int | None:
        """The port RTSP really serves on (it may differ from rtspPort, e.g. --rtsp-port 0); None while off."""
        status = self.store["rtspStatus"]
        if isinstance(status, Mapping) and status.get("running") and isinstance(status.get("port"), int):
            return int(status["port"])
        return None

    def write(self, changes: list[Set]) -> None:
        """Apply writes through the store; a refusal becomes ter:InvalidArgVal naming the variable."""
        result = self.store.apply(changes, self.role)
        refused = [n for n in result.notices if n.level != "info"]
        if refused:
            raise Fault("ter:InvalidArgVal", "; ".join(n.message for n in refused))


Handler = Callable[[Call, etree._Element], etree._Element]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    level: Level


class Registry:
    """The operations of the services, by service name and operation name."""

    def __init__(self) -> None:
        self.ops: dict[str, dict[str, Operation]] = {s: {} for s in SERVICES}

    def add(self, service: str, name: str, level: Level) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.ops[service][name] = Operation(handler, level)
            return handler

        return register

    def find(self, service: str, request: Request) -> Operation:
        op = self.ops.get(service, {}).get(request.operation)
        if op is None:
            raise Fault("ter:ActionNotSupported", f"{request.operation} is not supported by the {service} service")
        return op


def run(op: Operation, call: Call, request: Request) -> bytes:
    """The response envelope of an authorised call; Fault for what the caller got wrong."""
    if op.level == "write" and call.role not in ("operator", "admin"):
        raise Fault("ter:NotAuthorized", f"{request.operation} changes the unit: operators and admins only")
    try:
        return envelope(op.handler(call, request.body))
    except Refused as exc:
        raise Fault("ter:InvalidArgVal", str(exc)) from None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def response(tag: str, *children: etree._Element | None) -> etree._Element:
    return el(tag, *children)
