"""The media profiles both Media services (ver10 and ver20) render: one source of truth over the C2 state.

Profile ``main`` is the recording rendition (``recordingResolution``, ``recordingFps``,
``recordingPictureQuality``) on ``/stream1``; ``sub`` is a fixed small rendition on ``/stream2``. The one
video source is whichever head is streamed (``cameraSwitch``). This module knows values, not XML
shapes: each service module renders these values in its own schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from roto_server.device.store import Set
from roto_server.protocols.soap.envelope import Fault, child, child_text

from .engine import Call

RESOLUTIONS = {"4K": (3840, 2160), "FullHD": (1920, 1080), "HD": (1280, 720)}
SUB_SIZE = (640, 360)  # the sub stream's fixed rendition
SUB_FPS = 15
SUB_QUALITY = 60
SOURCE = "head"  # the one video source: whichever head is streamed (cameraSwitch)
SOURCE_CONFIG = "vsc0"
H264_PROFILE = "Baseline"  # the stream is libx264 constrained baseline (imaging/h264.py)
GOV_RANGE = (1, 60)


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    encoder: str
    path: str  # RTSP path on the unit's RTSP server


PROFILES = (Profile("main", "MainStream", "vec_main", "/stream1"), Profile("sub", "SubStream", "vec_sub", "/stream2"))
ENCODERS = tuple(p.encoder for p in PROFILES)


@dataclass(frozen=True)
class Encoder:
    """One encoder configuration as the unit runs it now."""

    token: str
    name: str
    width: int
    height: int
    fps: int
    quality: int
    bitrate_kbps: int
    gov_length: int


def profile(token: str | None) -> Profile:
    for p in PROFILES:
        if p.token == token:
            return p
    raise Fault("ter:NoProfile", f"ProfileToken {token!r} is unknown; profiles are: main, sub")


def encoder_token(token: str | None) -> str:
    if token not in ENCODERS:
        raise Fault("ter:NoConfig", f"ConfigurationToken {token!r} is unknown; encoders are: {', '.join(ENCODERS)}")
    return token


def source_size(call: Call) -> tuple[int, int]:
    return RESOLUTIONS.get(str(call.store["recordingResolution"]), RESOLUTIONS["FullHD"])


def fps_options(call: Call) -> list[int]:
    return [int(f) for f in call.store.catalogue["recordingFps"].options or ()]


def encoder(call: Call, token: str) -> Encoder:
    if token == "vec_main":
        width, height = source_size(call)
        fps = int(call.store["recordingFps"])
        return Encoder(token, "Main H.264", width, height, fps, int(call.store["recordingPictureQuality"]), 8000, fps)
    return Encoder(token, "Sub H.264", *SUB_SIZE, SUB_FPS, SUB_QUALITY, 1000, SUB_FPS)


def encoder_sizes(token: str) -> list[tuple[int, int]]:
    return list(RESOLUTIONS.values()) if token == "vec_main" else [SUB_SIZE]


def encoder_rates(call: Call, token: str) -> list[int]:
    return fps_options(call) if token == "vec_main" else [SUB_FPS]


def options_token(body: etree._Element) -> str:
    """The encoder an options request asks about: by ConfigurationToken, else by ProfileToken, else main."""
    token = child_text(body, "ConfigurationToken")
    if token is None:
        profile_token = child_text(body, "ProfileToken")
        token = profile(profile_token).encoder if profile_token else "vec_main"
    return encoder_token(token)


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def stream_uri(call: Call, p: Profile) -> str:
    port = call.rtsp_port or int(call.store["rtspPort"])  # while RTSP is off, where it will serve once on
    return f"rtsp://{_host(call.address)}:{port}{p.path}"


def snapshot_uri(call: Call) -> str:
    return f"{call.base}/camera.jpeg"


def encoder_writes(call: Call, config: etree._Element | None) -> list[Set]:
    """The recording settings a new encoder configuration asks for (ver10 and ver20 share the field names).

    Every field is checked before anything is written, so a refusal changes nothing; the sub stream is fixed.
    """
    if config is None:
        raise Fault("ter:InvalidArgVal", "SetVideoEncoderConfiguration needs a Configuration")
    token = encoder_token(config.get("token"))
    writes: list[Set] = []
    width, height = child_text(config, "Resolution", "Width"), child_text(config, "Resolution", "Height")
    fps, quality = _value(config, "RateControl", "FrameRateLimit"), child_text(config, "Quality")
    encoding = _value(config, "Encoding")
    if (width is None) != (height is None):
        raise Fault("ter:ConfigModify", "Resolution needs both Width and Height")
    if encoding not in (None, "H264"):
        raise Fault("ter:ConfigModify", f"Encoding {encoding!r}: only H264")
    if token == "vec_sub":
        if (width, height) not in ((None, None), tuple(str(v) for v in SUB_SIZE)):
            raise Fault("ter:ConfigModify", f"Resolution: the sub stream is fixed at {SUB_SIZE[0]}x{SUB_SIZE[1]}")
        return writes
    if width is not None and height is not None:
        size = next((n for n, wh in RESOLUTIONS.items() if (str(wh[0]), str(wh[1])) == (width, height)), None)
        if size is None:
            allowed = ", ".join(f"{w}x{h}" for w, h in RESOLUTIONS.values())
            raise Fault("ter:ConfigModify", f"Resolution {width}x{height}: allowed are {allowed}")
        writes.append(Set("recordingResolution", size))
    if fps is not None:
        writes.append(Set("recordingFps", _frame_rate(call, fps)))
    if quality is not None:
        writes.append(Set("recordingPictureQuality", _quality(quality)))
    return writes


def _value(config: etree._Element, *path: str) -> str | None:
    """A field as an element or, as some Media2 clients (onveef) send it, an attribute of its parent.

    Reading both keeps a value the client sent from being silently dropped while the rest is applied.
    """
    found = child_text(config, *path)
    if found is None:
        parent = child(config, *path[:-1]) if path[:-1] else config
        found = None if parent is None else parent.get(path[-1])
    return found


def _frame_rate(call: Call, fps: str) -> int:
    # Media2 carries FrameRateLimit as a float ("30.0"); a whole number in the options is what counts
    options = fps_options(call)
    try:
        value = float(fps)
    except ValueError:
        value = -1.0
    if not value.is_integer() or int(value) not in options:
        raise Fault("ter:ConfigModify", f"FrameRateLimit {fps}: allowed are {options}")
    return int(value)


def _quality(quality: str) -> int:
    try:
        value = round(float(quality))
    except (ValueError, OverflowError):
        value = -1
    if not 1 <= value <= 100:
        raise Fault("ter:ConfigModify", f"Quality {quality}: allowed is 1 to 100")
    return value
