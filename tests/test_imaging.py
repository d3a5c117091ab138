"""Every image control has a measurable effect on decoded frames (pipeline run in-process)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from roto_server.device.hardware import SimulatedHardware
from roto_server.device.store import Set
from roto_server.device.unit import ControlUnit
from roto_server.imaging import processing as proc
from roto_server.imaging.camera import Camera
from roto_server.imaging.pipeline import render_rendition
from roto_server.imaging.sources import SyntheticSource
from roto_server.recording.names import file_name
from roto_server.recording.pictures import PictureTaker

T0 = 1000.0


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[ControlUnit]:
    unit = ControlUnit(tmp_path, SimulatedHardware(seed=1))
    unit.boot()
    unit.store.set_facts({"RPM0": 3000, "RPM1": 3000, "oct0": "35.0°C", "oct1": "35.0°C"})
    yield unit


def render(unit: ControlUnit, settings: dict[str, Any] | None = None, t: float = T0, warm: int = 8) -> np.ndarray:
    """A frame through a fresh camera after the given writes; a few warm-up frames settle auto controls."""
    if settings:
        result = unit.store.apply([Set(k, v) for k, v in settings.items()], "admin")
        assert not [n for n in result.notices if n.level != "info"], result.notices
    camera = Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)])
    frame = None
    for i in range(warm, -1, -1):
        frame = camera.stream.process(camera.settings(), t - i / 30)
    assert frame is not None
    return frame


def mean(img: np.ndarray) -> float:
    return float(img.mean())


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two frames after blurring away sensor noise."""
    sa = cv2.resize(a, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    sb = cv2.resize(b, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    return float(np.corrcoef(sa, sb)[0, 1])


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference after blurring away sensor noise."""
    sa = cv2.resize(a, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)
    sb = cv2.resize(b, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(sa - sb).mean())


def test_brightness_expo_and_gain_raise_the_mean(unit: ControlUnit) -> None:
    manual = {"exposure": False}
    dark = mean(render(unit, {**manual, "brightness": -5}))
    bright = mean(render(unit, {"brightness": 5}))
    assert bright > dark + 40
    short = mean(render(unit, {"brightness": 0, "expo": 5.0}))
    long = mean(render(unit, {"expo": 15.0}))
    assert long > short * 1.5
    assert mean(render(unit, {"expo": 10.0, "gain": 30})) > mean(render(unit, {"gain": 0})) * 1.5


def test_manual_white_balance_gains_shift_red_and_blue(unit: ControlUnit) -> None:
    def red_over_blue(img: np.ndarray) -> float:
        b, _, r = cv2.mean(img)[:3]
        return float(r / b)

    neutral = red_over_blue(render(unit, {"whiteBalance": False}))
    reddish = red_over_blue(render(unit, {"redGain": 100, "blueGain": -100}))
    bluish = red_over_blue(render(unit, {"redGain": -100, "blueGain": 100}))
    assert reddish > neutral * 1.4 and bluish < neutral / 1.4


def test_auto_white_balance_neutralises_a_cast(unit: ControlUnit) -> None:
    b, g, r = cv2.mean(render(unit, {"whiteBalance": True}, warm=30))[:3]
    assert max(b, g, r) / min(b, g, r) < 1.1


def test_saturation_and_contrast(unit: ControlUnit) -> None:
    grey = render(unit, {"saturation": -7})
    spread = np.abs(grey.astype(int) - grey.mean(axis=2, keepdims=True)).mean()
    assert spread < 1.5  # no colour left
    colourful = render(unit, {"saturation": 7})
    assert np.abs(colourful.astype(int) - colourful.mean(axis=2, keepdims=True)).mean() > 3 * max(spread, 1)
    flat = render(unit, {"saturation": 0, "contrast": 1.0}).std()
    steep = render(unit, {"contrast": 2.5}).std()
    assert steep > flat * 1.3


def laplacian_energy(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def test_sharpness_and_noise_suppression(unit: ControlUnit) -> None:
    soft = laplacian_energy(render(unit, {"sharpness": 1}))
    crisp = laplacian_energy(render(unit, {"sharpness": 15}))
    assert crisp > soft * 3
    noisy = laplacian_energy(render(unit, {"sharpness": 5, "noiseSuppression": False}))
    clean = laplacian_energy(render(unit, {"noiseSuppression": True}))
    assert clean < noisy * 0.5


@pytest.mark.parametrize(("resolution", "size"), [("4K", (3840, 2160)), ("FullHD", (1920, 1080)), ("HD", (1280, 720))])
def test_output_size_follows_recording_resolution(unit: ControlUnit, resolution: str, size: tuple[int, int]) -> None:
    frame = render(unit, {"recordingResolution": resolution}, warm=0)
    assert (frame.shape[1], frame.shape[0]) == size


def test_alignment_stream_rotates_by_180_degrees(unit: ControlUnit) -> None:
    upright = render(unit, {"alignmentStream0": "0"})
    turned = render(unit, {"alignmentStream0": "1"})
    assert similarity(cv2.rotate(upright, cv2.ROTATE_180), turned) > 0.97
    assert similarity(upright, turned) < 0.8


def test_one_sensor_head_mirrors_when_sensor_1_is_selected(unit: ControlUnit) -> None:
    sensor0 = render(unit, {"cameraSwitch": True, "cam1SelectedSensor": 0})
    sensor1 = render(unit, {"cam1SelectedSensor": 1})
    assert similarity(cv2.flip(sensor0, 1), sensor1) > 0.97
    assert mad(cv2.flip(sensor0, 1), sensor1) * 3 < mad(sensor0, sensor1)
    # head 0 has two sensors: selecting its second sensor does not mirror
    head0 = render(unit, {"cameraSwitch": False, "cam0SelectedSensor": 1})
    assert similarity(head0, render(unit, {"cam0SelectedSensor": 0})) > 0.97


def test_camera_switch_selects_the_other_head(unit: ControlUnit) -> None:
    head0 = render(unit, {"cameraSwitch": False})
    head1 = render(unit, {"cameraSwitch": True})
    assert similarity(head0, head1) < 0.8


def test_zoom_crops_around_the_pan_centre(unit: ControlUnit) -> None:
    wide = render(unit, {"exposure": False, "whiteBalance": False})
    zoomed = render(unit, {"zoom0": 31424, "pan0": {"x": 20, "y": 20}})  # relative: pan moves to 70, 70
    x0, y0, x1, y1 = proc.crop_window((1920, 1080), 31424, (70.0, 70.0))
    assert (x1 - x0, y1 - y0) == (240, 135)
    expected = cv2.resize(wide[y0:y1, x0:x1], (1920, 1080), interpolation=cv2.INTER_LINEAR)
    assert similarity(zoomed, expected) > 0.9
    assert similarity(zoomed, wide) < 0.7


@pytest.mark.parametrize("corner", [1, 2, 3, 4])
def test_pip_inset_sits_in_the_named_corner(unit: ControlUnit, corner: int) -> None:
    plain = render(unit, {"exposure": False, "whiteBalance": False, "pip": 0}).astype(int)
    inset = render(unit, {"pip": corner}).astype(int)
    diff = np.abs(plain - inset).mean(axis=2)
    h, w = diff.shape
    quadrants = {
        1: diff[: h // 2, : w // 2],
        2: diff[: h // 2, w // 2 :],
        3: diff[h // 2 :, : w // 2],
        4: diff[h // 2 :, w // 2 :],
    }
    changed = {q: float(region.mean()) for q, region in quadrants.items()}
    assert max(changed, key=lambda q: changed[q]) == corner
    assert all(changed[corner] > 4 * changed[q] for q in changed if q != corner)


def test_time_and_date_stamps_are_drawn_bottom_left(unit: ControlUnit) -> None:
    frame = render(unit, {"exposure": False, "whiteBalance": False})
    settings = Camera(unit.store, [None, None]).settings()
    plain = render_rendition(frame, proc.stream_params(settings), None, "UTC", T0)
    assert plain is frame  # nothing to scale or stamp: the processed frame is used as it is
    unit.store.apply([Set("recordingWithTimeStamp", True), Set("recordingWithDateStamp", True)], "admin")
    settings = Camera(unit.store, [None, None]).settings()
    stamped = render_rendition(frame, proc.stream_params(settings), None, "UTC", T0)
    diff = np.abs(plain.astype(int) - stamped.astype(int)).mean(axis=2)
    text_box = diff[-120:, :700]
    assert (text_box > 30).mean() > 0.05  # white text on a black box
    assert (diff[:-150, :] > 30).mean() < 0.001  # nothing else changed


def test_light_off_is_darker_even_with_auto_exposure(unit: ControlUnit) -> None:
    lit = mean(render(unit, {"light0": True}, warm=30))
    dark = mean(render(unit, {"light0": False}, warm=30))
    assert dark < lit * 0.7


def test_stopped_disc_gets_wet_and_spinning_clears_it(unit: ControlUnit) -> None:
    camera = Camera(unit.store, [SyntheticSource(0, 2), None])
    clear = camera.stream.process(camera.settings(), T0)
    unit.store.set_facts({"RPM0": 0})
    for i in range(60):  # 30 s of a stopped disc: coolant settles on the window
        wet = camera.stream.process(camera.settings(), T0 + i * 0.5)
    assert similarity(clear, wet) < 0.97
    unit.store.set_facts({"RPM0": 3000})
    for i in range(10):
        spun = camera.stream.process(camera.settings(), T0 + 30 + i * 0.2)
    assert similarity(clear, spun) > similarity(clear, wet) + 0.02


def test_a_hotter_head_is_noisier(unit: ControlUnit) -> None:
    unit.store.apply([Set("exposure", False), Set("whiteBalance", False)], "admin")

    def noise(temp: str) -> float:
        unit.store.set_facts({"oct0": temp})
        camera = Camera(unit.store, [SyntheticSource(0, 2), None])
        a = camera.stream.process(camera.settings(), T0).astype(int)
        b = camera.stream.process(camera.settings(), T0).astype(int)
        return float(np.abs(a - b).mean())

    assert noise("60.0°C") > noise("30.0°C") * 1.8


def test_missing_head_shows_a_no_signal_frame(tmp_path: Path) -> None:
    unit = ControlUnit(tmp_path, SimulatedHardware(heads=(True, False)))
    unit.boot()
    camera = Camera(unit.store, [SyntheticSource(0, 2), None])
    assert unit.store["cam1Exists"] is False
    settings = dataclasses.replace(camera.settings(), streamed=1)
    assert camera.stream.process(settings, T0).mean() < 10


async def test_every_frame_is_encoded_once_however_many_readers(unit: ControlUnit) -> None:
    camera = Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)])
    camera.start()
    try:

        async def read(n: int, width: int | None) -> list[int]:
            seqs = []
            async for frame in camera.stream.frames(width):
                seqs.append(frame.seq)
                if len(seqs) == n:
                    return seqs
            return seqs

        results = await asyncio.wait_for(asyncio.gather(*(read(10, None) for _ in range(6)), read(10, 320)), 30)
    finally:
        camera.stop()
    stats = camera.stream.stats
    assert all(len(r) == 10 for r in results)
    full, small = ("stream", None), ("stream", 320)
    assert stats.encodes[full] <= stats.produced and stats.encodes[small] <= stats.produced
    assert stats.encodes[full] < 6 * 10  # six readers, yet each frame was encoded at most once
    latest = camera.stream._buses[small].latest
    assert latest is not None
    decoded = cv2.imdecode(np.frombuffer(latest.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (180, 320, 3)


async def test_take_picture_stores_the_current_frame(unit: ControlUnit, tmp_path: Path) -> None:
    unit.store.apply([Set("changeImageName", "cell7"), Set("changePostName", "A")], "admin")
    camera = Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)])
    camera.start()
    try:
        path = await asyncio.wait_for(PictureTaker(unit.store, camera.stream).save_picture(tmp_path), 10)
    finally:
        camera.stop()
    assert path.parent == tmp_path and path.name.startswith("cell7_") and path.name.endswith("_A.jpg")
    image = cv2.imread(str(path))
    assert image.shape == (1080, 1920, 3)
    # without a recording storage the trigger is refused with the reason
    result = unit.store.apply([Set("takePicture", True)], "operator")
    assert result.values == {"takePicture": False} and "storage" in result.notices[0].message


def test_file_names_use_prefix_and_postfix() -> None:
    assert file_name("", "", 0, ".jpg").endswith(".jpg") and not file_name("", "", 0, ".jpg").startswith("_")
    assert file_name("a", "b", 0, ".mkv").startswith("a_") and file_name("a", "b", 0, ".mkv").endswith("_b.mkv")


def test_backup_rendition_has_its_own_size_and_stamps(unit: ControlUnit) -> None:
    unit.store.apply(
        [Set("backupResolution", "HD"), Set("backupWithDateStamp", True), Set("backupWithTimeStamp", False)], "admin"
    )
    frame = render(unit)
    settings = Camera(unit.store, [None, None]).settings()
    backup = render_rendition(frame, settings.backup, None, "UTC", T0)
    assert backup.shape == (720, 1280, 3)
    stream = render_rendition(frame, proc.stream_params(settings), None, "UTC", T0)
    assert stream.shape == (1080, 1920, 3) and stream is frame  # the stream has no stamps by default


async def test_stream_keeps_its_size_while_backup_renders_smaller(unit: ControlUnit) -> None:
    # regression: a frame rendered while only the HD backup was active came out at HD on the stream too
    unit.store.apply([Set("backupResolution", "HD"), Set("recordingResolution", "FullHD")], "admin")
    camera = Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)])
    camera.start()
    try:

        async def take(n: int, kind: str) -> list[tuple[int, int]]:
            sizes = []
            async for frame in camera.stream.frames(kind=kind):
                sizes.append((frame.width, frame.height))
                if len(sizes) == n:
                    break
            return sizes

        backup = asyncio.create_task(take(20, "backup"))
        await asyncio.sleep(0.2)  # the backup alone drives the pipeline at HD for a moment
        stream = await asyncio.wait_for(take(10, "stream"), 20)
        backup_sizes = await asyncio.wait_for(backup, 20)
    finally:
        camera.stop()
    assert set(stream) == {(1920, 1080)} and set(backup_sizes) == {(1280, 720)}
