"""ONVIF Media2 (ver20) through independent clients: onvif2-zeep (zeep with the ONVIF ver20 WSDL), onvif-zeep-async.

One in-process server with --anonymous-read, so a client without credentials is a viewer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from onvif import ONVIFCamera as AsyncCamera
from onvif import client as onvif_client
from onvif2 import ONVIFCamera, ONVIFError
from zeep.exceptions import Fault

from tests.inprocess import InProcessServer
from tests.media_files import first_stream, probe_rtsp
from tests.onvif2_wsdl import media2_wsdl_tree
from tests.onvif_soap import envelope, security
from tests.server_process import ADMIN_PASSWORD, TOKEN

TR2 = "http://www.onvif.org/ver20/media/wsdl"
SETTINGS = ("recordingResolution", "recordingFps", "recordingPictureQuality")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    proc = InProcessServer(tmp_path_factory.mktemp("media2"), ["--anonymous-read"])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def media2(server: InProcessServer) -> Any:
    cam = ONVIFCamera("127.0.0.1", server.port, "API-User", TOKEN, wsdl_dir=str(media2_wsdl_tree()), no_cache=True)
    return cam.create_media2_service()


@pytest.fixture
def restore(server: InProcessServer) -> Iterator[None]:
    before = server.state(*SETTINGS)
    yield
    assert server.post(before, auth=("admin", ADMIN_PASSWORD)).ok


def refused(operation: Any, *args: Any) -> Fault:
    """The SOAP fault an onvif2 call got (onvif2 wraps zeep's Fault in its own ONVIFError)."""
    with pytest.raises(ONVIFError) as caught:
        operation(*args)
    fault = caught.value.__context__
    assert isinstance(fault, Fault), caught.value
    return fault


def _raw(server: InProcessServer, body: str) -> requests.Response:
    """A Media2 request without credentials: a viewer, since the server allows anonymous reads."""
    return requests.post(server.url("/onvif/media2_service"), data=envelope(body), timeout=10)


def test_profiles_carry_configurations_only_when_asked(server: InProcessServer, media2: Any) -> None:
    bare = media2.GetProfiles()
    assert [(p.token, p.Name, p.Configurations) for p in bare] == [
        ("main", "MainStream", None),
        ("sub", "SubStream", None),
    ]
    full = media2.GetProfiles({"Type": ["All"]})
    main = full[0].Configurations
    width, height = {"4K": (3840, 2160), "FullHD": (1920, 1080), "HD": (1280, 720)}[
        server.state("recordingResolution")["recordingResolution"]
    ]
    assert (main.VideoEncoder.Encoding, main.VideoEncoder.Resolution.Width) == ("H264", width)
    assert main.VideoEncoder.Resolution.Height == height
    assert main.VideoEncoder.RateControl.FrameRateLimit == server.state("recordingFps")["recordingFps"]
    assert main.VideoSource.SourceToken == "head" and main.PTZ.NodeToken
    assert full[1].Configurations.VideoEncoder.Resolution.Width == 640
    only = media2.GetProfiles({"Token": "sub", "Type": ["VideoEncoder"]})
    assert [p.token for p in only] == ["sub"]
    assert only[0].Configurations.VideoSource is None and only[0].Configurations.VideoEncoder.token == "vec_sub"
    fault = refused(media2.GetProfiles, {"Type": ["Telepathy"]})
    assert "Type" in fault.message and "VideoEncoder" in fault.message


def test_stream_uri_opens_with_ffprobe(server: InProcessServer, media2: Any) -> None:
    port = server.state("rtspStatus")["rtspStatus"]["port"]
    for protocol in ("RtspUnicast", "RTSP"):
        uri = media2.GetStreamUri({"Protocol": protocol, "ProfileToken": "main"})
        assert uri == f"rtsp://127.0.0.1:{port}/stream1", protocol  # the same URI as Media ver10
    assert media2.GetStreamUri({"Protocol": "RTSP", "ProfileToken": "sub"}).endswith("/stream2")
    for wrong in ("RtspOverHttp", "RtspMulticast", "HTTP"):
        fault = refused(media2.GetStreamUri, {"Protocol": wrong, "ProfileToken": "main"})
        assert "Protocol" in fault.message and "RtspUnicast, RTSP" in fault.message, wrong
    assert shutil.which("ffprobe"), "ffprobe is needed"
    authed = uri.replace("rtsp://", f"rtsp://API-User:{TOKEN}@", 1)
    for transport in ("udp", "tcp"):  # RtspUnicast is RTP over UDP, RTSP is RTP inside the RTSP connection
        stream = first_stream(probe_rtsp(authed, transport, "codec_name,profile"))
        assert stream["codec_name"] == "h264", transport
        h264_profile = stream["profile"]
    # the H.264 profile the encoder configuration names is the one the stream has (constrained baseline)
    named = media2.GetProfiles({"Token": "main", "Type": ["VideoEncoder"]})[0].Configurations.VideoEncoder.Profile
    assert named in h264_profile.split(), (named, h264_profile)


def test_snapshot_uri_serves_a_jpeg(server: InProcessServer, media2: Any) -> None:
    uri = media2.GetSnapshotUri({"ProfileToken": "main"})
    assert uri == server.url("/camera.jpeg")
    picture = requests.get(uri, auth=requests.auth.HTTPDigestAuth("API-User", TOKEN), timeout=10)
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    fault = refused(media2.GetSnapshotUri, {"ProfileToken": "third"})
    assert "ProfileToken" in fault.message


def test_encoder_options_and_configurations(server: InProcessServer, media2: Any) -> None:
    options = media2.GetVideoEncoderConfigurationOptions({"ConfigurationToken": "vec_main"})
    assert [o.Encoding for o in options] == ["H264"]
    sizes = {(r.Width, r.Height) for r in options[0].ResolutionsAvailable}
    assert sizes == {(3840, 2160), (1920, 1080), (1280, 720)}
    assert 30.0 in options[0].FrameRatesSupported
    sub = media2.GetVideoEncoderConfigurationOptions({"ProfileToken": "sub"})
    assert [(r.Width, r.Height) for r in sub[0].ResolutionsAvailable] == [(640, 360)]
    configs = media2.GetVideoEncoderConfigurations()
    assert [c.token for c in configs] == ["vec_main", "vec_sub"]
    assert [c.token for c in media2.GetVideoEncoderConfigurations({"ProfileToken": "sub"})] == ["vec_sub"]
    sources = media2.GetVideoSourceConfigurations()
    assert [(s.token, s.SourceToken) for s in sources] == [("vsc0", "head")]
    bounds = media2.GetVideoSourceConfigurationOptions().BoundsRange
    assert (bounds.WidthRange.Min, bounds.WidthRange.Max) == (1280, 3840)


def test_set_encoder_changes_the_recording_settings(server: InProcessServer, media2: Any, restore: None) -> None:
    config = media2.GetVideoEncoderConfigurations({"ConfigurationToken": "vec_main"})[0]
    target = "HD" if server.state("recordingResolution")["recordingResolution"] != "HD" else "FullHD"
    config.Resolution.Width, config.Resolution.Height = {"HD": (1280, 720), "FullHD": (1920, 1080)}[target]
    config.Quality = 42.0
    media2.SetVideoEncoderConfiguration({"Configuration": config})
    assert server.state("recordingResolution", "recordingPictureQuality") == {
        "recordingResolution": target,
        "recordingPictureQuality": 42,
    }
    after = media2.GetProfiles({"Token": "main", "Type": ["VideoEncoder"]})[0].Configurations.VideoEncoder
    assert (after.Resolution.Width, after.Quality) == (config.Resolution.Width, 42.0)


def test_wrong_values_are_faults_naming_the_field_and_change_nothing(
    server: InProcessServer, media2: Any, restore: None
) -> None:
    before = server.state(*SETTINGS)
    config = media2.GetVideoEncoderConfigurations({"ConfigurationToken": "vec_main"})[0]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Resolution", {"Resolution": {"Width": 1000, "Height": 1000}}),
        ("FrameRateLimit", {"RateControl": {"FrameRateLimit": 7.5, "BitrateLimit": 8000}, "Quality": 10.0}),
        ("Quality", {"Quality": 250.0, "Resolution": {"Width": 1280, "Height": 720}}),  # the size is not applied
        ("Encoding", {"Encoding": "H265"}),
    ]
    for field, change in cases:
        fresh = media2.GetVideoEncoderConfigurations({"ConfigurationToken": "vec_main"})[0]
        for key, value in change.items():
            setattr(fresh, key, value)
        fault = refused(media2.SetVideoEncoderConfiguration, {"Configuration": fresh})
        assert field in fault.message, (field, fault.message)
        assert server.state(*SETTINGS) == before, field
    config.token = "vec_third"
    fault = refused(media2.SetVideoEncoderConfiguration, {"Configuration": config})
    assert "ConfigurationToken" in fault.message and "vec_main" in fault.message
    config.token = "vec_sub"
    fault = refused(media2.SetVideoEncoderConfiguration, {"Configuration": config})  # the sub stream's size is fixed
    assert "640x360" in fault.message
    assert server.state(*SETTINGS) == before


