"""The preview's colours: a known frame rendered in every mode stays close to the source picture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from roto_tui.render import RAMP, ColourMode, StripRenderer, shown_pixels
from tests import fake_device

# mean error per channel (0..255) after a 4x4 blur, which is about what an eye averages at a normal distance
BOUNDS = {ColourMode.TRUECOLOR: 1.0, ColourMode.PALETTE: 4.0}


def source(width: int = 80, height: int = 44) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(fake_device.test_picture(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA)


def seen(rgb: np.ndarray) -> np.ndarray:
    return cv2.blur(rgb.astype(np.float32), (4, 4))


def colour_error(rgb: np.ndarray, mode: ColourMode) -> float:
    shown = shown_pixels(StripRenderer().render(rgb, mode))
    assert shown.shape == rgb.shape
    return float(np.abs(seen(shown) - seen(rgb)).mean())


@pytest.mark.parametrize("mode", [ColourMode.TRUECOLOR, ColourMode.PALETTE])
def test_a_known_frame_stays_close_to_the_source(mode: ColourMode) -> None:
    picture = source()
    assert colour_error(picture, mode) < BOUNDS[mode]
    dark = picture // 6  # a dark scene: must not collapse onto a handful of colours
    assert colour_error(dark, mode) < BOUNDS[mode]
    assert len(np.unique(shown_pixels(StripRenderer().render(dark, mode)).reshape(-1, 3), axis=0)) >= 10


@pytest.mark.parametrize("mode", [ColourMode.TRUECOLOR, ColourMode.PALETTE])
def test_greys_stay_grey_and_keep_their_steps(mode: ColourMode) -> None:
    ramp = np.dstack([np.tile(np.linspace(0, 255, 80), (44, 1))] * 3).astype(np.uint8)
    shown = shown_pixels(StripRenderer().render(ramp, mode)).astype(np.int16)
    assert (shown.max(axis=-1) - shown.min(axis=-1)).max() == 0  # no pink, yellow, green or purple
    assert len(np.unique(shown[..., 0])) >= 24  # the grey ramp, not the cube's 6 levels
    assert colour_error(ramp, mode) < BOUNDS[mode]


def test_ascii_follows_the_brightness() -> None:
    ramp = np.dstack([np.tile(np.linspace(0, 255, 80), (44, 1))] * 3).astype(np.uint8)
    strips = StripRenderer().render(ramp, ColourMode.ASCII)
    line = strips[0].text
    assert line[0] == " " and line[-1] == "@" and len(set(line)) == 10
    picture = source()
    luma = picture.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    steps = np.array([[RAMP.index(c) for c in s.text] for s in StripRenderer().render(picture, ColourMode.ASCII)])
    shown = (steps + 0.5) * 255 / len(RAMP)
    assert np.abs(shown - (luma[0::2] + luma[1::2]) / 2).mean() < 15  # ten steps: at most half a step off
