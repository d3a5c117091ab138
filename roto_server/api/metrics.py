"""GET /metrics: live figures of the unit in the Prometheus text format.

A custom collector reads the services in ``app.ctx`` at scrape time, so no other module keeps
Prometheus objects; only the event-loop lag needs a sampler of its own. Each app has its own
registry (tests build several apps in one process).

Who may read: admin, or any client on this machine (a local Prometheus or node exporter) without
credentials, or everyone when ``app.config.METRICS_OPEN`` is set (``--metrics-open``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import deque
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw

from roto_server import __version__
from roto_server.api.access import principal
from roto_server.api.errors import ApiError
from roto_server.device import health

LAG_PERIOD_S = 0.25
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RECENT_LAGS = 240  # a minute of samples for the recent maximum
REFUSALS = {"rate_limited_c2": "c2-http", "rate_limited_v1": "v1-http", "rate_limited_v1_ws": "v1-websocket"}


class LoopLag:
    """How late the event loop wakes a task that asked to sleep: the delay every client feels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.histogram = Histogram(
            "roto_event_loop_lag_seconds",
            "How late the event loop ran a task that was due (sampled every 0.25 s)",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.recent: deque[float] = deque(maxlen=RECENT_LAGS)

    async def sample_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_PERIOD_S
            await asyncio.sleep(LAG_PERIOD_S)
            lag = max(0.0, loop.time() - due)
            self.histogram.observe(lag)
            self.recent.append(lag)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class DeviceCollector(Collector):
    """Reads the hub, the pipeline's counters, the gate's refusals and the state at every scrape."""

    def __init__(self, ctx: Any, lag: LoopLag) -> None:
        self._ctx = ctx
        self._lag = lag

    def collect(self) -> Iterator[Metric]:
        ctx = self._ctx
        store = ctx.unit.store
        info = GaugeMetricFamily("roto_info", "Version of the running roto-server", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield _gauge("roto_websocket_clients", "WebSocket clients connected (C2 /api and /api/v1)", len(ctx.hub))
        yield from self._frames(ctx.camera.stream.stats)
        yield from self._readers(ctx.camera.stream.readers())
        yield from self._recording(store)
        yield from self._storages(store)
        yield from self._refusals(ctx.gate.counts)
        checks = GaugeMetricFamily(
            "roto_health_check_ok", "1 when the check of GET /api/health is ok", labels=["check"]
        )
        damaged = [*ctx.device.unit.damaged, *ctx.device.storages.damaged]
        for name, check in health.report(store, damaged)["checks"].items():
            checks.add_metric([name], float(check["ok"]))
        yield checks
        yield _gauge(
            "roto_event_loop_lag_recent_max_seconds",
            "Largest event-loop lag sampled in the last minute",
            max(self._lag.recent, default=0.0),
        )

    @staticmethod
    def _frames(stats: Any) -> Iterator[Metric]:
        yield CounterMetricFamily("roto_frames_produced", "Frames the pipeline processed", value=stats.produced)
        encoded = CounterMetricFamily(
            "roto_frames_encoded",
            "Frames encoded per rendition: JPEG, H.264 for stream1/stream2 (width 'full': the kind's own size)",
            labels=["kind", "width"],
        )
        for (kind, width), count in sorted(stats.encodes.items(), key=str):
            encoded.add_metric([kind, "full" if width is None else str(width)], count)
        yield encoded

    @staticmethod
    def _readers(readers: dict[tuple[str, int | None], int]) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "roto_stream_readers",
            "Consumers of each rendition: MJPEG clients, snapshots waiting, recorders, H.264 readers",
            labels=["kind", "width"],
        )
        for (kind, width), count in sorted(readers.items(), key=str):
            family.add_metric([kind, "full" if width is None else str(width)], count)
        yield family

    @staticmethod
    def _recording(store: Any) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "roto_recording_state", "1 for the manual recording's current state", labels=["state"]
        )
        for name in ("stop", "start", "pause"):
            state.add_metric([name], float(store["record"] == name))
        yield state
        yield _gauge(
            "roto_recording_seconds", "Length of the running manual recording", float(store["recordTime"] or 0)
        )
        yield _gauge("roto_backup_active", "1 while Visual Backup records", float(bool(store["backupActive"])))

    @staticmethod
    def _storages(store: Any) -> Iterator[Metric]:
        families = {
            key: GaugeMetricFamily(
                f"roto_storage_{key}_bytes", f"{key.capitalize()} bytes of the storage", labels=["role"]
            )
            for key in ("free", "used", "total")
        }
        available = GaugeMetricFamily(
            "roto_storage_available", "1 when the selected storage is present", labels=["role"]
        )
        for role in ("recording", "backup"):
            described = store[f"{role}Storage"] or {}
            available.add_metric([role], float(bool(described.get("available"))))
            for key, family in families.items():
                if isinstance(described.get(key), int | float):
                    family.add_metric([role], float(described[key]))
        yield available
        yield from families.values()

    @staticmethod
    def _refusals(counts: Any) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "roto_auth_failures", "Requests refused for wrong credentials", value=counts["auth_failed"]
        )
        yield CounterMetricFamily(
            "roto_auth_lockouts", "Attempts refused because of too many failed logins", value=counts["locked_out"]
        )
        limited = CounterMetricFamily("roto_rate_limit_refusals", "Requests refused by a rate limit", labels=["api"])
        for key, api in REFUSALS.items():
            limited.add_metric([api], counts[key])
        yield limited


def _local(request: Request) -> bool:
    # remote_addr is the client a trusted proxy names (SANIC_REAL_IP_HEADER, SANIC_PROXIES_COUNT), else empty
    try:
        return ipaddress.ip_address(request.remote_addr or request.ip).is_loopback
    except ValueError:
        return False


def install(app: Sanic) -> None:
    registry = CollectorRegistry(auto_describe=False)
    lag = LoopLag(registry)
    registry.register(DeviceCollector(app.ctx, lag))
    sampler: list[asyncio.Task[None]] = []

    @app.before_server_start
    async def _start_sampler(app: Sanic) -> None:
        sampler.append(asyncio.create_task(lag.sample_forever(), name="roto-loop-lag"))

    @app.after_server_stop
    async def _stop_sampler(app: Sanic) -> None:
        while sampler:
            task = sampler.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @app.get("/metrics")
    async def metrics(request: Request) -> HTTPResponse:
        if not (app.config.get("METRICS_OPEN") or _local(request)):
            who = principal(request, app.ctx.gate)
            if who.role != "admin":
                raise ApiError(
                    403, f"/metrics needs the admin role or a client on this machine; {who.name} is {who.role}"
                )
        return raw(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
