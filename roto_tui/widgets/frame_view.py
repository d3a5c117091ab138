"""A live camera picture drawn with the Line API: keeps only the newest frame's strips.

The picture keeps its aspect ratio (letterboxed): a cell is about twice as tall as wide and a half
block shows two pixels in it, so one cell column and one half-cell row are square pixels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import cv2
import numpy as np
from textual.filter import ANSIToTruecolor, LineFilter
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
        self._offset = (0, 0)  # cells left and rows above the letterboxed picture
        self._times: list[float] = []
        self.frames_shown = 0

    def get_line_filters(self) -> Sequence[LineFilter]:
        # The picture's colours are exact (RGB, or xterm palette numbers meant as such): mapping palette
        # numbers through the theme would cost a quarter of the frame time and change nothing wanted.
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]

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

    def fit(self, source_width: int, source_height: int) -> tuple[int, int]:
        """(columns, pixel rows) of the largest picture with the source's aspect that fits the widget."""
        width, height = self.pixel_size
        scale = min(width / source_width, height / source_height)
        columns = max(1, min(width, round(source_width * scale)))
        rows = max(2, min(height, round(source_height * scale / 2) * 2))  # whole cells: two pixel rows each
        return columns, rows

    def show(self, rgb: np.ndarray) -> None:
        width, height = self.fit(rgb.shape[1], rgb.shape[0])
        if (rgb.shape[1], rgb.shape[0]) != (width, height):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        self._offset = ((self.size.width - width) // 2, (self.size.height - height // 2) // 2)
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
        left, top = self._offset
        row = y - top
        if 0 <= row < len(self._strips):
            strip = self._strips[row]
            return Strip.join([Strip.blank(left), strip, Strip.blank(self.size.width - left - strip.cell_length)])
        return Strip.blank(self.size.width)
