"""What the RTSP server reads: a MediaSource, and LiveFeed, the fan-out of one live rendition to its readers.

The server never encodes. For each path it asks the source for a description (SDP facts: codec, size, SPS/PPS)
and, for every session that plays, for an async iterator of EncodedFrame. A live source hands every reader the
output of ONE encoder (LiveFeed does the fan-out); the server itself skips to the first keyframe and paces by
`pts`, so a file source may yield as fast as it reads.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from roto_server.imaging.encoded import EncodedFrame
from roto_server.protocols.rtsp.sdp import StreamDescription


class MediaSource(Protocol):
    async def describe(self, path: str, query: Mapping[str, str]) -> StreamDescription | None:
        """The stream at a canonical path ("stream1", "stream2", "recording"); None if there is none.

        May wait briefly, e.g. for a just-started encoder's first SPS/PPS.
        """
        ...

    def frames(self, path: str, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        """Frames for one reader, from now on; the iterator ends with the stream (end of a recording).

        The server closes the iterator (aclose) when the reader stops, so a source can stop encoding
        when its last reader leaves.
        """
        ...


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
            self._ask_for_keyframe()

    def _ask_for_keyframe(self) -> None:
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
        self._ask_for_keyframe()
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
