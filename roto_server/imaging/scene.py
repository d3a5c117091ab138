"""A synthetic machining scene, rendered with OpenCV primitives so it costs ~1 ms a frame.

What a head inside a machine tool would see: the dark machine room, a workpiece
clamped in a fixture, a spindle with a fluted tool moving along the part, coolant
jet and flying chips, the rim of the rotating window, and sensor noise. The scene
reacts to the head's state: light off is dark; with the disc stopped, coolant
droplets settle on the window and blur the view, and spin off once it turns again;
a warmer head is noisier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

Size = tuple[int, int]  # (width, height)

LIT = 1.0
DARK = 0.22  # ambient light with the head's lamp off
NOISE_LEVELS = (4, 8, 14)  # peak-to-peak sensor noise by temperature band


@dataclass(frozen=True)
class HeadView:
    """What the renderer needs to know about a head right now."""

    light: bool
    rpm: float
    temp_c: float


@lru_cache(maxsize=8)
def _background(size: Size, variant: int, lit: bool) -> np.ndarray:
    w, h = size
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    # machine room: dark steel walls with a spotlight where the lamp points
    spot = np.exp(-(((x - 0.5) ** 2) / 0.08 + ((y - 0.45) ** 2) / 0.12))
    base = 28 + 70 * spot if lit else 14 + 12 * spot
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = base * 1.05
    img[..., 1] = base * 1.0
    img[..., 2] = base * 0.92
    scale = LIT if lit else DARK
    s = w / 1920.0

    def px(fx: float, fy: float) -> tuple[int, int]:
        return int(fx * w), int(fy * h)

    # machine table with T-slots
    cv2.rectangle(img, px(0.0, 0.78), px(1.0, 1.0), (70 * scale, 72 * scale, 75 * scale), -1)
    for i in range(1, 8):
        cv2.line(img, px(0.0, 0.78 + i * 0.03), px(1.0, 0.78 + i * 0.03), (35 * scale,) * 3, max(1, int(3 * s)))
    if variant == 0:
        # fixture and an aluminium workpiece with a machined pocket
        cv2.rectangle(img, px(0.2, 0.62), px(0.8, 0.78), (95 * scale, 98 * scale, 100 * scale), -1)
        cv2.rectangle(img, px(0.25, 0.50), px(0.75, 0.63), (140 * scale, 142 * scale, 148 * scale), -1)
        cv2.rectangle(img, px(0.38, 0.50), px(0.62, 0.55), (120 * scale, 122 * scale, 128 * scale), -1)
        for fx in (0.22, 0.78):
            cv2.circle(img, px(fx, 0.70), int(18 * s), (50 * scale,) * 3, -1)
    else:
        # lathe: chuck face on the left, a turned shaft to the right
        cv2.circle(img, px(0.25, 0.5), int(0.22 * h), (90 * scale, 92 * scale, 96 * scale), -1)
        cv2.rectangle(img, px(0.25, 0.44), px(0.85, 0.56), (165 * scale, 168 * scale, 175 * scale), -1)
        cv2.rectangle(img, px(0.55, 0.46), px(0.85, 0.54), (185 * scale, 188 * scale, 194 * scale), -1)
    # the rotating window's rim frames the view
    ring = np.sqrt(((x - 0.5) * w / h) ** 2 + (y - 0.5) ** 2)
    vignette = np.clip(1.25 - ring * 1.1, 0.15, 1.0)
    img *= vignette[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


@lru_cache(maxsize=6)
def _noise(size: Size, level: int) -> np.ndarray:
    """A noise field larger than the frame; each frame takes a random window of it."""
    w, h = size
    rng = np.random.default_rng(level)
    return rng.integers(0, level + 1, (h + 64, w + 64, 3), dtype=np.uint8)


@lru_cache(maxsize=4)
def _droplets(size: Size, variant: int) -> tuple[np.ndarray, np.ndarray]:
    """Coolant droplets on the window: a blurred view inside each drop and a rank mask."""
    w, h = size
    rng = np.random.default_rng(100 + variant)
    rank = np.zeros((h, w), np.uint8)
    for i in range(140):
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        r = int(rng.uniform(0.006, 0.03) * h)
        cv2.ellipse(
            rank, (cx, cy), (r, int(r * rng.uniform(0.7, 1.3))), rng.uniform(0, 180), 0, 360, int(1 + i * 254 / 140), -1
        )
    lens = cv2.GaussianBlur(_background(size, variant, True), (0, 0), max(2.0, h / 90))
    lens = cv2.addWeighted(lens, 0.75, np.full_like(lens, 150), 0.25, 0)
    return lens, rank


class SceneRenderer:
    """Renders frames for one synthetic head (variant 0: milling, 1: turning)."""

    def __init__(self, variant: int, seed: int = 0) -> None:
        self.variant = variant
        self._rng = np.random.default_rng(seed)
        self._particles = self._rng.uniform(0, 1, (36, 4))
        self._disc_angle = 0.0
        self._wetness = 0.0
        self._last_t: float | None = None

    def render(self, size: Size, t: float, view: HeadView) -> np.ndarray:
        w, h = size
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 1.0)
        self._last_t = t
        self._disc_angle = (self._disc_angle + view.rpm / 60.0 * 360.0 * dt) % 360.0
        # coolant settles on a stopped window and is flung off a spinning one
        spinning = view.rpm > 600
        self._wetness = max(0.0, self._wetness - 1.5 * dt) if spinning else min(1.0, self._wetness + 0.12 * dt)

        frame = _background(size, self.variant, view.light).copy()
        scale = LIT if view.light else DARK
        if self.variant == 0:
            self._draw_mill(frame, t, scale)
        else:
            self._draw_lathe(frame, t, scale)
        self._draw_rim(frame, view.rpm, scale)
        if self._wetness > 0.01:
            lens, rank = _droplets(size, self.variant)
            wet = cv2.inRange(rank, 1, int(1 + self._wetness * 254))
            cv2.copyTo(lens if view.light else (lens * DARK).astype(np.uint8), wet, frame)
        level = NOISE_LEVELS[0 if view.temp_c < 38 else 1 if view.temp_c < 48 else 2]
        field = _noise(size, level)
        ox, oy = int(self._rng.integers(0, 64)), int(self._rng.integers(0, 64))
        cv2.add(frame, field[oy : oy + h, ox : ox + w], dst=frame)
        return frame

    def _draw_mill(self, frame: np.ndarray, t: float, scale: float) -> None:
        h, w = frame.shape[:2]
        cx = int(w * (0.5 + 0.18 * math.sin(t * 0.4)))
        tool_w, top, tip = int(w * 0.018), int(h * 0.12), int(h * 0.50)
        # spindle housing and the fluted tool, flutes moving with the spindle's turn
        cv2.rectangle(
            frame, (cx - int(w * 0.06), 0), (cx + int(w * 0.06), top), (60 * scale, 62 * scale, 70 * scale), -1
        )
        cv2.rectangle(frame, (cx - tool_w, top), (cx + tool_w, tip), (150 * scale, 150 * scale, 158 * scale), -1)
        pitch = max(6, int(h * 0.03))
        phase = int((t * 9.0 % 1.0) * pitch)
        for yy in range(top + phase, tip, pitch):
            cv2.line(frame, (cx - tool_w, yy), (cx + tool_w, yy + pitch // 2), (90 * scale,) * 3, max(1, w // 640))
        self._draw_coolant_and_chips(frame, (cx, tip), t, scale)

    def _draw_lathe(self, frame: np.ndarray, t: float, scale: float) -> None:
        h, w = frame.shape[:2]
        centre, radius = (int(w * 0.25), int(h * 0.5)), int(0.2 * h)
        for k in range(3):  # the chuck's jaws turn with the spindle
            a = t * 4.0 + k * 2 * math.pi / 3
            end = (int(centre[0] + radius * math.cos(a)), int(centre[1] + radius * math.sin(a)))
            cv2.line(frame, centre, end, (130 * scale, 132 * scale, 138 * scale), max(3, w // 90))
        tool_x = int(w * (0.62 + 0.12 * math.sin(t * 0.3)))
        cv2.fillConvexPoly(
            frame,
            np.array(
                [[tool_x, int(h * 0.56)], [tool_x + w // 40, int(h * 0.75)], [tool_x - w // 40, int(h * 0.75)]],
                np.int32,
            ),
            (80 * scale, 150 * scale, 190 * scale),
        )
        self._draw_coolant_and_chips(frame, (tool_x, int(h * 0.56)), t, scale)

    def _draw_coolant_and_chips(self, frame: np.ndarray, contact: tuple[int, int], t: float, scale: float) -> None:
        h, w = frame.shape[:2]
        nozzle = (int(w * 0.08), int(h * 0.18))
        wobble = int(h * 0.01 * math.sin(t * 13.0))
        cv2.line(
            frame,
            nozzle,
            (contact[0], contact[1] + wobble),
            (210 * scale, 190 * scale, 150 * scale),
            max(2, w // 500),
            cv2.LINE_AA,
        )
        for vx, vy, phase, size in self._particles:
            age = (t * 1.3 + phase) % 1.0
            px = contact[0] + (vx - 0.5) * w * 0.5 * age
            py = contact[1] - vy * h * 0.35 * age + 0.5 * h * 0.9 * age * age
            if 0 <= px < w and 0 <= py < h:
                colour = (
                    (200 * scale, 205 * scale, 215 * scale) if size > 0.5 else (120 * scale, 190 * scale, 230 * scale)
                )
                cv2.circle(frame, (int(px), int(py)), max(1, int((1 + 3 * size) * w / 1920)), colour, -1)

    def _draw_rim(self, frame: np.ndarray, rpm: float, scale: float) -> None:
        h, w = frame.shape[:2]
        centre, axes = (w // 2, h // 2), (int(w * 0.52), int(h * 0.56))
        blur = min(1.0, rpm / 3000.0)  # the faster the disc, the longer its marks smear
        for k in range(4):
            start = self._disc_angle + k * 90.0
            cv2.ellipse(
                frame,
                centre,
                axes,
                0,
                start,
                start + 4 + 80 * blur,
                (20 * scale, 20 * scale, 24 * scale),
                max(3, w // 200),
            )
