"""Where a head's pictures come from: the synthetic scene, or any OpenCV capture source."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .scene import HeadView, SceneRenderer, Size

log = logging.getLogger("roto.sources")


class FrameSource(Protocol):
    """One camera head's picture supply."""

    sensors: int  # optical sensors; selecting sensor 1 on a one-sensor head mirrors the picture

    def frame(self, size: Size, t: float, view: HeadView) -> np.ndarray:
        """A BGR uint8 frame of exactly ``size`` for monotonic time ``t``."""
        ...

    def close(self) -> None: ...


class SyntheticSource:
    def __init__(self, index: int, sensors: int) -> None:
        self.sensors = sensors
        self._renderer = SceneRenderer(variant=index % 2, seed=index)

    def frame(self, size: Size, t: float, view: HeadView) -> np.ndarray:
        return self._renderer.render(size, t, view)

    def close(self) -> None:
        pass


class CaptureSource:
    """A V4L2 device or a video file (looped), read by a thread that keeps only the newest frame."""

    sensors = 1

    def __init__(self, target: str) -> None:
        self.target = target
        self._latest: np.ndarray | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"capture {target}", daemon=True)
        self._thread.start()

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(int(self.target)) if self.target.isdigit() else cv2.VideoCapture(self.target)

    def _read_loop(self) -> None:
        cap = self._open()
        is_file = Path(self.target).is_file()
        period = 1.0 / (cap.get(cv2.CAP_PROP_FPS) or 25.0) if is_file else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, frame = cap.read()
            if not ok:
                if is_file and cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and cap.read()[0]:
                    continue  # looped back to the first frame
                log.warning("capture source %s gives no frames; retrying in 1 s", self.target)
                cap.release()
                self._stop.wait(1.0)
                cap = self._open()
                continue
            self._latest = frame
            if period:
                next_at = max(next_at + period, time.monotonic() - period)
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        cap.release()

    def frame(self, size: Size, t: float, view: HeadView) -> np.ndarray:
        latest = self._latest
        if latest is None:
            waiting = np.full((size[1], size[0], 3), 40, np.uint8)
            cv2.putText(
                waiting,
                f"waiting for {self.target}",
                (size[0] // 10, size[1] // 2),
                cv2.FONT_HERSHEY_SIMPLEX,
                size[1] / 900,
                (220, 220, 220),
                2,
                cv2.LINE_AA,
            )
            return waiting
        if latest.shape[1] == size[0] and latest.shape[0] == size[1]:
            return latest.copy()
        return cv2.resize(latest, size, interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def check_head_spec(spec: str) -> str:
    """Validate a --head0/--head1 value: synthetic, none, a device (/dev/video0 or 0) or a video file."""
    if spec in ("synthetic", "none") or spec.isdigit() or spec.startswith("/dev/video"):
        return spec
    if Path(spec).is_file():
        return spec
    raise ValueError(f"{spec!r} is neither synthetic, none, a /dev/video device nor an existing video file")


def open_source(spec: str, index: int, sensors: int) -> FrameSource | None:
    if spec == "none":
        return None
    if spec == "synthetic":
        return SyntheticSource(index, sensors)
    return CaptureSource(spec)
