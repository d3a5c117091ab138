"""Visual Backup capacity, as the spec's "Calculation" section describes it.

The model: a JPEG frame of HD (1280x720) at quality 75 takes 140 000 bytes. Other
sizes scale with the pixel count; other qualities by a factor interpolated from a
table of typical libjpeg file sizes relative to quality 75. Remaining seconds are the
free bytes divided by (bytes per frame x frames per second), rounded down, which gives
the spec's worked example exactly: f("HD", 30, 75, 60118794240) = 14313.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import ROUND_HALF_DOWN, Decimal

HD_PIXELS = 1280 * 720
HD_Q75_FRAME_BYTES = 140_000
PIXELS = {"4K": 3840 * 2160, "FullHD": 1920 * 1080, "HD": HD_PIXELS}
# (quality, size relative to quality 75), typical for camera pictures with libjpeg
QUALITY_FACTORS = [
    (1, 0.10),
    (10, 0.22),
    (25, 0.42),
    (50, 0.68),
    (75, 1.0),
    (85, 1.3),
    (90, 1.6),
    (95, 2.2),
    (100, 4.0),
]
ONE_HOUR = 3600


def quality_factor(quality: int) -> float:
    qs = [q for q, _ in QUALITY_FACTORS]
    quality = min(max(quality, 1), 100)
    i = bisect_left(qs, quality)
    if qs[i] == quality:
        return QUALITY_FACTORS[i][1]
    (q0, f0), (q1, f1) = QUALITY_FACTORS[i - 1], QUALITY_FACTORS[i]
    return f0 + (f1 - f0) * (quality - q0) / (q1 - q0)


def bytes_per_second(resolution: str, fps: int, quality: int) -> float:
    frame = HD_Q75_FRAME_BYTES * PIXELS[resolution] / HD_PIXELS * quality_factor(quality)
    return frame * fps


def remaining_seconds(resolution: str, fps: int, quality: int, free_bytes: int) -> int:
    """Seconds of backup video that fit into ``free_bytes``."""
    return int(max(free_bytes, 0) // bytes_per_second(resolution, fps, quality))


def size_text(n: int) -> str:
    """Bytes as the spec writes them: GiB with three decimals, e.g. '117.187 GB'."""
    gib = Decimal(n) / Decimal(1024**3)
    return f"{gib.quantize(Decimal('0.001'), rounding=ROUND_HALF_DOWN)} GB"


def duration_text(seconds: float) -> str:
    """'15:35h' form: hours and minutes."""
    minutes = int(seconds) // 60
    return f"{minutes // 60}:{minutes % 60:02d}h"
