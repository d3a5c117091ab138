"""Media (trt, ver10): profiles over the unit's streams; the main encoder maps onto the recording settings."""

from __future__ import annotations

from lxml import etree

from roto_server.protocols.soap.envelope import Fault, child, child_text, el, text

from .engine import Call, Handler, Registry
from .profiles import (
    GOV_RANGE,
    H264_PROFILE,
    PROFILES,
    SOURCE,
    SOURCE_CONFIG,
    Profile,
    encoder,
    encoder_rates,
    encoder_sizes,
    encoder_token,
    encoder_writes,
    options_token,
    profile,
    snapshot_uri,
    source_size,
    stream_uri,
)
from .ptz import ptz_configuration


def source_configuration(call: Call, tag: str = "tt:VideoSourceConfiguration") -> etree._Element:
    width, height = source_size(call)
    return el(
        tag,
        text("tt:Name", "Streamed head"),
        text("tt:UseCount", len(PROFILES)),
        text("tt:SourceToken", SOURCE),
        el("tt:Bounds", x="0", y="0", width=str(width), height=str(height)),
        token=SOURCE_CONFIG,
    )


def encoder_configuration(call: Call, token: str) -> etree._Element:
    e = encoder(call, token)
    return el(
        "tt:VideoEncoderConfiguration",
        text("tt:Name", e.name),
        text("tt:UseCount", 1),
        text("tt:Encoding", "H264"),
        el("tt:Resolution", text("tt:Width", e.width), text("tt:Height", e.height)),
        text("tt:Quality", e.quality),
        el(
            "tt:RateControl",
            text("tt:FrameRateLimit", e.fps),
            text("tt:EncodingInterval", 1),
            text("tt:BitrateLimit", e.bitrate_kbps),
        ),
        el("tt:H264", text("tt:GovLength", e.gov_length), text("tt:H264Profile", H264_PROFILE)),
        multicast_off(),
        text("tt:SessionTimeout", "PT60S"),
        token=token,
    )


def multicast_off() -> etree._Element:
    """The unit streams unicast only: every encoder names an unused multicast group."""
    return el(
        "tt:Multicast",
        el("tt:Address", text("tt:Type", "IPv4"), text("tt:IPv4Address", "0.0.0.0")),
        text("tt:Port", 0),
        text("tt:TTL", 1),
        text("tt:AutoStart", False),
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
    width, height = source_size(call)
    return el(
        "trt:VideoSources",
        text("tt:Framerate", int(call.store["recordingFps"])),
        el("tt:Resolution", text("tt:Width", width), text("tt:Height", height)),
        token=SOURCE,
    )


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
        token = encoder_token(child_text(body, "ConfigurationToken"))
        node = encoder_configuration(call, token)
        node.tag = "{http://www.onvif.org/ver10/media/wsdl}Configuration"
        return el("trt:GetVideoEncoderConfigurationResponse", node)

    @add("media", "GetVideoEncoderConfigurationOptions", "read")
    def _vec_options(call: Call, body: etree._Element) -> etree._Element:
        token = options_token(body)
        sizes, fps = encoder_sizes(token), encoder_rates(call, token)
        return el(
            "trt:GetVideoEncoderConfigurationOptionsResponse",
            el(
                "trt:Options",
                el("tt:QualityRange", text("tt:Min", 1), text("tt:Max", 100)),
                el(
                    "tt:H264",
                    *(el("tt:ResolutionsAvailable", text("tt:Width", w), text("tt:Height", h)) for w, h in sizes),
                    el("tt:GovLengthRange", text("tt:Min", GOV_RANGE[0]), text("tt:Max", GOV_RANGE[1])),
                    el("tt:FrameRateRange", text("tt:Min", min(fps)), text("tt:Max", max(fps))),
                    el("tt:EncodingIntervalRange", text("tt:Min", 1), text("tt:Max", 1)),
                    text("tt:H264ProfilesSupported", H264_PROFILE),
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
        return el("trt:GetStreamUriResponse", _media_uri(stream_uri(call, p)))

    @add("media", "GetSnapshotUri", "read")
    def _snapshot_uri(call: Call, body: etree._Element) -> etree._Element:
        profile(child_text(body, "ProfileToken"))
        return el("trt:GetSnapshotUriResponse", _media_uri(snapshot_uri(call)))

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
