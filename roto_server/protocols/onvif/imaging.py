"""Imaging (timg, ver20): the image controls of the streamed head through the vocabulary table."""

from __future__ import annotations

from typing import Any

from lxml import etree

from roto_server.device.store import Set
from roto_server.protocols.soap.envelope import Fault, child, child_text, el, text

from .engine import Call, Registry
from .imaging_map import FIELDS
from .profiles import SOURCE

# ImagingSettings20 wants its children in schema order; the table is in apply order
ORDER = ("Brightness", "ColorSaturation", "Contrast", "Exposure", "Sharpness", "WhiteBalance")
INNER = {"Exposure": ("Mode", "ExposureTime", "Gain"), "WhiteBalance": ("Mode", "CrGain", "CbGain")}


def settings(call: Call) -> etree._Element:
    values = {f.name: f.to_onvif(call.store[f.variable]) for f in FIELDS}
    parts = []
    for top in ORDER:
        if top in INNER:
            parts.append(el(f"tt:{top}", *(text(f"tt:{leaf}", values[f"{top}/{leaf}"]) for leaf in INNER[top])))
        else:
            parts.append(text(f"tt:{top}", values[top]))
    return el("timg:ImagingSettings", *parts)


def writes(call: Call, node: etree._Element | None) -> list[Set]:
    """Every change the settings ask for, checked before any is applied."""
    if node is None:
        raise Fault("ter:InvalidArgVal", "SetImagingSettings needs ImagingSettings")
    out: list[Set] = []
    after: dict[str, Any] = {}
    for f in FIELDS:
        raw = child_text(node, *f.path)
        if raw is None:
            continue
        try:
            value = f.to_c2(raw)
        except ValueError as exc:
            raise Fault("ter:SettingsInvalid", f"{f.name} {raw!r}: {exc}") from None
        out.append(Set(f.variable, value))
        after[f.variable] = value
    catalogue = call.store.catalogue
    for op in out:
        for needed, wanted in catalogue[op.name].requires.items():
            if after.get(needed, call.store[needed]) != wanted:
                mode = next(f.name for f in FIELDS if f.variable == needed)
                raise Fault("ter:SettingsInvalid", f"{_field(op.name)} needs {mode} MANUAL (nothing was changed)")
    return out


def _field(variable: str) -> str:
    return next(f.name for f in FIELDS if f.variable == variable)


def options() -> etree._Element:
    ranges = {f.name: f.onvif_range() for f in FIELDS}

    def rng(tag: str, name: str) -> etree._Element:
        lo, hi = ranges[name]
        return el(tag, text("tt:Min", lo), text("tt:Max", hi))

    return el(
        "timg:ImagingOptions",
        rng("tt:Brightness", "Brightness"),
        rng("tt:ColorSaturation", "ColorSaturation"),
        rng("tt:Contrast", "Contrast"),
        el(
            "tt:Exposure",
            text("tt:Mode", "AUTO"),
            text("tt:Mode", "MANUAL"),
            rng("tt:ExposureTime", "Exposure/ExposureTime"),
            rng("tt:Gain", "Exposure/Gain"),
        ),
        rng("tt:Sharpness", "Sharpness"),
        el(
            "tt:WhiteBalance",
            text("tt:Mode", "AUTO"),
            text("tt:Mode", "MANUAL"),
            rng("tt:YrGain", "WhiteBalance/CrGain"),
            rng("tt:YbGain", "WhiteBalance/CbGain"),
        ),
    )


def _source(body: etree._Element) -> None:
    token = child_text(body, "VideoSourceToken")
    if token != SOURCE:
        raise Fault("ter:NoSource", f"VideoSourceToken {token!r} is unknown; the video source is {SOURCE!r}")


def register(reg: Registry) -> None:
    add = reg.add

    @add("imaging", "GetServiceCapabilities", "pre")
    def _caps(call: Call, body: etree._Element) -> etree._Element:
        from .device import service_capabilities

        return el("timg:GetServiceCapabilitiesResponse", service_capabilities("imaging"))

    @add("imaging", "GetImagingSettings", "read")
    def _get(call: Call, body: etree._Element) -> etree._Element:
        _source(body)
        return el("timg:GetImagingSettingsResponse", settings(call))

    @add("imaging", "SetImagingSettings", "write")
    def _set(call: Call, body: etree._Element) -> etree._Element:
        _source(body)
        call.write(writes(call, child(body, "ImagingSettings")))
        return el("timg:SetImagingSettingsResponse")

    @add("imaging", "GetOptions", "read")
    def _options(call: Call, body: etree._Element) -> etree._Element:
        _source(body)
        return el("timg:GetOptionsResponse", options())

    @add("imaging", "GetMoveOptions", "read")
    def _move_options(call: Call, body: etree._Element) -> etree._Element:
        _source(body)  # no focus motor: no move options
        return el("timg:GetMoveOptionsResponse", el("timg:MoveOptions"))
