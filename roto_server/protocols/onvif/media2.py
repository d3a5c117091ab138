"""Media2 (tr2, ver20): the same profiles, encoders and URIs as Media ver10, in the ver20 shapes.

The values come from profiles.py, so both services always describe the same streams; a Set goes
through the same checks and the one store as ver10's.
"""

from __future__ import annotations

from lxml import etree

from roto_server.protocols.soap.envelope import Fault, child, child_text, el, text

from .engine import Call, Registry
from .media import multicast_off, source_configuration
from .profiles import (
    GOV_RANGE,
    H264_PROFILE,
    PROFILES,
    RESOLUTIONS,
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
    stream_uri,
)
from .ptz import ptz_configuration

TR2 = "{http://www.onvif.org/ver20/media/wsdl}"
CONFIGURATION_TYPES = ("VideoSource", "VideoEncoder", "PTZ")  # what a profile of this unit holds
# Media2's ConfigurationEnumeration: a Type outside it is a client's mistake, a type the unit lacks is left out
ALL_TYPES = (
    "All",
    "VideoSource",
    "VideoEncoder",
    "AudioSource",
    "AudioEncoder",
    "AudioOutput",
    "AudioDecoder",
    "Metadata",
    "Analytics",
    "PTZ",
)
# RtspUnicast is RTP over UDP, RTSP is RTP interleaved in the RTSP connection: the unit serves both
STREAM_PROTOCOLS = ("RtspUnicast", "RTSP")


def capabilities() -> etree._Element:
    return el(
        "tr2:Capabilities",
        el(
            "tr2:ProfileCapabilities",
            MaximumNumberOfProfiles=str(len(PROFILES)),
            ConfigurationsSupported=" ".join(CONFIGURATION_TYPES),
        ),
        el(
            "tr2:StreamingCapabilities",
            RTSPStreaming="true",
            RTPMulticast="false",
            RTP_RTSP_TCP="true",
            NonAggregateControl="false",
        ),
        SnapshotUri="true",
        Rotation="false",
        VideoSourceMode="false",
        OSD="false",
    )


def encoder_configuration(call: Call, token: str, tag: str) -> etree._Element:
    e = encoder(call, token)
    return el(
        tag,
        text("tt:Name", e.name),
        text("tt:UseCount", 1),
        text("tt:Encoding", "H264"),
        el("tt:Resolution", text("tt:Width", e.width), text("tt:Height", e.height)),
        el(
            "tt:RateControl",
            text("tt:FrameRateLimit", float(e.fps)),
            text("tt:BitrateLimit", e.bitrate_kbps),
            ConstantBitRate="false",
        ),
        multicast_off(),
        text("tt:Quality", float(e.quality)),
        token=token,
        GovLength=str(e.gov_length),
        Profile=H264_PROFILE,
    )


def _retag(node: etree._Element, local: str) -> etree._Element:
    node.tag = TR2 + local
    return node


def profile_element(call: Call, p: Profile, types: set[str]) -> etree._Element:
    configurations = None
    if types:
        configurations = el(
            "tr2:Configurations",
            _retag(source_configuration(call), "VideoSource") if "VideoSource" in types else None,
            encoder_configuration(call, p.encoder, "tr2:VideoEncoder") if "VideoEncoder" in types else None,
            _retag(ptz_configuration(), "PTZ") if "PTZ" in types else None,
        )
    return el("tr2:Profiles", text("tr2:Name", p.name), configurations, token=p.token, fixed="true")


def requested_types(body: etree._Element) -> set[str]:
    """The configuration types GetProfiles should include; none named means none (Media2's rule)."""
    asked = [(n.text or "").strip() for n in body if isinstance(n.tag, str) and etree.QName(n).localname == "Type"]
    unknown = [t for t in asked if t not in ALL_TYPES]
    if unknown:
        raise Fault("ter:InvalidArgVal", f"Type {unknown[0]!r} is unknown; allowed are {', '.join(ALL_TYPES)}")
    return set(CONFIGURATION_TYPES) if "All" in asked else set(asked)


def _profiles_for(body: etree._Element) -> tuple[Profile, ...]:
    token = child_text(body, "ProfileToken")
    return PROFILES if token is None else (profile(token),)


def _check_source_filter(body: etree._Element) -> None:
    """Faults for an unknown ConfigurationToken or ProfileToken; every profile holds the one source."""
    token = child_text(body, "ConfigurationToken")
    if token not in (None, SOURCE_CONFIG):
        raise Fault("ter:NoConfig", f"ConfigurationToken {token!r} is unknown; the source is {SOURCE_CONFIG}")
    _profiles_for(body)


