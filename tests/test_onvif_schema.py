"""Every ONVIF response the unit gives is valid against the WSDL/XSD files onvif-zeep-async ships."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree
from onvif import client as onvif_client

from roto_server.app import create_app
from roto_server.config import parse_config
from tests.onvif2_wsdl import media2_wsdl_tree
from tests.onvif_soap import envelope, security
from tests.server_process import ADMIN_PASSWORD, TOKEN

WSDL_DIR = Path(onvif_client.__file__).parent / "wsdl"
SERVICE_WSDLS = ("devicemgmt", "media", "ptz", "imaging", "events")
XS = "http://www.w3.org/2001/XMLSchema"
TR2 = "http://www.onvif.org/ver20/media/wsdl"

REQUESTS = [
    ("device_service", f"<tds:{op}/>")
    for op in (
        "GetSystemDateAndTime",
        "GetDeviceInformation",
        "GetCapabilities",
        "GetServiceCapabilities",
        "GetWsdlUrl",
        "GetHostname",
        "GetNetworkInterfaces",
        "GetScopes",
        "GetDNS",
        "GetNTP",
        "GetNetworkProtocols",
        "GetNetworkDefaultGateway",
        "GetUsers",
        "SystemReboot",
    )
] + [
    ("device_service", "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>"),
    ("media_service", "<trt:GetServiceCapabilities/>"),
    ("media_service", "<trt:GetProfiles/>"),
    ("media_service", "<trt:GetProfile><trt:ProfileToken>sub</trt:ProfileToken></trt:GetProfile>"),
    ("media_service", "<trt:GetVideoSources/>"),
    ("media_service", "<trt:GetVideoSourceConfigurations/>"),
    (
        "media_service",
        "<trt:GetVideoSourceConfiguration><trt:ConfigurationToken>vsc0</trt:ConfigurationToken>"
        "</trt:GetVideoSourceConfiguration>",
    ),
    ("media_service", "<trt:GetVideoEncoderConfigurations/>"),
    (
        "media_service",
        "<trt:GetVideoEncoderConfiguration><trt:ConfigurationToken>vec_main</trt:ConfigurationToken>"
        "</trt:GetVideoEncoderConfiguration>",
    ),
    (
        "media_service",
        "<trt:GetVideoEncoderConfigurationOptions><trt:ConfigurationToken>vec_main"
        "</trt:ConfigurationToken></trt:GetVideoEncoderConfigurationOptions>",
    ),
    (
        "media_service",
        "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport>"
        "<tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
        "<trt:ProfileToken>main</trt:ProfileToken></trt:GetStreamUri>",
    ),
    ("media_service", "<trt:GetSnapshotUri><trt:ProfileToken>main</trt:ProfileToken></trt:GetSnapshotUri>"),
    ("media_service", "<trt:GetAudioSources/>"),
    ("media_service", "<trt:GetOSDs/>"),
    ("media_service", "<trt:GetOSDOptions><trt:ConfigurationToken>vsc0</trt:ConfigurationToken></trt:GetOSDOptions>"),
    ("ptz_service", "<tptz:GetServiceCapabilities/>"),
    ("ptz_service", "<tptz:GetNodes/>"),
    ("ptz_service", "<tptz:GetConfigurations/>"),
    (
        "ptz_service",
        "<tptz:GetConfigurationOptions><tptz:ConfigurationToken>ptz0</tptz:ConfigurationToken>"
        "</tptz:GetConfigurationOptions>",
    ),
    (
        "ptz_service",
        "<tptz:SetPreset><tptz:ProfileToken>main</tptz:ProfileToken>"
        "<tptz:PresetName>door</tptz:PresetName></tptz:SetPreset>",
    ),
    ("ptz_service", "<tptz:GetPresets><tptz:ProfileToken>main</tptz:ProfileToken></tptz:GetPresets>"),
    ("ptz_service", "<tptz:GetStatus><tptz:ProfileToken>main</tptz:ProfileToken></tptz:GetStatus>"),
    (
        "ptz_service",
        "<tptz:AbsoluteMove><tptz:ProfileToken>main</tptz:ProfileToken><tptz:Position>"
        '<tt:Zoom x="0.25"/></tptz:Position></tptz:AbsoluteMove>',
    ),
    ("imaging_service", "<timg:GetServiceCapabilities/>"),
    (
        "imaging_service",
        "<timg:GetImagingSettings><timg:VideoSourceToken>head</timg:VideoSourceToken></timg:GetImagingSettings>",
    ),
    ("imaging_service", "<timg:GetOptions><timg:VideoSourceToken>head</timg:VideoSourceToken></timg:GetOptions>"),
    (
        "imaging_service",
        "<timg:GetMoveOptions><timg:VideoSourceToken>head</timg:VideoSourceToken></timg:GetMoveOptions>",
    ),
    ("event_service", "<tev:GetServiceCapabilities/>"),
    ("event_service", "<tev:GetEventProperties/>"),
    (
        "event_service",
        "<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT30S"
        "</tev:InitialTerminationTime></tev:CreatePullPointSubscription>",
    ),
    (
        "event_service/subscription/1",
        "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>20</tev:MessageLimit></tev:PullMessages>",
    ),
    ("event_service/subscription/1", "<wsnt:Renew><wsnt:TerminationTime>PT60S</wsnt:TerminationTime></wsnt:Renew>"),
    ("event_service/subscription/1", "<tev:SetSynchronizationPoint/>"),
    ("event_service/subscription/1", "<wsnt:Unsubscribe/>"),
]


MEDIA2_CONFIG = (
    '<tr2:Configuration token="vec_main"><tt:Name>Main H.264</tt:Name><tt:UseCount>1</tt:UseCount>'
    "<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>1280</tt:Width><tt:Height>720</tt:Height>"
    "</tt:Resolution><tt:Quality>70</tt:Quality></tr2:Configuration>"
)
MEDIA2_REQUESTS = [
    "<tr2:GetServiceCapabilities/>",
    "<tr2:GetProfiles/>",
    "<tr2:GetProfiles><tr2:Type>All</tr2:Type></tr2:GetProfiles>",
    "<tr2:GetProfiles><tr2:Token>sub</tr2:Token><tr2:Type>VideoEncoder</tr2:Type><tr2:Type>PTZ</tr2:Type>"
    "</tr2:GetProfiles>",
    "<tr2:GetStreamUri><tr2:Protocol>RtspUnicast</tr2:Protocol><tr2:ProfileToken>main</tr2:ProfileToken>"
    "</tr2:GetStreamUri>",
    "<tr2:GetSnapshotUri><tr2:ProfileToken>sub</tr2:ProfileToken></tr2:GetSnapshotUri>",
    "<tr2:GetVideoSourceConfigurations/>",
    "<tr2:GetVideoSourceConfigurationOptions/>",
    "<tr2:GetVideoEncoderConfigurations/>",
    "<tr2:GetVideoEncoderConfigurations><tr2:ProfileToken>main</tr2:ProfileToken></tr2:GetVideoEncoderConfigurations>",
    "<tr2:GetVideoEncoderConfigurationOptions/>",
    "<tr2:GetVideoEncoderConfigurationOptions><tr2:ProfileToken>sub</tr2:ProfileToken>"
    "</tr2:GetVideoEncoderConfigurationOptions>",
    f"<tr2:SetVideoEncoderConfiguration>{MEDIA2_CONFIG}</tr2:SetVideoEncoderConfiguration>",
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> etree.XMLSchema:
    """One schema importing the types of every service WSDL (lifted out next to onvif.xsd)."""
    folder = tmp_path_factory.mktemp("xsd")
    shutil.copytree(WSDL_DIR, folder, dirs_exist_ok=True)
    imports = []
    for name in SERVICE_WSDLS:
        wsdl = etree.parse(str(folder / f"{name}.wsdl"))
        for index, found in enumerate(wsdl.iter(f"{{{XS}}}schema")):
            path = folder / f"{name}-{index}.xsd"
            path.write_bytes(etree.tostring(found))
            imports.append(f'<xs:import namespace="{found.get("targetNamespace")}" schemaLocation="{path.name}"/>')
    master = folder / "all.xsd"
    master.write_text(f'<xs:schema xmlns:xs="{XS}">{"".join(imports)}</xs:schema>')
    return etree.XMLSchema(etree.parse(str(master)))


async def test_every_response_is_valid(tmp_path: Path, schema: etree.XMLSchema) -> None:
    config = parse_config(
        ["--host", "127.0.0.1", "--data-dir", str(tmp_path), "--api-token", TOKEN, "--admin-password", ADMIN_PASSWORD]
    )
    app = create_app(config, name="roto_onvif_schema")
    for path, body in REQUESTS:
        _, res = await app.asgi_client.post(f"/onvif/{path}", content=envelope(body, security("admin", ADMIN_PASSWORD)))
        assert res.status == 200, (body, res.body[:600])
        answer = etree.fromstring(res.body)
        payload = answer.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]
        alone = etree.fromstring(etree.tostring(payload))
        assert schema.validate(alone), (body, str(schema.error_log))


@pytest.fixture(scope="module")
def media2_schema(tmp_path_factory: pytest.TempPathFactory) -> etree.XMLSchema:
    """The types of the ver20 media WSDL, lifted out beside it so its relative imports of onvif.xsd resolve.

    The 20.06 onvif.xsd/common.xsd put open wildcards (any namespace, or ONVIF's own) after optional
    elements, an ambiguity libxml2 refuses to compile; in this copy those wildcards admit other namespaces
    only. That makes the check stricter for roto's answers, never looser: every element they hold is declared.
    """
    folder = tmp_path_factory.mktemp("wsdl2")
    shutil.copytree(media2_wsdl_tree(), folder, dirs_exist_ok=True)
    for name in ("common.xsd", "onvif.xsd"):
        path = folder / "ver10" / "schema" / name
        tree = etree.parse(str(path))
        _narrow_wildcards(tree.getroot())
        tree.write(str(path))
    wsdl = folder / "ver20" / "media" / "wsdl" / "media.wsdl"
    found = next(etree.parse(str(wsdl)).iter(f"{{{XS}}}schema"))
    _narrow_wildcards(found)
    lifted = wsdl.with_name("media2.xsd")
    lifted.write_bytes(etree.tostring(found))
    return etree.XMLSchema(etree.parse(str(lifted)))


def _narrow_wildcards(root: etree._Element) -> None:
    for wildcard in root.iter(f"{{{XS}}}any"):
        if wildcard.get("namespace", "##any") in ("##any", "##targetNamespace"):
            wildcard.set("namespace", "##other")


def _payload(body: bytes) -> etree._Element:
    answer = etree.fromstring(body)
    return etree.fromstring(etree.tostring(answer.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]))


async def test_every_media2_response_is_valid(tmp_path: Path, media2_schema: etree.XMLSchema) -> None:
    config = parse_config(
        ["--host", "127.0.0.1", "--data-dir", str(tmp_path), "--api-token", TOKEN, "--admin-password", ADMIN_PASSWORD]
    )
    app = create_app(config, name="roto_onvif_media2_schema")
    for body in MEDIA2_REQUESTS:
        request = envelope(body, security("admin", ADMIN_PASSWORD))
        _, res = await app.asgi_client.post("/onvif/media2_service", content=request)
        assert res.status == 200, (body, res.body[:600])
        payload = _payload(res.body)
        assert etree.QName(payload).namespace == TR2, body
        assert media2_schema.validate(payload), (body, str(media2_schema.error_log))
    # the capabilities GetServices carries for Media2 are the same valid element
    ask = "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>"
    _, res = await app.asgi_client.post("/onvif/device_service", content=envelope(ask))
    caps = _payload(res.body).find(f".//{{{TR2}}}Capabilities")
    assert caps is not None and media2_schema.validate(etree.fromstring(etree.tostring(caps))), res.body[:600]


def test_the_media2_schema_check_has_teeth(media2_schema: etree.XMLSchema) -> None:
    # a Media2 profile's Name is in the tr2 namespace; ver10's tt:Name there (a mistake made once) is refused
    tt = "http://www.onvif.org/ver10/schema"
    wrong = etree.fromstring(
        f'<GetProfilesResponse xmlns="{TR2}" xmlns:tt="{tt}"><Profiles token="main"><tt:Name>MainStream</tt:Name>'
        "</Profiles></GetProfilesResponse>"
    )
    assert not media2_schema.validate(wrong)
    right = etree.fromstring(
        f'<GetProfilesResponse xmlns="{TR2}"><Profiles token="main"><Name>MainStream</Name></Profiles>'
        "</GetProfilesResponse>"
    )
    assert media2_schema.validate(right), str(media2_schema.error_log)


def test_the_schema_check_has_teeth(schema: etree.XMLSchema) -> None:
    tds = "http://www.onvif.org/ver10/device/wsdl"
    broken = etree.fromstring(
        f'<GetDeviceInformationResponse xmlns="{tds}"><Manufacturer>x</Manufacturer></GetDeviceInformationResponse>'
    )
    assert not schema.validate(broken)
