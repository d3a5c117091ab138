"""The "C Pro" v1 vocabulary as a mapping onto the one C2 state, with unit conversions.

No second state and no second validation: a v1 write becomes a C2 write (which the store
validates, clamps and may refuse), and C2 values are translated for v1 readers. Heads and
sensors are numbered from 1 in v1 (from 0 in C2); image controls are 0-100 in v1, mapped
linearly onto the C2 ranges. ``scripts/v1_table.py`` renders this module as docs/v1-mapping.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roto_shared.catalogue import load_catalogue


class InvalidV1Value(ValueError):
    """The v1 value cannot be translated; the message says what is allowed."""


@dataclass(frozen=True)
class V1Key:
    key: str
    variable: str
    to_v1: Callable[[Any], Any]
    to_c2: Callable[[Any], Any]
    allowed: str
    aliases: tuple[str, ...] = field(default=())

    @property
    def writable(self) -> bool:
        return load_catalogue()[self.variable].writable

    @property
    def readable(self) -> bool:
        return load_catalogue()[self.variable].readable


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidV1Value("Value must be true or false")


def _percent(variable: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any], str]:
    var = load_catalogue()[variable]
    lo, hi = float(var.min or 0), float(var.max or 0)
    integral = var.type == "integer"

    def to_c2(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidV1Value(f"Value must be a number between 0 and 100, not {value!r:.40}")
        if not 0 <= value <= 100:
            raise InvalidV1Value("Value must be between 0 and 100")
        raw = lo + (hi - lo) * value / 100.0
        return round(raw) if integral else round(raw, 3)

    def to_v1(value: Any) -> Any:
        return round((float(value) - lo) / (hi - lo) * 100)

    return to_v1, to_c2, f"0-100 → {variable} [{var.range_text()[1:-1]}]"


def _choices(pairs: dict[Any, Any], message: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    back = {c2: v1 for v1, c2 in pairs.items()}

    def to_c2(value: Any) -> Any:
        # a list or object is unhashable: test the type before looking it up
        if isinstance(value, bool) or not isinstance(value, int | str) or value not in pairs:
            raise InvalidV1Value(message)
        return pairs[value]

    return (lambda value: back.get(value, value)), to_c2


def _same(check: Callable[[Any], Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    return (lambda value: value), check


def _quality(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidV1Value("Value must be a whole number between 1 and 100")
    return value


def _fps(value: Any) -> Any:
    options = load_catalogue()["recordingFps"].options or ()
    if isinstance(value, bool) or value not in options:
        raise InvalidV1Value("Value must be one of " + ", ".join(str(o) for o in options))
    return value


def _record_to_c2(value: Any) -> str:
    commands = {
        True: "start",
        "on": "start",
        False: "stop",
        "off": "stop",
        "pause": "pause",
        "pause_release": "release",
    }
    if not isinstance(value, bool | str) or value not in commands:
        raise InvalidV1Value('Value must be true, "on", false, "off", "pause" or "pause_release"')
    return commands[value]


def _record_to_v1(value: Any) -> Any:
    return {"start": True, "stop": False}.get(value, value)


def _snap(value: Any) -> bool:
    if value is not True:
        raise InvalidV1Value("Value must be true")
    return True


def _build() -> list[V1Key]:
    keys: list[V1Key] = []
    for head in (1, 2):
        i = head - 1
        keys.append(V1Key(f"cam{head}-light", f"light{i}", bool, _bool, "true | false"))
        keys.append(V1Key(f"cam{head}-exists", f"cam{i}Exists", bool, _bool, "true | false (read only)"))
        sensor_v1, sensor_c2 = _choices({1: 0, 2: 1}, "Value must be 1 or 2")
        keys.append(V1Key(f"cam{head}-sensor", f"cam{i}SelectedSensor", sensor_v1, sensor_c2, "1 | 2 → 0 | 1"))
    main_v1, main_c2 = _choices({1: False, 2: True}, "Value must be 1 or 2")
    keys.append(V1Key("main-camera", "cameraSwitch", main_v1, main_c2, "1 | 2 → false | true"))
    res_v1, res_c2 = _choices(
        {"3840x2160": "4K", "1920x1080": "FullHD", "1280x720": "HD"},
        'Value must be "3840x2160", "1920x1080" or "1280x720"',
    )
    keys.append(V1Key("resolution", "recordingResolution", res_v1, res_c2, "3840x2160 | 1920x1080 | 1280x720"))
    keys.append(V1Key("fps", "recordingFps", *_same(_fps), "1 | 5 | 10 | 15 | 30 | 60"))
    pip_v1, pip_c2 = _choices({n: n for n in range(5)}, "Value must be 0, 1, 2, 3 or 4")
    keys.append(V1Key("pip-mode", "pip", pip_v1, pip_c2, "0 off, 1-4 corner"))
    for key, variable in (
        ("brightness", "brightness"),
        ("contrast", "contrast"),
        ("sharpness", "sharpness"),
        ("saturation", "saturation"),
        ("gain", "gain"),
        ("red-gain", "redGain"),
        ("blue-gain", "blueGain"),
    ):
        to_v1, to_c2, allowed = _percent(variable)
        keys.append(V1Key(key, variable, to_v1, to_c2, allowed))
    keys.append(V1Key("auto-exposure", "exposure", bool, _bool, "true | false"))
    keys.append(V1Key("auto-white-balance", "whiteBalance", bool, _bool, "true | false"))
    keys.append(
        V1Key("noise-supression", "noiseSuppression", bool, _bool, "true | false", aliases=("noise-suppression",))
    )
    keys.append(
        V1Key(
            "record",
            "record",
            _record_to_v1,
            _record_to_c2,
            'true | "on" → start, false | "off" → stop, "pause", "pause_release" → release',
        )
    )
    keys.append(V1Key("snap", "takePicture", bool, _snap, "true (write only)"))
    keys.append(V1Key("jpeg-quality", "recordingPictureQuality", *_same(_quality), "1-100"))
    return keys


V1_KEYS: list[V1Key] = _build()
BY_KEY: dict[str, V1Key] = {alias: k for k in V1_KEYS for alias in (k.key, *k.aliases)}
BY_VARIABLE: dict[str, V1Key] = {k.variable: k for k in V1_KEYS}


def to_v1(c2_values: dict[str, Any]) -> dict[str, Any]:
    """Translate C2 variables to v1 keys (variables without a v1 name are left out)."""
    return {BY_VARIABLE[n].key: BY_VARIABLE[n].to_v1(v) for n, v in c2_values.items() if n in BY_VARIABLE}