def test_a_viewer_reads_but_cannot_set(server: InProcessServer) -> None:
    before = server.state(*SETTINGS)
    assert _raw(server, "<tr2:GetProfiles/>").status_code == 200
    change = (
        '<tr2:SetVideoEncoderConfiguration><tr2:Configuration token="vec_main"><tt:Name>x</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>1280</tt:Width>"
        "<tt:Height>720</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality></tr2:Configuration>"
        "</tr2:SetVideoEncoderConfiguration>"
    )
    refused = _raw(server, change)
    assert refused.status_code == 400 and b"ter:NotAuthorized" in refused.content
    assert b"operators and admins only" in refused.content
    assert server.state(*SETTINGS) == before


def test_unimplemented_operations_are_action_not_supported(server: InProcessServer) -> None:
    for op in ("CreateOSD", "GetAudioDecoderConfigurations", "Frobnicate"):
        answer = _raw(server, f"<tr2:{op}/>")
        assert answer.status_code == 400 and b"ter:ActionNotSupported" in answer.content, op
        assert f"{op} is not supported by the media2 service".encode() in answer.content


def test_capabilities_need_no_credentials(server: InProcessServer) -> None:
    body = requests.post(
        server.url("/onvif/media2_service"), data=envelope("<tr2:GetServiceCapabilities/>"), timeout=10
    ).content
    assert b'SnapshotUri="true"' in body and b'RTSPStreaming="true"' in body


