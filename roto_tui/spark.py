"""Sparklines as text: one block character a sample, scaled between the series' own extremes."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, min_span: float = 0.0) -> str:
    """The last ``width`` samples, scaled over at least ``min_span`` so that sensor noise stays a flat line."""
    tail = list(values)[-width:] if width > 0 else []
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    span = max(high - low, min_span)
    if span < 1e-9:
        return BLOCKS[0] * len(tail)
    low -= (span - (high - low)) / 2  # a small wobble sits in the middle band, not on the floor
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[min(top, max(0, round((v - low) / span * top)))] for v in tail)
