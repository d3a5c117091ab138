"""Media (trt, ver10): profiles over the unit's streams; the main encoder maps onto the recording settings."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from roto_server.device.store import Set
from roto_server.protocols.soap.envelope import Fault, child, child_text, el, text

from .engine import Call, Handler, Registry
from .ptz import ptz_configuration

RESOLUTIONS = {"4K": (3840, 2160), "FullHD": (1920, 1080), "HD": (1280, 720)}
SUB_SIZE = (640, 360)  # the sub stream's fixed rendition
SUB_FPS = 15
SOURCE = "head"  # the one video source: whichever head is streamed (cameraSwitch)
SOURCE_CONFIG = "vsc0"


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    encoder: str
    path: str  # RTSP path on the unit's RTSP server


PROFILES = (Profile("main", "MainStream", "vec_main", "/stream1"), Profile("sub", "SubStream", "vec_sub", "/stream2"))


def profile(token: str | None) -> Profile:
    for p in PROFILES:
        if p.token == token:
            return p
    raise Fault("ter:NoProfile", f"ProfileToken {token!r} is unknown; profiles are: main, sub")


def _size(call: Call) -> tuple[int, int]:
    return RESOLUTIONS.get(str(call.store["recordingResolution"]), RESOLUTIONS["FullHD"])


def source_configuration(call: Call) -> etree._Element:
    width, height = _size(call)
    return el(
        "tt:VideoSourceConfiguration",
        text("tt:Name", "Streamed head"),
        text("tt:UseCount", len(PROFILES)),
        text("tt:SourceToken", SOURCE),
        el("tt:Bounds", x="0", y="0", width=str(width), height=str(height)),
        token=SOURCE_CONFIG,
    )


def encoder_configuration(call: Call, token: str) -> etree._Element:
    main = token == "vec_main"
    width, height = _size(call) if main else SUB_SIZE
    fps = int(call.store["recordingFps"]) if main else SUB_FPS
    quality = int(call.store["recordingPictureQuality"]) if main else 60
    return el(
        "tt:VideoEncoderConfiguration",
        text("tt:Name", "Main H.264" if main else "Sub H.264"),
        text("tt:UseCount", 1),
        text("tt:Encoding", "H264"),
        el("tt:Resolution", text("tt:Width", width), text("tt:Height", height)),
        text("tt:Quality", quality),
        el(
            "tt:RateControl",
            text("tt:FrameRateLimit", fps),
            text("tt:EncodingInterval", 1),
            text("tt:BitrateLimit", 8000 if main else 1000),
        ),
        el("tt:H264", text("tt:GovLength", fps), text("tt:H264Profile", "Main")),
        el(
            "tt:Multicast",
            el("tt:Address", text("tt:Type", "IPv4"), text("tt:IPv4Address", "0.0.0.0")),
            text("tt:Port", 0),
            text("tt:TTL", 1),
            text("tt:AutoStart", False),
        ),
        text("tt:SessionTimeout", "PT60S"),
        token=token,
    )


def profile_element(call: Call, p: Profile, tag: str = "trt:Profiles") -> etree._Element:
    return el(
        tag,
        text("tt:Name", p.name),
        source_configuration(call),
        encoder_configuration(call, p.encoder),
        ptz_configuration(),
        token=p.token,
        fixed="true",
    )


def video_source(call: Call) -> etree._Element:
    width, height = _size(call)
    return el(
        "trt:VideoSources",
        text("tt:Framerate", int(call.store["recordingFps"])),
        el("tt:Resolution", text("tt:Width", width), text("tt:Height", height)),
        token=SOURCE,
    )


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def register(reg: Registry) -> None:
    add = reg.add

    @add("media", "GetServiceCapabilities", "pre")
    def _caps(call: Call, body: etree._Element) -> etree._Element:
        from .device import service_capabilities

        return el("trt:GetServiceCapabilitiesResponse", service_capabilities("media"))

    @add("media", "GetProfiles", "read")
    def _profiles(call: Call, body: etree._Element) -> etree._Element:
        return el("trt:GetProfilesResponse", *(profile_element(call, p) for p in PROFILES))

    @add("media", "GetProfile", "read")
    def _profile(call: Call, body: etree._Element) -> etree._Element:
        p = profile(child_text(body, "ProfileToken"))
        return el("trt:GetProfileResponse", profile_element(call, p, "trt:Profile"))

    @add("media", "CreateProfile", "write")
    def _create(call: Call, body: etree._Element) -> etree._Element:
        # NVRs such as Synology create a profile of their own; the unit's streams are fixed, so the
        # main profile stands in for it rather than failing the NVR's set-up
        return el("trt:CreateProfileResponse", profile_element(call, PROFILES[0], "trt:Profile"))

    @add("media", "DeleteProfile", "write")
    def _delete(call: Call, body: etree._Element) -> etree._Element:
        return el("trt:DeleteProfileResponse")

    for op in ("AddVideoSourceConfiguration", "AddVideoEncoderConfiguration", "AddPTZConfiguration"):
        reg.add("media", op, "write")(_empty(op))

    @add("media", "GetVideoSources", "read")
    def _sources(call: Call, body: etree._Element) -> etree._Element:
        return el("trt:GetVideoSourcesResponse", video_source(call))

    @add("media", "GetVideoSourceConfigurations", "read")
    def _vscs(call: Call, body: etree._Element) -> etree._Element:
        node = source_configuration(call)
        node.tag = "{http://www.onvif.org/ver10/media/wsdl}Configurations"
        return el("trt:GetVideoSourceConfigurationsResponse", node)

    @add("media", "GetVideoSourceConfiguration", "read")
    def _vsc(call: Call, body: etree._Element) -> etree._Element:
        if child_text(body, "ConfigurationToken") != SOURCE_CONFIG:
            raise Fault("ter:NoConfig", f"ConfigurationToken must be {SOURCE_CONFIG}")
        node = source_configuration(call)
        node.tag = "{http://www.onvif.org/ver10/media/wsdl}Configuration"
        return el("trt:GetVideoSourceConfigurationResponse", node)

    @add("media", "GetVideoEncoderConfigurations", "read")
    def _vecs(call: Call, body: etree._Element) -> etree._Element:
        nodes = [encoder_configuration(call, p.encoder) for p in PROFILES]
        for node in nodes:
            node.tag = "{http://www.onvif.org/ver10/media/wsdl}Configurations"
        return el("trt:GetVideoEncoderConfigurationsResponse", *nodes)

    @add("media", "GetVideoEncoderConfiguration", "read")
    def _vec(call: Call, body: etree._Element) -> etree._Element:
        token = _encoder_token(child_text(body, "ConfigurationToken"))
        node = encoder_configuration(call, token)
        node.tag = "{http://www.onvif.org/ver10/media/wsdl}Configuration"
        return el("trt:GetVideoEncoderConfigurationResponse", node)

    @add("media", "GetVideoEncoderConfigurationOptions", "read")
    def _vec_options(call: Call, body: etree._Element) -> etree._Element:
        token = child_text(body, "ConfigurationToken")
        if token is None:
            profile_token = child_text(body, "ProfileToken")
            token = profile(profile_token).encoder if profile_token else "vec_main"
        main = _encoder_token(token) == "vec_main"
        sizes = list(RESOLUTIONS.values()) if main else [SUB_SIZE]
        fps = [int(f) for f in call.store.catalogue["recordingFps"].options or ()] if main else [SUB_FPS]
        return el(
            "trt:GetVideoEncoderConfigurationOptionsResponse",
            el(
                "trt:Options",
                el("tt:QualityRange", text("tt:Min", 1), text("tt:Max", 100)),
                el(
                    "tt:H264",
                    *(el("tt:ResolutionsAvailable", text("tt:Width", w), text("tt:Height", h)) for w, h in sizes),
                    el("tt:GovLengthRange", text("tt:Min", 1), text("tt:Max", 60)),
                    el("tt:FrameRateRange", text("tt:Min", min(fps)), text("tt:Max", max(fps))),
                    el("tt:EncodingIntervalRange", text("tt:Min", 1), text("tt:Max", 1)),
                    text("tt:H264ProfilesSupported", "Main"),
                ),
            ),
        )

    @add("media", "SetVideoEncoderConfiguration", "write")
    def _set_vec(call: Call, body: etree._Element) -> etree._Element:
        call.write(encoder_writes(call, child(body, "Configuration")))
        return el("trt:SetVideoEncoderConfigurationResponse")

    @add("media", "GetStreamUri", "read")
    def _stream_uri(call: Call, body: etree._Element) -> etree._Element:
        p = profile(child_text(body, "ProfileToken"))
        protocol = child_text(body, "StreamSetup", "Transport", "Protocol") or "RTSP"
        if protocol not in ("RTSP", "UDP", "TCP"):
            raise Fault("ter:InvalidStreamSetup", f"Transport Protocol {protocol!r}: RTSP, UDP or TCP (over RTSP)")
        port = call.rtsp_port or int(call.store["rtspPort"])  # while RTSP is off, where it will serve once on
        uri = f"rtsp://{_host(call.address)}:{port}{p.path}"
        return el("trt:GetStreamUriResponse", _media_uri(uri))

    @add("media", "GetSnapshotUri", "read")
    def _snapshot_uri(call: Call, body: etree._Element) -> etree._Element:
        profile(child_text(body, "ProfileToken"))
        return el("trt:GetSnapshotUriResponse", _media_uri(f"{call.base}/camera.jpeg"))

    for op in ("GetAudioSources", "GetAudioSourceConfigurations", "GetAudioEncoderConfigurations"):
        reg.add("media", op, "read")(_empty(op))

    @add("media", "GetOSDs", "read")
    def _osds(call: Call, body: etree._Element) -> etree._Element:
        return el("trt:GetOSDsResponse", *osds(call))

    @add("media", "GetOSDOptions", "read")
    def _osd_options(call: Call, body: etree._Element) -> etree._Element:
        return el(
            "trt:GetOSDOptionsResponse",
            el(
                "trt:OSDOptions",
                el("tt:MaximumNumberOfOSDs", Total="2", PlainText="0", Date="1", Time="1", DateAndTime="0"),
                text("tt:Type", "Text"),
                text("tt:PositionOption", "UpperLeft"),
                el("tt:TextOption", text("tt:Type", "Date"), text("tt:Type", "Time")),
            ),
        )


def _empty(op: str) -> Handler:
    """An operation answered with an empty response: no audio, and fixed profiles that tolerate edits."""

    def handler(call: Call, body: etree._Element) -> etree._Element:
        return el(f"trt:{op}Response")

    return handler


def osds(call: Call) -> list[etree._Element]:
    """The time and date stamps the recordings carry, as read-only text OSDs."""
    stamps = []
    if call.store["recordingWithDateStamp"]:
        stamps.append(("osd_date", "Date", el("tt:DateFormat", "yyyy-MM-dd")))
    if call.store["recordingWithTimeStamp"]:
        stamps.append(("osd_time", "Time", el("tt:TimeFormat", "HH:mm:ss")))
    out = []
    for token, kind, fmt in stamps:
        fmt.tag = "{http://www.onvif.org/ver10/schema}" + ("DateFormat" if kind == "Date" else "TimeFormat")
        out.append(
            el(
                "trt:OSDs",
                text("tt:VideoSourceConfigurationToken", SOURCE_CONFIG),
                text("tt:Type", "Text"),
                el("tt:Position", text("tt:Type", "UpperLeft")),
                el("tt:TextString", text("tt:Type", kind), fmt),
                token=token,
            )
        )
    return out


def _media_uri(uri: str) -> etree._Element:
    return el(
        "trt:MediaUri",
        text("tt:Uri", uri),
        text("tt:InvalidAfterConnect", False),
        text("tt:InvalidAfterReboot", False),
        text("tt:Timeout", "PT0S"),
    )


def _encoder_token(token: str | None) -> str:
    if token not in ("vec_main", "vec_sub"):
        raise Fault("ter:NoConfig", f"ConfigurationToken {token!r} is unknown; encoders are: vec_main, vec_sub")
    return token


def encoder_writes(call: Call, config: etree._Element | None) -> list[Set]:
    """The recording settings a new main encoder configuration asks for; the sub stream is fixed."""
    if config is None:
        raise Fault("ter:InvalidArgVal", "SetVideoEncoderConfiguration needs a Configuration")
    token = _encoder_token(config.get("token"))
    writes: list[Set] = []
    width, height = child_text(config, "Resolution", "Width"), child_text(config, "Resolution", "Height")
    fps, quality = child_text(config, "RateControl", "FrameRateLimit"), child_text(config, "Quality")
    encoding = child_text(config, "Encoding")
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
        options = [int(f) for f in call.store.catalogue["recordingFps"].options or ()]
        if not fps.isdigit() or int(fps) not in options:
            raise Fault("ter:ConfigModify", f"FrameRateLimit {fps}: allowed are {options}")
        writes.append(Set("recordingFps", int(fps)))
    if quality is not None:
        try:
            value = round(float(quality))
        except ValueError:
            value = -1
        if not 1 <= value <= 100:
            raise Fault("ter:ConfigModify", f"Quality {quality}: allowed is 1 to 100")
        writes.append(Set("recordingPictureQuality", value))
    return writes