async def test_onvif_zeep_async_finds_the_media2_xaddr(server: InProcessServer) -> None:
    cam = AsyncCamera(
        "127.0.0.1", server.port, "admin", ADMIN_PASSWORD, str(Path(onvif_client.__file__).parent / "wsdl")
    )
    try:
        await cam.update_xaddrs()  # GetServices
        assert cam.xaddrs[TR2] == server.url("/onvif/media2_service")
        devicemgmt = await cam.create_devicemgmt_service()
        services = await devicemgmt.GetServices({"IncludeCapability": False})
        media2 = [s for s in services if s.Namespace == TR2]
        assert [(s.XAddr, s.Version.Major) for s in media2] == [(server.url("/onvif/media2_service"), 2)]
    finally:
        await cam.close()


def test_malformed_requests_are_faults_naming_the_field(server: InProcessServer) -> None:
    before = server.state(*SETTINGS)
    config = '<tr2:Configuration token="vec_main"><tt:Encoding>H264</tt:Encoding>{}</tr2:Configuration>'
    cases = {
        "<tr2:SetVideoEncoderConfiguration/>": "Configuration",
        "<tr2:SetVideoEncoderConfiguration>"
        + config.format("<tt:Resolution><tt:Width>1280</tt:Width></tt:Resolution>")
        + "</tr2:SetVideoEncoderConfiguration>": "Resolution",
        "<tr2:SetVideoEncoderConfiguration>"
        + config.format("<tt:RateControl><tt:FrameRateLimit>fast</tt:FrameRateLimit></tt:RateControl>")
        + "</tr2:SetVideoEncoderConfiguration>": "FrameRateLimit",
        "<tr2:SetVideoEncoderConfiguration>"
        + config.format("<tt:Quality>nan</tt:Quality>")
        + "</tr2:SetVideoEncoderConfiguration>": "Quality",
        "<tr2:GetStreamUri><tr2:Protocol>RTSP</tr2:Protocol></tr2:GetStreamUri>": "ProfileToken",
        "<tr2:GetStreamUri><tr2:ProfileToken>main</tr2:ProfileToken></tr2:GetStreamUri>": "Protocol",
        "<tr2:GetProfiles><tr2:Token>third</tr2:Token></tr2:GetProfiles>": "ProfileToken",
        "<tr2:GetVideoEncoderConfigurations><tr2:ConfigurationToken>x</tr2:ConfigurationToken>"
        "</tr2:GetVideoEncoderConfigurations>": "ConfigurationToken",
        "<tr2:GetVideoSourceConfigurationOptions><tr2:ProfileToken>x</tr2:ProfileToken>"
        "</tr2:GetVideoSourceConfigurationOptions>": "ProfileToken",
        "<tr2:GetProfiles><!-- a comment --><?note here?><tr2:Type>Nothing</tr2:Type></tr2:GetProfiles>": "Type",
    }
    for body, field in cases.items():
        request = envelope(body, security("admin", ADMIN_PASSWORD))  # a fresh nonce each time
        answer = requests.post(server.url("/onvif/media2_service"), data=request, timeout=10)
        assert answer.status_code == 400 and b"s:Fault" in answer.content, body
        assert field.encode() in answer.content, (field, answer.content[-400:])
    assert server.state(*SETTINGS) == before


def test_onveef_reads_and_sets_through_media2(server: InProcessServer, restore: None) -> None:
    """onveef (zeep-free, its own envelopes) prefers Media2 for encoder configurations and options."""
    from onveef import OnvifClient

    with OnvifClient("127.0.0.1", server.port, "API-User", TOKEN) as cam:
        configs = cam.get_video_encoder_configurations()
        assert [c["token"] for c in configs] == ["vec_main", "vec_sub"]
        options = cam.get_video_encoder_options_normalized(configuration_token="vec_main", prefer="media2")
        assert [o["encoding"] for o in options] == ["H264"]
        assert options[0]["resolutions"][-1] == {"width": 1280, "height": 720}
        fps = 15 if server.state("recordingFps")["recordingFps"] != 15 else 10
        assert options[0]["fps"]["min"] <= fps <= options[0]["fps"]["max"]
        cam.set_video_encoder_configuration_media2(
            token="vec_main", name="Main", encoding="H264", width=1280, height=720, quality=None, fps=fps,
            bitrate_kbps=None, gop=None,
        )  # fmt: skip
    assert server.state("recordingFps", "recordingResolution") == {"recordingFps": fps, "recordingResolution": "HD"}
