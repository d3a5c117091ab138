"""The value an encoded-frame bus carries: one encoded picture, whatever consumer (RTSP, WebRTC) reads it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EncodedFrame:
    """One access unit of a rendition.

    `pts` is the presentation time in seconds on the rendition's own clock (it starts near 0 and only grows);
    `captured_at` is the time.monotonic() at which the picture left the camera, for latency and RTCP pairing.
    For H.264 `units` are the NAL units without start codes; for JPEG it is the single JPEG file.
    """

    codec: str  # "h264" or "jpeg"
    units: tuple[bytes, ...]
    keyframe: bool
    pts: float
    captured_at: float
    width: int
    height: int

    @property
    def size(self) -> int:
        return sum(len(unit) for unit in self.units)


class _Reader:
    """The frames one reader has not taken yet."""

    def __init__(self, backlog: int) -> None:
        self.backlog = backlog
        self.frames: deque[EncodedFrame] = deque()
        self.waiting_for_keyframe = True  # a new reader, too, starts at a keyframe
        self.ended = False
        self.wakeup = asyncio.Event()

    def offer(self, frame: EncodedFrame) -> None:
        if len(self.frames) >= self.backlog:
            # a reader this late gets nothing until a keyframe lets it decode again
            self.frames.clear()
            self.waiting_for_keyframe = True
        if self.waiting_for_keyframe and not frame.keyframe:
            return
        self.waiting_for_keyframe = False
        self.frames.append(frame)
        self.wakeup.set()

    def end(self) -> None:
        self.ended = True
        self.wakeup.set()


class LiveFeed:
    """One live rendition fanned out to readers; a reader that falls behind skips to the next keyframe.

    publish() and end() run on the event loop (use loop.call_soon_threadsafe from an encode thread).
    """

    def __init__(
        self,
        backlog: int = 30,
        request_keyframe: Callable[[], None] | None = None,
        keyframe_interval: float = 0.5,
    ) -> None:
        self.backlog = backlog
        self._readers: set[_Reader] = set()
        # a joining reader asks the encoder for a keyframe rather than wait up to a GOP, but a crowd of joining
        # readers must not turn the stream into keyframes only: at most one request per keyframe_interval
        self._request_keyframe = request_keyframe
        self._keyframe_interval = keyframe_interval
        self._last_request = -keyframe_interval

    @property
    def readers(self) -> int:
        return len(self._readers)

    def publish(self, frame: EncodedFrame) -> None:
        for reader in self._readers:
            reader.offer(frame)
        if any(reader.waiting_for_keyframe for reader in self._readers):
            self.want_keyframe()

    def want_keyframe(self) -> None:
        """Ask the encoder for a keyframe, unless one was asked for within the interval."""
        now = time.monotonic()
        if self._request_keyframe and now - self._last_request >= self._keyframe_interval:
            self._last_request = now
            self._request_keyframe()

    def end(self) -> None:
        """Tell every reader the stream is over."""
        for reader in self._readers:
            reader.end()

    async def subscribe(self) -> AsyncIterator[EncodedFrame]:
        """Frames from the next keyframe on, until end() or the reader stops iterating."""
        reader = _Reader(self.backlog)
        self._readers.add(reader)
        self.want_keyframe()
        try:
            while True:
                while not reader.frames and not reader.ended:
                    reader.wakeup.clear()
                    await reader.wakeup.wait()
                if not reader.frames:
                    return
                yield reader.frames.popleft()
        finally:
            self._readers.discard(reader)
