"""Camera frames as terminal lines: half blocks (two pixels a cell) or an ASCII ramp.

``▀`` with the upper pixel as foreground and the lower as background doubles the
vertical resolution. Colours are reduced in numpy first (to the xterm 256-colour
palette, or to 4 bits a channel for truecolour), so that a small cache of styles is
hit almost every time and runs of equal cells merge into one segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

HALF = "▀"
RAMP = " .:-=+*#%@"
_CUBE = np.array([0, 95, 135, 175, 215, 255], np.int16)


class ColourMode(Enum):
    TRUECOLOR = "truecolor"
    PALETTE = "256"
    ASCII = "ascii"

    def next(self) -> ColourMode:
        modes = list(ColourMode)
        return modes[(modes.index(self) + 1) % len(modes)]


def mode_for(color_system: str | None) -> ColourMode:
    if color_system == "truecolor":
        return ColourMode.TRUECOLOR
    if color_system in ("256", "eight_bit"):
        return ColourMode.PALETTE
    return ColourMode.ASCII


def xterm_index(rgb: np.ndarray) -> np.ndarray:
    """Nearest xterm-256 cube colour (16..231) of each RGB pixel, vectorised."""
    levels = np.abs(rgb[..., None].astype(np.int16) - _CUBE).argmin(axis=-1)
    return (16 + 36 * levels[..., 0] + 6 * levels[..., 1] + levels[..., 2]).astype(np.int32)


class StripRenderer:
    """Turns RGB frames of (rows * 2, columns) pixels into Strips; keeps its style cache."""

    def __init__(self) -> None:
        self._styles: dict[int, Style] = {}

    def render(self, rgb: np.ndarray, mode: ColourMode) -> list[Strip]:
        if mode is ColourMode.ASCII:
            return list(self._ascii(rgb))
        top, bottom = rgb[0::2], rgb[1::2]
        if mode is ColourMode.PALETTE:
            keys = (xterm_index(top) << 8) | xterm_index(bottom)
            make = self._palette_style
        else:
            q = (rgb >> 4).astype(np.int32)  # 4 bits a channel: 4096 colours
            packed = (q[..., 0] << 8) | (q[..., 1] << 4) | q[..., 2]
            keys = (packed[0::2] << 12) | packed[1::2]
            make = self._true_style
        if len(self._styles) > 50_000:
            self._styles.clear()
        return [self._line(row, make) for row in keys]

    def _line(self, row: np.ndarray, make: object) -> Strip:
        # split the row into runs of equal cells; one segment a run
        edges = np.flatnonzero(np.diff(row)) + 1
        starts = np.concatenate(([0], edges))
        ends = np.concatenate((edges, [len(row)]))
        styles = self._styles
        segments = []
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            key = int(row[start])
            style = styles.get(key)
            if style is None:
                style = styles[key] = make(key)  # type: ignore[operator]
            segments.append(Segment(HALF * (end - start), style))
        return Strip(segments, len(row))

    @staticmethod
    def _palette_style(key: int) -> Style:
        return Style(color=Color.from_ansi(key >> 8), bgcolor=Color.from_ansi(key & 0xFF))

    @staticmethod
    def _true_style(key: int) -> Style:
        def rgb(packed: int) -> Color:
            return Color.from_rgb(((packed >> 8) & 15) * 17, ((packed >> 4) & 15) * 17, (packed & 15) * 17)

        return Style(color=rgb(key >> 12), bgcolor=rgb(key & 0xFFF))

    @staticmethod
    def _ascii(rgb: np.ndarray) -> Iterator[Strip]:
        # one character a cell: average the two pixel rows, map brightness onto the ramp
        pairs = rgb[0::2].astype(np.uint16) + rgb[1::2]
        luma = (pairs[..., 0] * 77 + pairs[..., 1] * 150 + pairs[..., 2] * 29) >> 9
        chars = np.array(list(RAMP))[(luma * len(RAMP)) >> 8]
        for row in chars:
            yield Strip([Segment("".join(row.tolist()))], len(row))
