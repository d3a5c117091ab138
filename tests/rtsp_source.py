"""A synthetic MediaSource for RTSP tests: a moving pattern encoded once per path by H264Encoder in a thread,
and an RTSP server running on its own event loop thread so tests can drive blocking real clients."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Mapping

import cv2
import numpy as np

from roto_server.imaging.encoded import EncodedFrame
from roto_server.imaging.h264 import H264Encoder
from roto_server.protocols.rtsp.auth import Authorize, allow_anyone
from roto_server.protocols.rtsp.sdp import StreamDescription, TrackDescription
from roto_server.rtsp.server import RtspServer
from roto_server.rtsp.source import LiveFeed

SIZES = {"stream1": (320, 240), "stream2": (160, 96)}
FPS = 30
RECORDING_FRAMES = 45


def pattern(width: int, height: int, index: int) -> np.ndarray:
    """A frame that changes every time: a bar moving across a gradient, so the encoder has work to do."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None]
    left = (index * 4) % width
    frame[:, left : left + width // 10] = (0, 255, 255)
    return frame


class SyntheticSource:
    """One encoder per path, fed at FPS by a thread while the source runs; every reader shares its output."""

    def __init__(self, sizes: Mapping[str, tuple[int, int]] = SIZES, fps: int = FPS, jpeg: tuple[str, ...] = ()):
        self.fps = fps
        self.encoders = {path: H264Encoder(w, h, fps) for path, (w, h) in sizes.items() if path not in jpeg}
        self.jpeg_sizes = {path: size for path, size in sizes.items() if path in jpeg}
        self.feeds = {
            path: LiveFeed(request_keyframe=encoder.request_keyframe) for path, encoder in self.encoders.items()
        }
        self.feeds.update({path: LiveFeed() for path in self.jpeg_sizes})
        self.descriptions: dict[str, StreamDescription] = {}
        for path, (width, height) in self.jpeg_sizes.items():
            track = TrackDescription(26, "JPEG", width=width, height=height, fps=fps)
            self.descriptions[path] = StreamDescription((track,), title=f"synthetic {path} as JPEG")
        for path, encoder in self.encoders.items():
            encoder.encode(pattern(encoder.width, encoder.height, 0), 0.0)  # yields the SPS/PPS for the SDP
            assert encoder.parameter_sets is not None
            track = TrackDescription(
                96, "H264", fmtp=encoder.parameter_sets.fmtp(), width=encoder.width, height=encoder.height, fps=fps
            )
            self.descriptions[path] = StreamDescription((track,), title=f"synthetic {path}")
        self.recording = self._record(RECORDING_FRAMES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self, count: int) -> list[EncodedFrame]:
        """A finished "recording": frames encoded ahead, which /recording hands out as fast as it is asked."""
        width, height = SIZES["stream1"]
        encoder = H264Encoder(width, height, self.fps)
        frames = [f for i in range(count) for f in encoder.encode(pattern(width, height, i), i / self.fps)]
        assert encoder.parameter_sets is not None
        track = TrackDescription(
            96, "H264", fmtp=encoder.parameter_sets.fmtp(), width=width, height=height, fps=self.fps
        )
        self.descriptions["recording"] = StreamDescription((track,), "recording", duration=count / self.fps)
        return frames

    async def describe(self, path: str, query: Mapping[str, str]) -> StreamDescription | None:
        return self.descriptions.get(path)

    def frames(self, path: str, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        if path == "recording":
            return self._play_back()
        return self.feeds[path].subscribe()

    async def _play_back(self) -> AsyncIterator[EncodedFrame]:
        for frame in self.recording:
            yield frame

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._thread = threading.Thread(target=self._produce, args=(loop,), daemon=True, name="synthetic-h264")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _produce(self, loop: asyncio.AbstractEventLoop) -> None:
        start = time.monotonic()
        index = 1
        while not self._stop.is_set():
            due = start + index / self.fps
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            for path, encoder in self.encoders.items():
                for frame in encoder.encode(pattern(encoder.width, encoder.height, index), index / self.fps):
                    loop.call_soon_threadsafe(self.feeds[path].publish, frame)
            for path, (width, height) in self.jpeg_sizes.items():
                image = cv2.imencode(".jpg", pattern(width, height, index))[1].tobytes()
                frame = EncodedFrame("jpeg", (image,), True, index / self.fps, time.monotonic(), width, height)
                loop.call_soon_threadsafe(self.feeds[path].publish, frame)
            index += 1


class ServerThread:
    """An RtspServer over a SyntheticSource on 127.0.0.1, port 0, in a thread with its own event loop."""

    def __init__(
        self,
        authorize: Authorize = allow_anyone,
        jpeg: tuple[str, ...] = (),
        sizes: Mapping[str, tuple[int, int]] = SIZES,
        **options: object,
    ) -> None:
        self.source = SyntheticSource(sizes, jpeg=jpeg)
        self.loop = asyncio.new_event_loop()
        self.server = RtspServer(self.source, authorize, host="127.0.0.1", port=0, **options)  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="rtsp-test-loop")

    def __enter__(self) -> ServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self.source.start(self.loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.source.stop()
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def url(self, path: str = "stream1", credentials: str = "") -> str:
        return f"rtsp://{credentials}127.0.0.1:{self.server.port}/{path}"

    def call(self, function, *args):  # type: ignore[no-untyped-def]
        """Run a plain function on the server's loop (the session table is not thread-safe)."""

        async def run():  # type: ignore[no-untyped-def]
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)
