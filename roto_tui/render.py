"""Camera frames as terminal lines: half blocks (two pixels a cell) or an ASCII ramp.

``▀`` with the upper pixel as foreground and the lower as background doubles the
vertical resolution. Colours are reduced in numpy first, with an ordered (Bayer)
dither so that the average over a few cells matches the picture:

- 256 colours: each pixel goes to the xterm grey ramp (232..255) when it is nearly
  grey, otherwise to the 6x6x6 cube (16..231); a grey never turns pink or yellow and a
  dark scene keeps the ramp's 24 steps instead of the cube's 2.
- truecolor: 6 bits a channel, dithered, which no eye tells from 8 bits but which
  keeps the style cache small enough to be hit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

HALF = "▀"
RAMP = " .:-=+*#%@"
CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255], np.float32)
# the grey ramp plus the cube's black and white at its ends, with their palette indices
GREY_LEVELS = np.array([0, *range(8, 239, 10), 255], np.float32)
GREY_INDEX = np.array([16, *range(232, 256), 231], np.int32)
# how far from grey (max - min channel) a pixel may be and still go to the grey ramp
GREY_CHROMA = 14
TRUE_BITS = 6
TRUE_MASK = (1 << (3 * TRUE_BITS)) - 1
BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16


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


def thresholds(height: int, width: int) -> np.ndarray:
    """The 4x4 Bayer matrix tiled over a picture: one threshold in (0, 1) a pixel."""
    reps = (height + 3) // 4, (width + 3) // 4
    return np.tile(BAYER4, reps)[:height, :width]


def dither_levels(values: np.ndarray, levels: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Index of the level each value goes to: the one below or above it, in proportion to the distance."""
    low = np.clip(np.searchsorted(levels, values, side="right") - 1, 0, len(levels) - 2)
    below, above = levels[low], levels[low + 1]
    fraction = (values - below) / (above - below)
    return low + (fraction > threshold)


def palette_index(rgb: np.ndarray) -> np.ndarray:
    """xterm-256 index (16..255) of each RGB pixel, dithered over the grey ramp and the cube."""
    pixels = rgb.astype(np.float32)
    t = thresholds(rgb.shape[0], rgb.shape[1])
    cube = dither_levels(pixels, CUBE_LEVELS, t[..., None])
    cube_index = 16 + 36 * cube[..., 0] + 6 * cube[..., 1] + cube[..., 2]
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    grey_index = GREY_INDEX[dither_levels(luma, GREY_LEVELS, t)]
    greyish = (rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1)) <= GREY_CHROMA
    return np.where(greyish, grey_index, cube_index).astype(np.int32)


