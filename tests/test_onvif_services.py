"""ONVIF services in-process: authentication, roles, mapping onto the state, presets, subscriptions, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from roto_server.app import create_app
from roto_server.config import parse_config
from roto_server.device.store import Notice, Set
from roto_server.protocols.onvif.events import MAX_SUBSCRIPTIONS
from tests.onvif_soap import envelope, security
from tests.server_process import ADMIN_PASSWORD, TOKEN


def make_app(data_dir: Path, *extra: str) -> Sanic:
    args = [
        "--host",
        "127.0.0.1",
        "--data-dir",
        str(data_dir),
        "--api-token",
        TOKEN,
        "--admin-password",
        ADMIN_PASSWORD,
        *extra,
    ]
    return create_app(parse_config(args), name=f"roto_onvif_{abs(hash((str(data_dir), extra)))}")


async def soap(app: Sanic, service: str, body: str, header: str | None = None) -> Any:
    header = security("admin", ADMIN_PASSWORD) if header is None else header
    _, res = await app.asgi_client.post(f"/onvif/{service}", content=envelope(body, header))
    return res


async def test_ws_security_text_digest_replay_and_clock(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    ask = "<tds:GetDeviceInformation/>"
    assert (await soap(app, "device_service", ask, security("API-User", TOKEN, digest=False))).status == 200
    token = security("admin", ADMIN_PASSWORD, nonce=b"0123456789abcdef")
    assert (await soap(app, "device_service", ask, token)).status == 200
    replayed = await soap(app, "device_service", ask, token)
    assert replayed.status == 400 and b"ter:NotAuthorized" in replayed.body and b"already used" in replayed.body
    late = await soap(app, "device_service", ask, security("admin", ADMIN_PASSWORD, skew_s=400))
    assert late.status == 400 and b"300 s" in late.body
    within = await soap(app, "device_service", ask, security("admin", ADMIN_PASSWORD, skew_s=-290))
    assert within.status == 200


async def test_wrong_passwords_count_towards_the_one_lockout(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    for _ in range(5):
        wrong = await soap(app, "device_service", "<tds:GetDeviceInformation/>", security("admin", "nope"))
        assert wrong.status == 400 and b"ter:NotAuthorized" in wrong.body
    locked = await soap(app, "device_service", "<tds:GetDeviceInformation/>", security("admin", ADMIN_PASSWORD))
    assert locked.status == 429 and "Retry-After" in locked.headers
    # the same lockout holds on the C2 API: one Gate
    _, c2 = await app.asgi_client.get("/api", params={"get": "[swVersion]"}, auth=("admin", ADMIN_PASSWORD))
    assert c2.status == 429


async def test_pre_auth_operations_need_no_credentials_and_others_get_a_challenge(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    for service, op in (
        ("device_service", "tds:GetSystemDateAndTime"),
        ("device_service", "tds:GetCapabilities"),
        ("device_service", "tds:GetServices"),
        ("device_service", "tds:GetHostname"),
        ("device_service", "tds:GetWsdlUrl"),
        ("media_service", "trt:GetServiceCapabilities"),
    ):
        assert (await soap(app, service, f"<{op}/>", header="")).status == 200, op
    refused = await soap(app, "media_service", "<trt:GetProfiles/>", header="")
    assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Digest ")
    unknown = await soap(app, "ptz_service", "<tptz:Teleport/>")
    assert unknown.status == 400 and b"ter:ActionNotSupported" in unknown.body


async def test_viewers_read_but_never_change(tmp_path: Path) -> None:
    app = make_app(tmp_path, "--anonymous-read")
    assert (await soap(app, "media_service", "<trt:GetProfiles/>", header="")).status == 200
    move = (
        '<tptz:AbsoluteMove><tptz:ProfileToken>main</tptz:ProfileToken><tptz:Position><tt:Zoom x="1"/>'
        "</tptz:Position></tptz:AbsoluteMove>"
    )
    refused = await soap(app, "ptz_service", move, header="")
    assert refused.status == 400 and b"ter:NotAuthorized" in refused.body
    assert app.ctx.unit.store["zoom0"] == 0


async def test_imaging_maps_onto_the_state_all_or_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    store = app.ctx.unit.store
    source = "<timg:VideoSourceToken>head</timg:VideoSourceToken>"
    needs_manual = await soap(
        app,
        "imaging_service",
        f"<timg:SetImagingSettings>{source}<timg:ImagingSettings>"
        "<tt:Brightness>2</tt:Brightness></timg:ImagingSettings></timg:SetImagingSettings>",
    )
    assert needs_manual.status == 400 and b"Exposure/Mode MANUAL" in needs_manual.body
    out_of_range = await soap(
        app,
        "imaging_service",
        f"<timg:SetImagingSettings>{source}<timg:ImagingSettings>"
        "<tt:Exposure><tt:Mode>MANUAL</tt:Mode><tt:ExposureTime>5000000</tt:ExposureTime>"
        "</tt:Exposure></timg:ImagingSettings></timg:SetImagingSettings>",
    )
    assert out_of_range.status == 400 and b"Exposure/ExposureTime" in out_of_range.body
    assert store["exposure"] is True  # nothing half-applied
    ok = await soap(
        app,
        "imaging_service",
        f"<timg:SetImagingSettings>{source}<timg:ImagingSettings>"
        "<tt:Sharpness>9</tt:Sharpness><tt:Exposure><tt:Mode>MANUAL</tt:Mode>"
        "<tt:ExposureTime>2500</tt:ExposureTime></tt:Exposure></timg:ImagingSettings>"
        "</timg:SetImagingSettings>",
    )
    assert ok.status == 200
    assert (store["sharpness"], store["exposure"], store["expo"]) == (9, False, 2.5)


async def test_encoder_configuration_maps_to_recording_settings(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    config = (
        '<trt:SetVideoEncoderConfiguration><trt:Configuration token="vec_main"><tt:Name>m</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>{w}</tt:Width>"
        "<tt:Height>{h}</tt:Height></tt:Resolution><tt:Quality>40</tt:Quality><tt:RateControl>"
        "<tt:FrameRateLimit>15</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>"
        "<tt:BitrateLimit>4000</tt:BitrateLimit></tt:RateControl></trt:Configuration>"
        "<trt:ForcePersistence>true</trt:ForcePersistence></trt:SetVideoEncoderConfiguration>"
    )
    bad = await soap(app, "media_service", config.format(w=1000, h=1000))
    assert bad.status == 400 and b"1280x720" in bad.body
    assert (await soap(app, "media_service", config.format(w=1280, h=720))).status == 200
    store = app.ctx.unit.store
    assert (store["recordingResolution"], store["recordingFps"], store["recordingPictureQuality"]) == ("HD", 15, 40)


async def test_presets_persist_and_a_damaged_file_is_moved_aside(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    profile = "<tptz:ProfileToken>main</tptz:ProfileToken>"
    move = f'<tptz:AbsoluteMove>{profile}<tptz:Position><tt:Zoom x="0.5"/></tptz:Position></tptz:AbsoluteMove>'
    assert (await soap(app, "ptz_service", move)).status == 200
    made = await soap(
        app, "ptz_service", f"<tptz:SetPreset>{profile}<tptz:PresetName>door</tptz:PresetName></tptz:SetPreset>"
    )
    assert b"preset1" in made.body
    stored = json.loads((tmp_path / "onvif-presets.json").read_text())
    assert stored["preset1"]["name"] == "door" and stored["preset1"]["zoom"] == 0.5
    again = make_app(tmp_path)
    home = await soap(again, "ptz_service", f"<tptz:GotoHomePosition>{profile}</tptz:GotoHomePosition>")
    assert home.status == 200 and again.ctx.unit.store["zoom0"] == 0
    goto = await soap(
        again,
        "ptz_service",
        f"<tptz:GotoPreset>{profile}<tptz:PresetToken>preset1</tptz:PresetToken></tptz:GotoPreset>",
    )
    assert goto.status == 200 and again.ctx.unit.store["zoom0"] == 15712
    (tmp_path / "onvif-presets.json").write_text('{"preset1": {"name": 5}}')
    third = make_app(tmp_path)
    listed = await soap(third, "ptz_service", f"<tptz:GetPresets>{profile}</tptz:GetPresets>")
    assert listed.status == 200 and b"Preset " not in listed.body
    assert (tmp_path / "onvif-presets.json.damaged").exists()


async def test_subscriptions_are_bounded_and_bad_xml_is_a_fault(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    create = "<tev:CreatePullPointSubscription/>"
    for _ in range(MAX_SUBSCRIPTIONS):
        assert (await soap(app, "event_service", create)).status == 200
    full = await soap(app, "event_service", create)
    assert full.status == 400 and f"at most {MAX_SUBSCRIPTIONS}".encode() in full.body
    _, broken = await app.asgi_client.post("/onvif/device_service", content=b"<s:Envelope")
    assert broken.status == 400 and b"ter:WellFormed" in broken.body
    gone = await soap(
        app,
        "event_service/subscription/99",
        "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout><tev:MessageLimit>1</tev:MessageLimit></tev:PullMessages>",
    )
    assert gone.status == 400 and b"unknown or expired" in gone.body


@pytest.mark.parametrize("value", ["-1", "abc", "0"])
async def test_pull_messages_rejects_bad_limits(tmp_path: Path, value: str) -> None:
    app = make_app(tmp_path)
    await soap(app, "event_service", "<tev:CreatePullPointSubscription/>")
    res = await soap(
        app,
        "event_service/subscription/1",
        f"<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout>"
        f"<tev:MessageLimit>{value}</tev:MessageLimit></tev:PullMessages>",
    )
    assert res.status == 400 and b"MessageLimit" in res.body


def test_docs_mapping_table_is_generated_from_the_code() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "onvif_table.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


async def test_events_start_with_the_state_then_report_only_news(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    store = app.ctx.unit.store
    created = await soap(app, "event_service", "<tev:CreatePullPointSubscription/>")
    path = "event_service/subscription/" + created.body.split(b"/subscription/")[1].split(b"<")[0].decode()
    pull = (
        "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>100</tev:MessageLimit></tev:PullMessages>"
    )
    first = (await soap(app, path, pull)).body
    assert first.count(b'PropertyOperation="Initialized"') == 7  # every state topic; a tag is no state
    store.set_facts({"oct1": "74.5°C"})
    store.set_facts({"oct1": "75.0°C"})  # still too hot: no news
    store.set_facts({"recordingStorage": {"uuid": "u1", "available": False}})
    store.apply([Set("light0", not store["light0"])], "admin")
    store.announce(Notice("createTag", "tag 'spindle' created at 2026-05-01T13:45:00+00:00", "info"))
    news = (await soap(app, path, pull)).body
    assert news.count(b'PropertyOperation="Changed"') == 3
    assert b'Name="Critical" Value="true"' in news and b'Name="State" Value="lost"' in news
    assert b'Name="Head" Value="1"' in news and b'Name="Head" Value="0"' in news
    assert b"tns1:Roto/TagCreated" in news and b"spindle" in news
    gone = await soap(app, path, "<wsnt:Unsubscribe/>")
    assert gone.status == 200 and (await soap(app, path, pull)).status == 400


async def test_a_subscription_belongs_to_the_user_who_made_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    created = await soap(app, "event_service", "<tev:CreatePullPointSubscription/>")  # as admin
    path = "event_service/subscription/" + created.body.split(b"/subscription/")[1].split(b"<")[0].decode()
    pull = "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>9</tev:MessageLimit></tev:PullMessages>"
    renew = "<wsnt:Renew><wsnt:TerminationTime>PT60S</wsnt:TerminationTime></wsnt:Renew>"
    for request in (pull, renew, "<wsnt:Unsubscribe/>"):
        refused = await soap(app, path, request, security("API-User", TOKEN))
        assert refused.status == 400 and b"unknown or expired" in refused.body  # as if it did not exist
    first = await soap(app, path, pull)  # the owner's queue is untouched by the other's attempts
    assert first.status == 200 and first.body.count(b'PropertyOperation="Initialized"') == 7


async def test_entities_and_oversized_envelopes_are_refused_cleanly(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        b'<GetHostname xmlns="http://www.onvif.org/ver10/device/wsdl">&b;</GetHostname></s:Body></s:Envelope>'
    )
    _, res = await app.asgi_client.post("/onvif/device_service", content=bomb)
    assert res.status in (200, 400) and b"aaaaaaaaaa" not in res.body  # never expanded
    _, big = await app.asgi_client.post("/onvif/device_service", content=envelope("<tds:GetHostname/>" + " " * 300_000))
    assert big.status == 400 and b"larger than" in big.body
    _, fine = await app.asgi_client.post("/onvif/device_service", content=envelope("<tds:GetHostname/>"))
    assert fine.status == 200  # and the unit goes on serving
