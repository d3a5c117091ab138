"""A live camera picture drawn with the Line API: keeps only the newest frame's strips."""

from __future__ import annotations

import time

import cv2
import numpy as np
from textual.strip import Strip
from textual.widget import Widget

from roto_tui.render import ColourMode, StripRenderer


class FrameView(Widget):
    DEFAULT_CSS = """
    FrameView { width: 1fr; height: 1fr; }
    """

    def __init__(self, mode: ColourMode = ColourMode.TRUECOLOR, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode
        self._renderer = StripRenderer()
        self._strips: list[Strip] = []
        self._times: list[float] = []
        self.frames_shown = 0

    @property
    def pixel_size(self) -> tuple[int, int]:
        """(columns, rows * 2): the picture size one screen of half blocks shows."""
        return max(self.size.width, 1), max(self.size.height, 1) * 2

    def show_jpeg(self, jpeg: bytes) -> None:
        """Decode, scale to the widget and repaint (the previous frame is dropped)."""
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return
        self.show(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    def show(self, rgb: np.ndarray) -> None:
        width, height = self.pixel_size
        if (rgb.shape[1], rgb.shape[0]) != (width, height):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        self._strips = self._renderer.render(rgb, self.mode)
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < 2.0] + [now]
        self.frames_shown += 1
        self.refresh()

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-6)

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width)
