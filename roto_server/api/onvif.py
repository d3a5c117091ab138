"""ONVIF over HTTP(S): one POST route per service path, a thin adapter over roto_server.protocols.onvif.

Authentication: pre-auth operations run for anyone; others need a WS-Security UsernameToken or HTTP
Digest/Basic, both decided by the one Gate (same users, roles and lockouts as every other surface).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw

from roto_server.api.access import attempt_of
from roto_server.auth.credentials import Principal
from roto_server.auth.gate import Gate, TooManyFailures, Unauthorized
from roto_server.device.settings import write_atomic
from roto_server.protocols.onvif import events
from roto_server.protocols.onvif.engine import PATHS, Call, run
from roto_server.protocols.onvif.service import OnvifService
from roto_server.protocols.soap import wsse
from roto_server.protocols.soap.envelope import Fault, envelope, fault_envelope, parse
from roto_server.protocols.soap.envelope import Request as SoapRequest

CONTENT_TYPE = "application/soap+xml; charset=utf-8"
SUBSCRIPTION_OPS = {"PullMessages", "Renew", "Unsubscribe", "SetSynchronizationPoint"}
MOTION_TICK_S = 0.1


class _Refusal(Exception):
    def __init__(self, status: int, fault: Fault, headers: dict[str, str] | list[tuple[str, str]]) -> None:
        self.status, self.fault, self.headers = status, fault, headers


def install(app: Sanic) -> None:
    unit = app.ctx.unit
    onvif = OnvifService(unit.store, unit.settings.path.parent)
    app.ctx.onvif = onvif
    motion: dict[str, asyncio.Task[None]] = {}

    async def answer(request: Request, service: str, sid: int | None = None) -> HTTPResponse:
        now = time.time()
        try:
            soap = parse(request.body)
            if sid is not None:
                if soap.operation not in SUBSCRIPTION_OPS:
                    raise Fault("ter:ActionNotSupported", f"{soap.operation} is not supported on a subscription")
                level = "read"
            else:
                op = onvif.registry.find(service, soap)
                level = op.level
            who = None if level == "pre" else _authenticate(request, soap, app.ctx.gate, onvif, now)
            call = _call(request, who, now)
            if sid is not None:
                body = await _subscription(onvif, sid, call, soap)
            else:
                body = run(op, call, soap)
        except _Refusal as refusal:
            return _fault(refusal.fault, refusal.status, refusal.headers)
        except Fault as fault:
            return _fault(fault, 400)
        await _after(onvif, motion)
        return raw(body, content_type=CONTENT_TYPE)

    def _call(request: Request, who: Principal | None, now: float) -> Call:
        """The request for the handlers; ``who`` is None while only pre-auth operations run."""
        listeners = app.ctx.listeners
        ports = listeners.bound_ports() if listeners is not None else {}
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        address = sock[0] if isinstance(sock, tuple) else request.server_name
        role, user = (who.role, who.name) if who is not None else ("anonymous", "")
        return Call(unit.store, role, f"{request.scheme}://{request.host}", address, now, ports, user)

    @app.before_server_stop
    async def _stop_motion(app: Sanic) -> None:
        onvif.ptz.motion = None  # the ticker ends at its next tick
        task = motion.pop("task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    for service, path in PATHS.items():
        app.add_route(_bind(answer, service), path, methods=["POST"], name=f"onvif_{service}")
    app.add_route(
        _subscription_route(answer),
        f"{PATHS['events']}/subscription/<sid:int>",
        methods=["POST"],
        name="onvif_subscription",
    )


def _bind(answer, service):  # type: ignore[no-untyped-def]
    async def route(request: Request) -> HTTPResponse:
        return await answer(request, service)

    return route


def _subscription_route(answer):  # type: ignore[no-untyped-def]
    async def route(request: Request, sid: int) -> HTTPResponse:
        return await answer(request, "subscription", sid)

    return route


async def _after(onvif: OnvifService, motion: dict[str, asyncio.Task[None]]) -> None:
    """File writes off the loop, and the ticker of a continuous move."""
    data = onvif.ptz.presets.pending()
    if data is not None:
        await asyncio.to_thread(write_atomic, onvif.presets_path, data)
    if onvif.ptz.motion is not None and ("task" not in motion or motion["task"].done()):
        motion["task"] = asyncio.get_running_loop().create_task(_move(onvif))


async def _move(onvif: OnvifService) -> None:
    while onvif.ptz.motion is not None:
        await asyncio.sleep(MOTION_TICK_S)
        onvif.ptz.tick(onvif.store, time.time())


async def _subscription(onvif: OnvifService, sid: int, call: Call, soap: SoapRequest) -> bytes:
    broker = onvif.events
    if soap.operation != "PullMessages":
        return envelope(events.subscription_op(broker, sid, call, soap.operation, soap.body))
    sub = broker.find(sid, call.now, call.user)
    timeout, limit = events.pull_timeout(soap.body, call.now)
    messages = broker.take(sub, limit)
    if not messages:
        arrived = asyncio.Event()
        broker.wakeups.append(arrived.set)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), timeout)
        finally:
            broker.wakeups.remove(arrived.set)
        messages = broker.take(sub, limit)
    return envelope(events.pull_response(sub, messages, time.time()))


def _authenticate(request: Request, soap: SoapRequest, gate: Gate, onvif: OnvifService, now: float) -> Principal:
    """Who calls; _Refusal for no credentials (401 with challenges), wrong ones or a lockout."""
    attempt = attempt_of(request)
    try:
        try:
            token = wsse.find_token(soap.header)
        except wsse.TokenError as exc:
            raise _Refusal(400, Fault("ter:NotAuthorized", str(exc)), {}) from None
        if token is not None:

            def check(password: str) -> str | None:
                try:
                    wsse.verify(token, password, now, onvif.nonces)
                except wsse.TokenError as exc:
                    return str(exc)
                return None

            return gate.proof(attempt, token.username, check, now)
        return gate.identify(attempt, now)
    except Unauthorized as exc:
        status = 400 if token is not None else 401
        headers = [] if token is not None else [("WWW-Authenticate", c) for c in exc.challenges]
        reason = str(exc) if gate.brings_credentials(attempt) or token is not None else "credentials required"
        raise _Refusal(status, Fault("ter:NotAuthorized", f"Sender not authorized: {reason}"), headers) from None
    except TooManyFailures as exc:
        fault = Fault("ter:NotAuthorized", str(exc))
        raise _Refusal(429, fault, [("Retry-After", str(exc.retry_after))]) from None


def _fault(fault: Fault, status: int, headers: dict[str, str] | list[tuple[str, str]] | None = None) -> HTTPResponse:
    response = raw(fault_envelope(fault), status=status, content_type=CONTENT_TYPE)
    for name, value in headers.items() if isinstance(headers, dict) else headers or []:
        response.headers.add(name, value)
    return response
