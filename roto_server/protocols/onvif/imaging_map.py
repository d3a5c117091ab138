"""The ONVIF imaging vocabulary as a table onto the one C2 state (rendered by scripts/onvif_table.py).

Each row names an ImagingSettings20 field, the C2 variable behind it and the conversion both ways.
Ranges come from the catalogue, so GetOptions, validation and docs/onvif-mapping.md cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from roto_shared.catalogue import load_catalogue


@dataclass(frozen=True)
class ImagingField:
    path: tuple[str, ...]  # element path inside ImagingSettings20
    variable: str
    to_onvif: Callable[[Any], Any]
    to_c2: Callable[[str], Any]  # raises ValueError naming what is allowed
    allowed: str
    scale: float = 1.0  # ONVIF unit per C2 unit, for the option ranges

    @property
    def name(self) -> str:
        return "/".join(self.path)

    def onvif_range(self) -> tuple[float, float]:
        var = load_catalogue()[self.variable]
        return float(var.min or 0) * self.scale, float(var.max or 0) * self.scale


def _number(variable: str, scale: float = 1.0) -> tuple[Callable[[Any], Any], Callable[[str], Any], str]:
    var = load_catalogue()[variable]
    lo, hi = float(var.min or 0), float(var.max or 0)
    integral = var.type == "integer"

    def to_c2(raw: str) -> Any:
        try:
            value = float(raw) / scale
        except ValueError:
            value = float("nan")
        if not lo <= value <= hi:
            raise ValueError(f"allowed is {lo * scale:.10g} to {hi * scale:.10g}")
        return round(value) if integral else round(value, 3)

    unit = "" if scale == 1 else f" (×{scale:g})"
    return (
        (lambda v: float(v) * scale),
        to_c2,
        f"{lo * scale:.10g}..{hi * scale:.10g} ↔ {variable} [{lo:g}, {hi:g}]{unit}",
    )


def _mode(variable: str) -> tuple[Callable[[Any], Any], Callable[[str], Any], str]:
    def to_c2(raw: str) -> bool:
        if raw not in ("AUTO", "MANUAL"):
            raise ValueError("allowed are AUTO and MANUAL")
        return raw == "AUTO"

    return (lambda v: "AUTO" if v else "MANUAL"), to_c2, f"AUTO | MANUAL ↔ {variable} true | false"


def _row(
    path: str, variable: str, conv: tuple[Callable[[Any], Any], Callable[[str], Any], str], scale: float = 1.0
) -> ImagingField:
    return ImagingField(tuple(path.split("/")), variable, conv[0], conv[1], conv[2], scale)


# modes first: a manual value is accepted only while its mode is MANUAL, and a request may switch both
FIELDS: tuple[ImagingField, ...] = (
    _row("Exposure/Mode", "exposure", _mode("exposure")),
    _row("WhiteBalance/Mode", "whiteBalance", _mode("whiteBalance")),
    _row("Brightness", "brightness", _number("brightness")),
    _row("ColorSaturation", "saturation", _number("saturation")),
    _row("Contrast", "contrast", _number("contrast")),
    _row("Sharpness", "sharpness", _number("sharpness")),
    _row("Exposure/ExposureTime", "expo", _number("expo", 1000.0), 1000.0),  # ONVIF counts µs, C2 ms
    _row("Exposure/Gain", "gain", _number("gain")),
    _row("WhiteBalance/CrGain", "redGain", _number("redGain")),
    _row("WhiteBalance/CbGain", "blueGain", _number("blueGain")),
)
ABSENT = ("BacklightCompensation", "Focus", "IrCutFilter", "WideDynamicRange")