def palette_rgb(index: int) -> tuple[int, int, int]:
    """The colour xterm shows for a palette index of 16..255."""
    if index >= 232:
        grey = 8 + 10 * (index - 232)
        return grey, grey, grey
    index -= 16
    levels = CUBE_LEVELS.astype(int)
    return int(levels[index // 36]), int(levels[index // 6 % 6]), int(levels[index % 6])


def true_levels(rgb: np.ndarray) -> np.ndarray:
    """Each channel reduced to TRUE_BITS with an ordered dither (values 0 .. 2**TRUE_BITS - 1)."""
    top = (1 << TRUE_BITS) - 1
    scaled = rgb.astype(np.float32) * (top / 255.0)
    t = thresholds(rgb.shape[0], rgb.shape[1])[..., None]
    return np.minimum(scaled + t, top).astype(np.int32)


def true_rgb(level: int) -> int:
    return round(level * 255 / ((1 << TRUE_BITS) - 1))


class StripRenderer:
    """Turns RGB frames of (rows * 2, columns) pixels into Strips; keeps its style cache."""

    def __init__(self) -> None:
        self._styles: dict[int, Style] = {}
        self._colours: dict[int, Color] = {}
        self._runs: list[str] = []

    def render(self, rgb: np.ndarray, mode: ColourMode) -> list[Strip]:
        if mode is ColourMode.ASCII:
            return list(self._ascii(rgb))
        make: Callable[[int], Style]
        if mode is ColourMode.PALETTE:
            index = palette_index(rgb)
            keys = (index[0::2] << 8) | index[1::2]
            make = self._palette_style
        else:
            q = true_levels(rgb).astype(np.int64)
            b = TRUE_BITS
            packed = (q[..., 0] << (2 * b)) | (q[..., 1] << b) | q[..., 2]
            keys = (packed[0::2] << (3 * b)) | packed[1::2]
            make = self._true_style
        if len(self._styles) > 50_000:
            self._styles.clear()
        return self._lines(keys, make)

    def _lines(self, keys: np.ndarray, make: Callable[[int], Style]) -> list[Strip]:
        """One segment a run of equal cells; the runs of all rows are found in one numpy pass."""
        height, width = keys.shape
        change = np.empty((height, width), bool)
        change[:, 0] = True
        np.not_equal(keys[:, 1:], keys[:, :-1], out=change[:, 1:])
        rows, columns = np.nonzero(change)
        values, starts, counts = keys[rows, columns].tolist(), columns.tolist(), change.sum(axis=1).tolist()
        styles, halves = self._styles, self._halves(width)
        strips = []
        first = 0
        for count in counts:
            last = first + count
            segments = []
            for j in range(first, last):
                key = values[j]
                style = styles.get(key)
                if style is None:
                    style = styles[key] = make(key)
                end = starts[j + 1] if j + 1 < last else width
                segments.append(Segment(halves[end - starts[j]], style))
            strips.append(Strip(segments, width))
            first = last
        return strips

    def _halves(self, width: int) -> list[str]:
        if len(self._runs) <= width:
            self._runs = [HALF * n for n in range(width + 1)]
        return self._runs

    def _palette_style(self, key: int) -> Style:
        return Style(color=Color.from_ansi(key >> 8), bgcolor=Color.from_ansi(key & 0xFF))

    def _true_style(self, key: int) -> Style:
        return Style(color=self._true_colour(key >> (3 * TRUE_BITS)), bgcolor=self._true_colour(key & TRUE_MASK))

    def _true_colour(self, packed: int) -> Color:
        colour = self._colours.get(packed)
        if colour is None:
            b, mask = TRUE_BITS, (1 << TRUE_BITS) - 1
            red, green, blue = (packed >> (2 * b)) & mask, (packed >> b) & mask, packed & mask
            colour = self._colours[packed] = Color.from_rgb(true_rgb(red), true_rgb(green), true_rgb(blue))
        return colour

    @staticmethod
    def _ascii(rgb: np.ndarray) -> Iterator[Strip]:
        # one character a cell: average the two pixel rows, map brightness onto the ramp
        pairs = rgb[0::2].astype(np.int32) + rgb[1::2]  # int32: 510 * 150 overflows 16 bits
        luma = (pairs[..., 0] * 77 + pairs[..., 1] * 150 + pairs[..., 2] * 29) >> 9
        chars = np.array(list(RAMP))[(luma * len(RAMP)) >> 8]
        for row in chars:
            yield Strip([Segment("".join(row.tolist()))], len(row))


def shown_pixels(strips: list[Strip]) -> np.ndarray:
    """The RGB picture a terminal shows for half-block strips (the inverse of render, for tests and benchmarks)."""
    rows: list[list[tuple[int, int, int]]] = [[], []]
    picture: list[list[tuple[int, int, int]]] = []
    for strip in strips:
        rows = [[], []]
        for segment in strip:
            style = segment.style
            assert style is not None and style.color is not None and style.bgcolor is not None
            top, bottom = _colour(style.color), _colour(style.bgcolor)
            rows[0] += [top] * len(segment.text)
            rows[1] += [bottom] * len(segment.text)
        picture += rows
    return np.array(picture, np.uint8)


def _colour(color: Color) -> tuple[int, int, int]:
    if color.triplet is not None:
        return color.triplet.red, color.triplet.green, color.triplet.blue
    assert color.number is not None
    return palette_rgb(color.number)
