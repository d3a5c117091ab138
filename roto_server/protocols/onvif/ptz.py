"""PTZ (tptz): the streamed head's digital zoom and zoom window as ONVIF's generic spaces.

zoom0/zoom1 0..31424 ↔ Zoom 0..1; pan0/pan1 x,y 0..100 % ↔ PanTilt −1..1 (tilt up is positive, so y is
turned over). Both C2 variables are relative: a write adds to the current value, so absolute positions
become differences. A continuous move is a velocity applied at every tick until Stop or its timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from roto_server.device.store import Set, StateStore
from roto_server.protocols.soap.envelope import Fault, child, child_text, el, text

from .engine import Call, Registry, iso
from .presets import Position, Presets

ZOOM_MAX = 31424
NODE = "head"
CONFIG = "ptz0"
SPACE = "http://www.onvif.org/ver10/tptz/"
PT_POS, Z_POS = SPACE + "PanTiltSpaces/PositionGenericSpace", SPACE + "ZoomSpaces/PositionGenericSpace"
PT_REL, Z_REL = SPACE + "PanTiltSpaces/TranslationGenericSpace", SPACE + "ZoomSpaces/TranslationGenericSpace"
PT_VEL, Z_VEL = SPACE + "PanTiltSpaces/VelocityGenericSpace", SPACE + "ZoomSpaces/VelocityGenericSpace"
PT_SPEED, Z_SPEED = SPACE + "PanTiltSpaces/GenericSpeedSpace", SPACE + "ZoomSpaces/ZoomGenericSpeedSpace"
DEFAULT_TIMEOUT_S = 10.0
FULL_SWEEP_S = 4.0  # a velocity of 1 crosses the whole range in this time


@dataclass
class Motion:
    pan: float
    tilt: float
    zoom: float
    until: float
    last: float


class PtzState:
    """The continuous move in progress and the stored presets."""

    def __init__(self, presets: Presets) -> None:
        self.presets = presets
        self.motion: Motion | None = None

    def tick(self, store: StateStore, now: float) -> None:
        """Advance a continuous move to ``now``; it ends at its timeout."""
        motion = self.motion
        if motion is None:
            return
        step = (min(now, motion.until) - motion.last) / FULL_SWEEP_S
        motion.last = now
        here = position(store)
        target = Position(
            _clamp(here.pan + 2 * motion.pan * step, -1, 1),
            _clamp(here.tilt + 2 * motion.tilt * step, -1, 1),
            _clamp(here.zoom + motion.zoom * step, 0, 1),
        )
        store.apply(moves(store, target), "operator")
        if now >= motion.until:
            self.motion = None


def head(store: StateStore) -> int:
    return 1 if store["cameraSwitch"] else 0


def position(store: StateStore) -> Position:
    h = head(store)
    pan = store[f"pan{h}"]
    return Position((float(pan["x"]) - 50) / 50, (50 - float(pan["y"])) / 50, int(store[f"zoom{h}"]) / ZOOM_MAX)


def moves(store: StateStore, target: Position) -> list[Set]:
    """The relative C2 writes that bring the streamed head to ``target``."""
    h, here = head(store), position(store)
    writes = []
    if abs(target.pan - here.pan) > 1e-9 or abs(target.tilt - here.tilt) > 1e-9:
        writes.append(Set(f"pan{h}", {"x": (target.pan - here.pan) * 50, "y": -(target.tilt - here.tilt) * 50}))
    zoom = round(target.zoom * ZOOM_MAX) - int(store[f"zoom{h}"])
    if zoom:
        writes.append(Set(f"zoom{h}", zoom))
    return writes


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def _float(node: etree._Element | None, attr: str, lo: float, hi: float, what: str) -> float | None:
    if node is None or node.get(attr) is None:
        return None
    try:
        value = float(node.get(attr, ""))
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise Fault("ter:InvalidPosition", f"{what} {node.get(attr)!r}: allowed is {lo:g} to {hi:g}")
    return value


def _vector(body: etree._Element, name: str, lo: float, zlo: float) -> tuple[float | None, float | None, float | None]:
    node = child(body, name)
    pt, zoom = child(node, "PanTilt"), child(node, "Zoom")
    return (
        _float(pt, "x", lo, 1, f"{name} PanTilt x"),
        _float(pt, "y", lo, 1, f"{name} PanTilt y"),
        _float(zoom, "x", zlo, 1, f"{name} Zoom x"),
    )


def _duration(value: str | None) -> float:
    if not value:
        return DEFAULT_TIMEOUT_S
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", value)
    if not match:
        raise Fault("ter:InvalidArgVal", f"Timeout {value!r}: an xs:duration such as PT5S")
    return min(float(match.group(1) or 0) * 60 + float(match.group(2) or 0), 60.0)


def status_element(store: StateStore, state: PtzState, now: float) -> etree._Element:
    here = position(store)
    moving = "MOVING" if state.motion else "IDLE"
    return el(
        "tptz:PTZStatus",
        el(
            "tt:Position",
            el("tt:PanTilt", x=f"{here.pan:.4f}", y=f"{here.tilt:.4f}", space=PT_POS),
            el("tt:Zoom", x=f"{here.zoom:.4f}", space=Z_POS),
        ),
        el("tt:MoveStatus", text("tt:PanTilt", moving), text("tt:Zoom", moving)),
        text("tt:UtcTime", iso(now)),
    )


def _range(tag: str, lo: object, hi: object) -> etree._Element:
    return el(tag, text("tt:Min", lo), text("tt:Max", hi))


def spaces(tag: str) -> etree._Element:
    def two(t: str, uri: str, lo: float) -> etree._Element:
        return el(t, text("tt:URI", uri), _range("tt:XRange", lo, 1), _range("tt:YRange", lo, 1))

    def one(t: str, uri: str, lo: float) -> etree._Element:
        return el(t, text("tt:URI", uri), _range("tt:XRange", lo, 1))

    return el(
        tag,
        two("tt:AbsolutePanTiltPositionSpace", PT_POS, -1),
        one("tt:AbsoluteZoomPositionSpace", Z_POS, 0),
        two("tt:RelativePanTiltTranslationSpace", PT_REL, -1),
        one("tt:RelativeZoomTranslationSpace", Z_REL, -1),
        two("tt:ContinuousPanTiltVelocitySpace", PT_VEL, -1),
        one("tt:ContinuousZoomVelocitySpace", Z_VEL, -1),
        one("tt:PanTiltSpeedSpace", PT_SPEED, 0),
        one("tt:ZoomSpeedSpace", Z_SPEED, 0),
    )


def ptz_configuration(tag: str = "tt:PTZConfiguration") -> etree._Element:
    return el(
        tag,
        text("tt:Name", "Streamed head"),
        text("tt:UseCount", 2),
        text("tt:NodeToken", NODE),
        text("tt:DefaultAbsolutePantTiltPositionSpace", PT_POS),
        text("tt:DefaultAbsoluteZoomPositionSpace", Z_POS),
        text("tt:DefaultRelativePanTiltTranslationSpace", PT_REL),
        text("tt:DefaultRelativeZoomTranslationSpace", Z_REL),
        text("tt:DefaultContinuousPanTiltVelocitySpace", PT_VEL),
        text("tt:DefaultContinuousZoomVelocitySpace", Z_VEL),
        text("tt:DefaultPTZTimeout", f"PT{int(DEFAULT_TIMEOUT_S)}S"),
        token=CONFIG,
    )


def register(reg: Registry, state: PtzState) -> None:
    add = reg.add

    @add("ptz", "GetServiceCapabilities", "pre")
    def _caps(call: Call, body: etree._Element) -> etree._Element:
        from .device import service_capabilities

        return el("tptz:GetServiceCapabilitiesResponse", service_capabilities("ptz"))

    @add("ptz", "GetNodes", "read")
    def _nodes(call: Call, body: etree._Element) -> etree._Element:
        return el("tptz:GetNodesResponse", node_element("tptz:PTZNode"))

    @add("ptz", "GetNode", "read")
    def _node(call: Call, body: etree._Element) -> etree._Element:
        if child_text(body, "NodeToken") != NODE:
            raise Fault("ter:NoEntity", f"NodeToken must be {NODE}")
        return el("tptz:GetNodeResponse", node_element("tptz:PTZNode"))

    @add("ptz", "GetConfigurations", "read")
    def _configs(call: Call, body: etree._Element) -> etree._Element:
        return el("tptz:GetConfigurationsResponse", ptz_configuration("tptz:PTZConfiguration"))

    @add("ptz", "GetConfiguration", "read")
    def _config(call: Call, body: etree._Element) -> etree._Element:
        _config_token(child_text(body, "PTZConfigurationToken"))
        return el("tptz:GetConfigurationResponse", ptz_configuration("tptz:PTZConfiguration"))

    @add("ptz", "GetConfigurationOptions", "read")
    def _options(call: Call, body: etree._Element) -> etree._Element:
        _config_token(child_text(body, "ConfigurationToken"))
        return el(
            "tptz:GetConfigurationOptionsResponse",
            el("tptz:PTZConfigurationOptions", spaces("tt:Spaces"), _range("tt:PTZTimeout", "PT1S", "PT60S")),
        )

    @add("ptz", "GetStatus", "read")
    def _status(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        state.tick(call.store, call.now)
        return el("tptz:GetStatusResponse", status_element(call.store, state, call.now))

    @add("ptz", "AbsoluteMove", "write")
    def _absolute(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        pan, tilt, zoom = _vector(body, "Position", -1, 0)
        here = position(call.store)
        target = Position(
            here.pan if pan is None else pan, here.tilt if tilt is None else tilt, here.zoom if zoom is None else zoom
        )
        state.motion = None
        call.write(moves(call.store, target))
        return el("tptz:AbsoluteMoveResponse")

    @add("ptz", "RelativeMove", "write")
    def _relative(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        pan, tilt, zoom = _vector(body, "Translation", -2, -1)
        here = position(call.store)
        target = Position(
            _clamp(here.pan + (pan or 0), -1, 1),
            _clamp(here.tilt + (tilt or 0), -1, 1),
            _clamp(here.zoom + (zoom or 0), 0, 1),
        )
        state.motion = None
        call.write(moves(call.store, target))
        return el("tptz:RelativeMoveResponse")

    @add("ptz", "ContinuousMove", "write")
    def _continuous(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        pan, tilt, zoom = _vector(body, "Velocity", -1, -1)
        timeout = _duration(child_text(body, "Timeout"))
        state.motion = Motion(pan or 0, tilt or 0, zoom or 0, call.now + timeout, call.now)
        return el("tptz:ContinuousMoveResponse")

    @add("ptz", "Stop", "write")
    def _stop(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        state.tick(call.store, call.now)
        state.motion = None
        return el("tptz:StopResponse")

    @add("ptz", "GetPresets", "read")
    def _presets(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        return el(
            "tptz:GetPresetsResponse",
            *(
                el(
                    "tptz:Preset",
                    text("tt:Name", p.name),
                    el(
                        "tt:PTZPosition",
                        el("tt:PanTilt", x=f"{p.position.pan:.4f}", y=f"{p.position.tilt:.4f}", space=PT_POS),
                        el("tt:Zoom", x=f"{p.position.zoom:.4f}", space=Z_POS),
                    ),
                    token=token,
                )
                for token, p in state.presets.items()
            ),
        )

    @add("ptz", "SetPreset", "write")
    def _set_preset(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        token = state.presets.set(child_text(body, "PresetToken"), child_text(body, "PresetName"), position(call.store))
        return el("tptz:SetPresetResponse", text("tptz:PresetToken", token))

    @add("ptz", "GotoPreset", "write")
    def _goto(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        state.motion = None
        call.write(moves(call.store, state.presets.get(child_text(body, "PresetToken")).position))
        return el("tptz:GotoPresetResponse")

    @add("ptz", "RemovePreset", "write")
    def _remove(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        state.presets.remove(child_text(body, "PresetToken"))
        return el("tptz:RemovePresetResponse")

    @add("ptz", "GotoHomePosition", "write")
    def _home(call: Call, body: etree._Element) -> etree._Element:
        _profile(body)
        state.motion = None
        call.write(moves(call.store, Position(0.0, 0.0, 0.0)))
        return el("tptz:GotoHomePositionResponse")


def node_element(tag: str) -> etree._Element:
    return el(
        tag,
        text("tt:Name", "Streamed head"),
        spaces("tt:SupportedPTZSpaces"),
        text("tt:MaximumNumberOfPresets", Presets.LIMIT),
        text("tt:HomeSupported", True),
        token=NODE,
        FixedHomePosition="true",
    )


def _profile(body: etree._Element) -> None:
    token = child_text(body, "ProfileToken")
    if token not in ("main", "sub"):
        raise Fault("ter:NoProfile", f"ProfileToken {token!r} is unknown; profiles are: main, sub")


def _config_token(token: str | None) -> None:
    if token != CONFIG:
        raise Fault("ter:NoConfig", f"the PTZ configuration token must be {CONFIG}")