def register(reg: Registry) -> None:
    add = reg.add

    @add("media2", "GetServiceCapabilities", "pre")
    def _caps(call: Call, body: etree._Element) -> etree._Element:
        return el("tr2:GetServiceCapabilitiesResponse", capabilities())

    @add("media2", "GetProfiles", "read")
    def _profiles(call: Call, body: etree._Element) -> etree._Element:
        token = child_text(body, "Token")
        chosen = PROFILES if token is None else (profile(token),)
        types = requested_types(body)
        return el("tr2:GetProfilesResponse", *(profile_element(call, p, types) for p in chosen))

    @add("media2", "GetVideoSourceConfigurations", "read")
    def _vscs(call: Call, body: etree._Element) -> etree._Element:
        _check_source_filter(body)
        return el("tr2:GetVideoSourceConfigurationsResponse", source_configuration(call, "tr2:Configurations"))

    @add("media2", "GetVideoSourceConfigurationOptions", "read")
    def _vsc_options(call: Call, body: etree._Element) -> etree._Element:
        _check_source_filter(body)
        widths = sorted(w for w, _ in RESOLUTIONS.values())
        heights = sorted(h for _, h in RESOLUTIONS.values())
        return el(
            "tr2:GetVideoSourceConfigurationOptionsResponse",
            el(
                "tr2:Options",
                el(
                    "tt:BoundsRange",
                    _range("tt:XRange", 0, 0),
                    _range("tt:YRange", 0, 0),
                    _range("tt:WidthRange", widths[0], widths[-1]),
                    _range("tt:HeightRange", heights[0], heights[-1]),
                ),
                text("tt:VideoSourceTokensAvailable", SOURCE),
                MaximumNumberOfProfiles=str(len(PROFILES)),
            ),
        )

    @add("media2", "GetVideoEncoderConfigurations", "read")
    def _vecs(call: Call, body: etree._Element) -> etree._Element:
        token = child_text(body, "ConfigurationToken")
        tokens = [p.encoder for p in _profiles_for(body)]
        if token is not None:
            tokens = [t for t in tokens if t == encoder_token(token)]
        nodes = (encoder_configuration(call, t, "tr2:Configurations") for t in tokens)
        return el("tr2:GetVideoEncoderConfigurationsResponse", *nodes)

    @add("media2", "GetVideoEncoderConfigurationOptions", "read")
    def _vec_options(call: Call, body: etree._Element) -> etree._Element:
        token = options_token(body)
        rates = " ".join(f"{float(f):g}" for f in encoder_rates(call, token))
        bitrate = encoder(call, token).bitrate_kbps  # fixed per encoder: the range is that one value
        return el(
            "tr2:GetVideoEncoderConfigurationOptionsResponse",
            el(
                "tr2:Options",
                text("tt:Encoding", "H264"),
                el("tt:QualityRange", text("tt:Min", 1.0), text("tt:Max", 100.0)),
                *(
                    el("tt:ResolutionsAvailable", text("tt:Width", w), text("tt:Height", h))
                    for w, h in encoder_sizes(token)
                ),
                _range("tt:BitrateRange", bitrate, bitrate),
                GovLengthRange=f"{GOV_RANGE[0]} {GOV_RANGE[1]}",
                FrameRatesSupported=rates,
                ProfilesSupported=H264_PROFILE,
                ConstantBitRateSupported="false",
            ),
        )

    @add("media2", "SetVideoEncoderConfiguration", "write")
    def _set_vec(call: Call, body: etree._Element) -> etree._Element:
        call.write(encoder_writes(call, child(body, "Configuration")))
        return el("tr2:SetVideoEncoderConfigurationResponse")

    @add("media2", "GetStreamUri", "read")
    def _stream_uri(call: Call, body: etree._Element) -> etree._Element:
        protocol = child_text(body, "Protocol")
        if protocol not in STREAM_PROTOCOLS:
            raise Fault(
                "ter:InvalidStreamSetup",
                f"Protocol {protocol!r}: allowed are {', '.join(STREAM_PROTOCOLS)} "
                "(no multicast, no RTSP over HTTP tunnelling)",
            )
        p = profile(child_text(body, "ProfileToken"))
        return el("tr2:GetStreamUriResponse", text("tr2:Uri", stream_uri(call, p)))

    @add("media2", "GetSnapshotUri", "read")
    def _snapshot_uri(call: Call, body: etree._Element) -> etree._Element:
        profile(child_text(body, "ProfileToken"))
        return el("tr2:GetSnapshotUriResponse", text("tr2:Uri", snapshot_uri(call)))


def _range(tag: str, low: object, high: object) -> etree._Element:
    return el(tag, text("tt:Min", low), text("tt:Max", high))
