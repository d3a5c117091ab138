"""ONVIF through real clients: Home Assistant's onvif-zeep-async in its call order, the seed's example, onveef."""

from __future__ import annotations

import datetime as real_dt
import shutil
import socket
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from onvif import ONVIFCamera
from onvif import client as onvif_client
from zeep.exceptions import Fault

from tests.media_files import first_stream, probe_rtsp, wait_for
from tests.server_process import ADMIN_PASSWORD, TOKEN, ServerProcess

WSDL_DIR = str(Path(onvif_client.__file__).parent / "wsdl")
SKEW = real_dt.timedelta(minutes=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("onvif"))
    yield proc
    proc.stop()


@pytest.fixture
def skewed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's clock 10 minutes behind: its UsernameToken is only accepted after it corrects itself."""

    class SkewedDatetime(real_dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return real_dt.datetime.now(tz) - SKEW

    shim = types.SimpleNamespace(**{k: getattr(real_dt, k) for k in dir(real_dt) if not k.startswith("__")})
    shim.datetime = SkewedDatetime
    monkeypatch.setattr(onvif_client, "dt", shim)


def camera(server: ServerProcess, user: str = "admin", password: str = ADMIN_PASSWORD) -> ONVIFCamera:
    # as Home Assistant builds it: the bundled WSDLs, and the clock corrected by GetSystemDateAndTime
    return ONVIFCamera("127.0.0.1", server.port, user, password, WSDL_DIR, no_cache=True, adjust_time=True)


async def test_home_assistant_call_order(server: ServerProcess, skewed_clock: None) -> None:
    cam = camera(server)
    try:
        await cam.update_xaddrs()  # authless GetSystemDateAndTime, then GetServices
        assert abs(cam.dt_diff - SKEW) < real_dt.timedelta(seconds=5)  # the client learned its clock is off
        devicemgmt = await cam.create_devicemgmt_service()
        clock = await devicemgmt.GetSystemDateAndTime()
        assert clock.UTCDateTime.Date.Year >= 2024
        info = await devicemgmt.GetDeviceInformation()
        assert info.FirmwareVersion == server.state("swVersion")["swVersion"]
        assert info.SerialNumber
        interfaces = await devicemgmt.GetNetworkInterfaces()
        mac = server.state("macAddr")["macAddr"]
        if mac:
            assert any(i.Info.HwAddress == mac for i in interfaces)
        caps = await devicemgmt.GetCapabilities({"Category": "All"})
        assert caps.Events.WSPullPointSupport is True

        media = await cam.create_media_service()
        media_caps = await media.GetServiceCapabilities()
        assert media_caps.SnapshotUri is True
        profiles = await media.GetProfiles()
        h264 = [p for p in profiles if p.VideoEncoderConfiguration.Encoding == "H264"]
        assert [p.token for p in h264] == ["main", "sub"]
        uri = await media.GetStreamUri(
            {"ProfileToken": "main", "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}}
        )
        rtsp_port = server.state("rtspStatus")["rtspStatus"]["port"]  # the port really served
        assert uri.Uri == f"rtsp://127.0.0.1:{rtsp_port}/stream1"
        snapshot = await cam.get_snapshot("main")
        assert snapshot is not None and snapshot[:2] == b"\xff\xd8"

        ptz = await cam.create_ptz_service()
        assert await ptz.GetPresets({"ProfileToken": "main"}) == []
        status = await ptz.GetStatus({"ProfileToken": "main"})
        assert status.Position.Zoom.x == 0.0
        await ptz.AbsoluteMove({"ProfileToken": "main", "Position": {"Zoom": {"x": 0.5}}})
        assert server.state("zoom0")["zoom0"] == 15712

        imaging = await cam.create_imaging_service()
        await imaging.SetImagingSettings(
            {"VideoSourceToken": "head", "ImagingSettings": {"Brightness": 3.0, "Exposure": {"Mode": "MANUAL"}}}
        )
        assert server.state("brightness", "exposure") == {"brightness": 3, "exposure": False}

        # Home Assistant's pull-point manager: CreatePullPointSubscription with an absolute termination time
        manager = await cam.create_pullpoint_manager(real_dt.timedelta(seconds=60), lambda: None)
        pullpoint = manager.get_service()
        assert pullpoint.xaddr.startswith(f"http://127.0.0.1:{server.port}/onvif/event_service/subscription/")
        first = await pullpoint.PullMessages({"Timeout": "PT1S", "MessageLimit": 100})
        assert {m.Message._value_1.PropertyOperation for m in first.NotificationMessage} == {"Initialized"}
        assert server.post({"light0": False}, auth=("admin", ADMIN_PASSWORD)).ok
        changed = await pullpoint.PullMessages({"Timeout": "PT5S", "MessageLimit": 10})
        assert [m.Topic._value_1 for m in changed.NotificationMessage] == ["tns1:Roto/Light"]
        await manager.shutdown()
    finally:
        await cam.close()


async def test_skewed_clock_without_correction_is_refused(server: ServerProcess, skewed_clock: None) -> None:
    cam = camera(server)
    cam.adjust_time = False
    try:
        await cam.update_xaddrs()
        devicemgmt = await cam.create_devicemgmt_service()
        with pytest.raises(Fault) as caught:
            await devicemgmt.GetDeviceInformation()
        assert "NotAuthorized" in str(caught.value.subcodes) or "300 s" in str(caught.value.message)
    finally:
        await cam.close()


async def test_the_seeds_example(server: ServerProcess) -> None:
    """Spec 001's onvif-zeep example: ONVIFCamera(host, port, user, password), device info, profiles."""
    cam = ONVIFCamera("127.0.0.1", server.port, "admin", ADMIN_PASSWORD)
    try:
        await cam.update_xaddrs()
        info = await (await cam.create_devicemgmt_service()).GetDeviceInformation()
        assert info.Manufacturer == "roto"
        profiles = await (await cam.create_media_service()).GetProfiles()
        assert len(profiles) == 2
    finally:
        await cam.close()


async def test_wrong_password_is_a_fault(server: ServerProcess) -> None:
    cam = camera(server, password="not-it")
    try:
        await cam.update_xaddrs()  # pre-auth operations only
        with pytest.raises(Fault) as caught:
            await (await cam.create_devicemgmt_service()).GetDeviceInformation()
        assert any("NotAuthorized" in str(code) for code in caught.value.subcodes or [])
    finally:
        await cam.close()


async def test_continuous_move_runs_until_stop(server: ServerProcess) -> None:
    """A real server process: the move's ticker lives on the server's loop between requests."""
    cam = camera(server)
    try:
        await cam.update_xaddrs()
        ptz = await cam.create_ptz_service()
        await ptz.GotoHomePosition({"ProfileToken": "main"})
        await ptz.ContinuousMove({"ProfileToken": "main", "Velocity": {"Zoom": {"x": 0.5}}, "Timeout": "PT10S"})
        wait_for(lambda: server.state("zoom0")["zoom0"] > 0, timeout=5, what="zoom moving")
        await ptz.Stop({"ProfileToken": "main"})
        stopped = server.state("zoom0")["zoom0"]
        status = await ptz.GetStatus({"ProfileToken": "main"})
        assert status.MoveStatus.Zoom == "IDLE"
        assert server.state("zoom0")["zoom0"] == stopped  # nothing moves after Stop
    finally:
        await cam.close()


def _rtsp_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


async def test_stream_uri_opens_with_ffprobe(server: ServerProcess) -> None:
    cam = camera(server, "API-User", TOKEN)
    try:
        await cam.update_xaddrs()
        media = await cam.create_media_service()
        uri = (
            await media.GetStreamUri(
                {"ProfileToken": "main", "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}}
            )
        ).Uri
    finally:
        await cam.close()
    port = int(uri.rsplit(":", 1)[1].split("/", 1)[0])
    assert _rtsp_listening(port), f"nothing listens on the RTSP port {port} the stream URI names"
    assert shutil.which("ffprobe"), "ffprobe is needed"
    authed = uri.replace("rtsp://", f"rtsp://API-User:{TOKEN}@", 1)
    assert first_stream(probe_rtsp(authed, "tcp", "codec_name"))["codec_name"] == "h264"


def test_no_credentials_get_a_digest_challenge(server: ServerProcess) -> None:
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    )
    res = requests.post(server.url("/onvif/device_service"), data=body, timeout=5)
    assert res.status_code == 401
    assert res.headers["WWW-Authenticate"].startswith("Digest ")
    digest = requests.post(
        server.url("/onvif/device_service"),
        data=body,
        timeout=5,
        auth=requests.auth.HTTPDigestAuth("admin", ADMIN_PASSWORD),
    )
    assert digest.status_code == 200 and b"FirmwareVersion" in digest.content
    unknown = requests.post(
        server.url("/onvif/device_service"), data=body.replace("GetDeviceInformation", "Frobnicate"), timeout=5
    )
    assert unknown.status_code == 400 and b"ter:ActionNotSupported" in unknown.content


def test_onveef_a_second_independent_client(server: ServerProcess) -> None:
    """onveef builds its own envelopes (no zeep, no WSDL): device info, profiles and the stream URI."""
    from onveef import OnvifClient

    with OnvifClient("127.0.0.1", server.port, "admin", ADMIN_PASSWORD) as cam:
        info = cam.get_device_information()
        assert info["Manufacturer"] == "roto" and info["FirmwareVersion"]
        profiles = cam.get_profiles()
        assert [p["token"] for p in profiles] == ["main", "sub"]
        uri = cam.get_stream_uri(profile_token="sub")
        assert uri.endswith(f":{server.state('rtspStatus')['rtspStatus']['port']}/stream2")


def test_https_serves_onvif_with_https_xaddrs(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, ["--https-port", "0"])
    try:
        port = server.state("httpsStatus")["httpsStatus"]["port"]
        body = (
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            '<GetCapabilities xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
        )
        res = requests.post(f"https://127.0.0.1:{port}/onvif/device_service", data=body, timeout=5, verify=False)
        assert res.status_code == 200
        assert f"<tt:XAddr>https://127.0.0.1:{port}/onvif/media_service</tt:XAddr>" in res.text
    finally:
        server.stop()
