"""The imaging pipeline: render/capture and process in one thread, encode each rendition in its own, share the bytes.

Consumers declare the rendition they need by kind and width; the pipeline never names them. A kind fixes
size, fps, quality, stamps and codec: ``stream`` (JPEG at the live stream's settings, or a preview width),
``backup`` (JPEG at Visual Backup's settings), ``stream1`` (H.264 of the same picture as ``stream``) and
``stream2`` (H.264 sub stream, 640 px wide, fps capped at 30).

Every frame is encoded at most once per rendition, by that rendition's own worker thread. A worker that is
still busy when the producer publishes a newer frame skips to the newest (back-pressure instead of a queue),
and the producer waits until some worker took its last frame before it renders the next. JPEG frames go to a
:class:`FrameBus` (MJPEG clients, snapshots, recorders); H.264 access units to a :class:`LiveFeed`.

The encoded-frame bus (the contract RTSP and WebRTC read): ``StreamService.encoded(name)`` is an async
generator of :class:`roto_server.imaging.encoded.EncodedFrame` for ``name`` "stream1" or "stream2". It starts at
a keyframe (a joining reader asks the encoder for one, at most one request per half second), every reader
shares the ONE encoder of the rendition, started when its first reader comes and stopped when the last one
leaves (closes the generator). A change of size (``recordingResolution``) restarts the encoder: its next frame
is a keyframe whose units begin with the new SPS and PPS. A reader that falls behind skips to the next keyframe.
With no consumer at all every thread sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from . import processing as proc
from .encoded import EncodedFrame as AccessUnit
from .encoded import LiveFeed
from .h264 import H264Encoder
from .scene import HeadView
from .sources import FrameSource

log = logging.getLogger("roto.pipeline")

# for latency measurements only (scripts/bench_rtsp.py): draw the render time into every frame's top left corner
FRAME_CODE = os.environ.get("ROTO_FRAME_CODE", "") == "1"

MIN_PREVIEW_WIDTH = 32
MAX_RENDITIONS = 8
STREAM = "stream"
BACKUP = "backup"
H264_KINDS = ("stream1", "stream2")  # the renditions of the encoded-frame bus
SUB_STREAM_WIDTH = 640
SUB_STREAM_MAX_FPS = 30
RenditionKey = tuple[str, int | None]  # (kind, preview width or None for the kind's own size)


@dataclass(frozen=True)
class EncodedFrame:
    seq: int
    jpeg: bytes
    width: int
    height: int
    captured: float  # wall-clock time the frame was produced
    begun: float = 0.0  # monotonic time its rendering began, before the live settings were read


class FrameBus:
    """The newest encoded frame of one rendition, and a way to wait for the next one (event loop side)."""

    def __init__(self) -> None:
        self.latest: EncodedFrame | None = None
        self._next = asyncio.Event()
        self.readers = 0

    def publish(self, frame: EncodedFrame) -> None:
        self.latest = frame
        ready, self._next = self._next, asyncio.Event()
        ready.set()

    async def newer_than(self, seq: int) -> EncodedFrame:
        while self.latest is None or self.latest.seq <= seq:
            await self._next.wait()
        return self.latest


@dataclass
class _Processed:
    seq: int
    frame: np.ndarray
    settings: proc.ImagingSettings
    captured: float
    begun: float
    taken: bool = False  # some worker picked it up: the producer may render the next one


@dataclass
class PipelineStats:
    produced: int = 0
    encodes: dict[RenditionKey, int] = field(default_factory=dict)


class StreamService:
    """Owns the pipeline threads and the buses; consumers ask for frames by rendition."""

    def __init__(
        self, sources: list[FrameSource | None], settings: Callable[[], proc.ImagingSettings], *, paced: bool = True
    ) -> None:
        self._sources = sources
        self._settings = settings
        self._paced = paced
        self._buses: dict[RenditionKey, FrameBus] = {}
        self._feeds: dict[RenditionKey, LiveFeed] = {}
        self._active: frozenset[RenditionKey] = frozenset()
        self._workers: dict[RenditionKey, _Worker] = {}
        self._wanted = threading.Event()
        self._running = False
        self._slot: _Processed | None = None
        self._slot_ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._auto = proc.AutoControls()
        self.stats = PipelineStats()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        cv2.setNumThreads(1)  # the producer and the workers already share both cores
        self._threads = [threading.Thread(target=self._produce_loop, name="roto-produce", daemon=True)]
        for thread in self._threads:
            thread.start()
        self._refresh_demand()

    def stop(self) -> None:
        self._running = False
        self._wanted.set()
        workers = list(self._workers.values())
        for worker in workers:
            worker.running = False
        with self._slot_ready:
            self._slot_ready.notify_all()
        for thread in [*self._threads, *(w.thread for w in workers)]:
            thread.join(timeout=2)
        for source in self._sources:
            if source is not None:
                source.close()

    # -- consumers (event loop) -------------------------------------------------------------
    def rendition(self, width: int | None, kind: str = STREAM) -> RenditionKey:
        """Key of the rendition for a kind and a requested preview width (None = full size)."""
        if width is None or kind in H264_KINDS:
            return (kind, None)
        full = self._params(kind, self._settings()).size[0]
        width = max(MIN_PREVIEW_WIDTH, min(width, full)) // 8 * 8
        return (kind, None if width >= full else width)

    def params_of(self, kind: str) -> proc.RenditionParams:
        """Size, fps, quality and stamps a kind of rendition has under the live settings."""
        return self._params(kind, self._settings())

    @staticmethod
    def _params(kind: str, settings: proc.ImagingSettings) -> proc.RenditionParams:
        if kind == BACKUP:
            return settings.backup
        params = proc.stream_params(settings)
        if kind == "stream2":
            w, h = params.size
            size = (SUB_STREAM_WIDTH, max(2, round(h * SUB_STREAM_WIDTH / w)) // 2 * 2)
            return dataclasses.replace(params, size=size, fps=min(params.fps, SUB_STREAM_MAX_FPS))
        return params

    @contextlib.asynccontextmanager
    async def reader(self, width: int | None = None, kind: str = STREAM) -> AsyncIterator[FrameBus]:
        """Register demand for a rendition for as long as the block runs."""
        key = self.rendition(width, kind)
        bus = self._buses.get(key)
        if bus is None:
            if len(self._buses) >= MAX_RENDITIONS:
                self._forget_idle_buses()
            if len(self._buses) >= MAX_RENDITIONS:
                raise RuntimeError(f"too many different preview sizes in use (at most {MAX_RENDITIONS})")
            bus = self._buses[key] = FrameBus()
        bus.readers += 1
        self._refresh_demand()
        try:
            yield bus
        finally:
            bus.readers -= 1
            self._refresh_demand()

    async def frames(
        self, width: int | None = None, kind: str = STREAM, *, since: float | None = None
    ) -> AsyncGenerator[EncodedFrame, None]:
        """Newest frames, one after another; a slow reader skips to the newest.

        Only frames whose rendering began at or after ``since`` (monotonic; default: when the
        first frame is asked for) are yielded: the bus may still hold a frame from before an
        idle period, and a frame being rendered now may use settings older than the caller's.
        """
        since = time.monotonic() if since is None else since
        async with self.reader(width, kind) as bus:
            seq = 0
            while True:
                frame = await bus.newer_than(seq)
                seq = frame.seq
                if frame.begun >= since:
                    yield frame

    async def encoded(self, name: str) -> AsyncGenerator[AccessUnit, None]:
        """H.264 access units of "stream1" or "stream2" from the next keyframe on (see the module docstring)."""
        if name not in H264_KINDS:
            raise ValueError(f"no encoded stream {name!r}; there are {', '.join(H264_KINDS)}")
        key = (name, None)
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = LiveFeed(request_keyframe=lambda: self._request_keyframe(key))
        async with self.reader(None, name):
            async for unit in feed.subscribe():
                yield unit

    def want_keyframe(self, name: str) -> None:
        """A reader lost pictures (a WebRTC viewer's PLI or FIR): ask the rendition's encoder for a keyframe,
        at most one request per feed's interval however many readers ask."""
        feed = self._feeds.get((name, None))
        if feed is not None:
            feed.want_keyframe()

    def _request_keyframe(self, key: RenditionKey) -> None:
        worker = self._workers.get(key)
        if worker is not None:
            worker.keyframe_wanted = True

    async def snapshot(self, width: int | None = None) -> EncodedFrame:
        """A current frame: the newest if it is fresh, else the next one."""
        async with self.reader(width) as bus:
            latest = bus.latest
            fresh = 1.5 / max(self._settings().fps, 1)
            if latest is not None and time.time() - latest.captured < fresh:
                return latest
            return await bus.newer_than(latest.seq if latest else 0)

    def readers(self) -> dict[RenditionKey, int]:
        """Consumers reading each rendition now (MJPEG clients, snapshots, recorders, H.264 readers), for metrics."""
        return {key: bus.readers for key, bus in self._buses.items() if bus.readers}

    def _forget_idle_buses(self) -> None:
        for key in [k for k, b in self._buses.items() if b.readers == 0]:
            del self._buses[key]

    def _refresh_demand(self) -> None:
        was_active = bool(self._active)
        self._active = frozenset(k for k, b in self._buses.items() if b.readers > 0)
        if self._running:
            self._staff_workers()
        if self._active:
            self._wanted.set()
        else:
            self._wanted.clear()
        if bool(self._active) != was_active:
            log.info("pipeline %s", "active" if self._active else "idle: no frame consumers")

    def _staff_workers(self) -> None:
        """One worker thread per active rendition; a worker whose rendition lost its readers ends."""
        for key in list(self._workers):
            if key not in self._active:
                self._workers.pop(key).running = False
        for key in self._active - self._workers.keys():
            worker = self._workers[key] = _Worker(self, key)
            worker.thread.start()
        with self._slot_ready:
            if not self._active:
                self._slot = None  # nobody took it and nobody will: the next reader must not wait on it
            self._slot_ready.notify_all()  # wake workers that should end

    # -- producer thread -------------------------------------------------------------------
    def _produce_loop(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while self._running:
            if not self._wanted.wait(timeout=0.5):
                next_at = time.monotonic()
                continue
            if self._paced:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._await_taken()
            begun = time.monotonic()  # taken before the settings are read: see frames()
            settings = self._settings()
            active = self._active
            if self._paced:
                fps = max((self._params(kind, settings).fps for kind, _ in active), default=settings.fps)
                next_at = max(next_at + 1.0 / fps, time.monotonic() - 1.0 / fps)
            try:
                # render at the largest size an active rendition needs (HD when only backing up in HD)
                size = max(
                    (self._params(kind, settings).size for kind, _ in active),
                    key=lambda wh: wh[0] * wh[1],
                    default=settings.size,
                )
                frame = self.process(settings, time.monotonic(), size)
                if FRAME_CODE:
                    draw_time_code(frame, time.monotonic())
            except Exception:
                log.exception("frame processing failed")
                time.sleep(0.1)
                continue
            seq += 1
            with self._slot_ready:
                self._slot = _Processed(seq, frame, settings, time.time(), begun)
                self._slot_ready.notify_all()
            self.stats.produced += 1

    def _await_taken(self) -> None:
        """Back-pressure: render nothing new while every worker is still busy with older frames."""
        with self._slot_ready:
            deadline = time.monotonic() + 0.5
            while self._running and self._slot is not None and not self._slot.taken:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._slot_ready.wait(timeout=left)

    def _next_slot(self, worker: _Worker) -> _Processed | None:
        """The newest processed frame the worker has not seen, waiting for one; None when it should end."""
        with self._slot_ready:
            while self._running and worker.running and not self._fresh_for(worker):
                self._slot_ready.wait(timeout=0.5)
            item = self._slot
            if item is None or not (self._running and worker.running):
                return None
            item.taken = True
            self._slot_ready.notify_all()
            return item

    def _fresh_for(self, worker: _Worker) -> bool:
        """Whether the slot holds a frame the worker should encode (call with the slot lock held).

        A frame begun before the worker started was rendered for an earlier demand, maybe with older
        settings; it is let go (taken) so the producer renders the next one at once.
        """
        slot = self._slot
        if slot is None or slot.seq == worker.last:
            return False
        if slot.begun < worker.since:
            slot.taken = True
            self._slot_ready.notify_all()
            return False
        return True

    def process(self, s: proc.ImagingSettings, t: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """One frame from the live settings at ``size`` (default: the stream's own size).

        Pure apart from the auto controls' memory; each rendition scales and stamps it afterwards.
        """
        size = size or s.size
        frame = self._head_frame(s.streamed, s, size, t, zoom=True)
        if s.pip and s.heads[1 - s.streamed].exists:
            x0, y0, x1, y1 = proc.pip_box(size, s.pip)
            inset = self._head_frame(1 - s.streamed, s, (x1 - x0, y1 - y0), t, zoom=True)
            proc.place_pip(frame, inset, s.pip)
        self._auto.update(frame, s)
        frame = cv2.transform(frame, proc.colour_matrix(s, self._auto))
        if s.noise_suppression:
            frame = proc.denoise(frame)
        return proc.sharpen(frame, s.sharpness)

    def _head_frame(
        self, index: int, s: proc.ImagingSettings, size: tuple[int, int], t: float, *, zoom: bool
    ) -> np.ndarray:
        head = s.heads[index]
        source = self._sources[index] if index < len(self._sources) else None
        if source is None or not head.exists:
            return proc.no_signal(size, index)
        frame = source.frame(size, t, HeadView(head.light, head.rpm, head.temp_c))
        if zoom:
            frame = proc.zoom_and_pan(frame, head.zoom, head.pan)
        return proc.orient(frame, mirror=head.sensor == 1 and source.sensors == 1, rotate180=head.rotate180)

    # -- workers ------------------------------------------------------------------------------
    def _count(self, key: RenditionKey) -> None:
        self.stats.encodes[key] = self.stats.encodes.get(key, 0) + 1

    def _publish(self, key: RenditionKey, frame: EncodedFrame) -> None:
        bus = self._buses.get(key)
        if bus is not None:
            bus.publish(frame)

    def _publish_unit(self, key: RenditionKey, unit: AccessUnit, worker: _Worker) -> None:
        feed = self._feeds.get(key)
        # a worker that lost its readers may still finish a frame after its successor started: its encoder's
        # frames would break the successor's stream (other SPS, other timestamps)
        if feed is not None and self._workers.get(key) is worker:
            feed.publish(unit)

    def _deliver(self, callback: Callable[..., None], *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                self._loop.call_soon_threadsafe(callback, *args)


class _Worker:
    """Encodes one rendition in its own thread: JPEG onto a FrameBus, or H.264 into a LiveFeed."""

    def __init__(self, service: StreamService, key: RenditionKey) -> None:
        self.service = service
        self.key = key
        self.running = True
        self.last = 0
        self.last_sent = 0.0
        self.since = time.monotonic()  # frames begun earlier were meant for an earlier demand
        self.keyframe_wanted = False
        self.encoder: H264Encoder | None = None
        self.started = 0.0
        self.thread = threading.Thread(target=self._run, name=f"roto-encode-{key[0]}-{key[1] or 'full'}", daemon=True)

    def _run(self) -> None:
        while (item := self.service._next_slot(self)) is not None:
            self.last = item.seq
            params = self.service._params(self.key[0], item.settings)
            # a slower rendition (backup at 5 fps while streaming at 30) takes every n-th frame
            if self.service._paced and item.captured - self.last_sent < 0.9 / params.fps:
                continue
            try:
                if self.key[0] in H264_KINDS:
                    self._encode_h264(item, params)
                else:
                    self._encode_jpeg(item, params)
            except Exception:
                log.exception("encoding %s failed", self.key)
                time.sleep(0.1)
                continue
            self.last_sent = item.captured
        self.encoder = None

    def _encode_jpeg(self, item: _Processed, params: proc.RenditionParams) -> None:
        frame = render_rendition(item.frame, params, self.key[1], item.settings.timezone, item.captured)
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, params.quality])
        if not ok:
            log.error("JPEG encoding failed")
            return
        self.service._count(self.key)
        encoded = EncodedFrame(item.seq, buf.tobytes(), frame.shape[1], frame.shape[0], item.captured, item.begun)
        self.service._deliver(self.service._publish, self.key, encoded)

    def _encode_h264(self, item: _Processed, params: proc.RenditionParams) -> None:
        frame = render_rendition(item.frame, params, None, item.settings.timezone, item.captured)
        height, width = frame.shape[:2]
        encoder = self.encoder
        if encoder is None or (encoder.width, encoder.height, encoder.fps) != (width, height, params.fps):
            # a new size starts a new encoder: its first frame is a keyframe with the new SPS and PPS
            encoder = self.encoder = H264Encoder(width, height, params.fps)
            self.started = item.begun
        if self.keyframe_wanted:
            self.keyframe_wanted = False
            encoder.request_keyframe()
        captured_at = item.begun
        for unit in encoder.encode(frame, item.begun - self.started, captured_at):
            self.service._count(self.key)
            self.service._deliver(self.service._publish_unit, self.key, unit, self)


def render_rendition(
    frame: np.ndarray, params: proc.RenditionParams, width: int | None, timezone: str, captured: float
) -> np.ndarray:
    """Scale a processed frame to a rendition's size and print its stamps (the input is never modified)."""
    w, h = params.size
    if width is not None:
        w, h = width, max(2, round(params.size[1] * width / params.size[0])) // 2 * 2
    out = frame
    if (frame.shape[1], frame.shape[0]) != (w, h):
        # area averaging only pays off for strong shrinking (previews); it costs ~7x linear
        strong = w * 2 <= frame.shape[1]
        out = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if strong else cv2.INTER_LINEAR)
    text = proc.stamp_text(params, datetime.fromtimestamp(captured, ZoneInfo(timezone)))
    if text:
        if out is frame:
            out = frame.copy()
        proc.stamp(out, text)
    return out


CODE_BITS = 32
CODE_CELL = 16  # pixels a bit, big enough to survive JPEG and H.264 at any quality


def draw_time_code(frame: np.ndarray, monotonic: float) -> None:
    """Milliseconds of the monotonic clock (mod 2**32) as black/white cells along the top edge, MSB first."""
    value = int(monotonic * 1000) & (2**CODE_BITS - 1)
    for bit in range(CODE_BITS):
        on = (value >> (CODE_BITS - 1 - bit)) & 1
        frame[:CODE_CELL, bit * CODE_CELL : (bit + 1) * CODE_CELL] = 255 if on else 0


def read_time_code(frame: np.ndarray) -> int:
    """The value draw_time_code put into a decoded frame (BGR or grey), read at the centre of each cell."""
    value = 0
    for bit in range(CODE_BITS):
        cell = frame[4 : CODE_CELL - 4, bit * CODE_CELL + 4 : (bit + 1) * CODE_CELL - 4]
        value = (value << 1) | int(cell.mean() > 128)
    return value
