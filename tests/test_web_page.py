"""The web page at /: its headers over HTTP, and the page itself in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from tests.chromium import Chromium, executable
from tests.media_files import wait_for
from tests.server_process import ServerProcess

XSS_TITLE = "<img src=x onerror=alert(1)>"


def test_page_is_public_with_a_strict_policy_and_versioned_assets(shared_server: ServerProcess) -> None:
    page = requests.get(shared_server.url("/"), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "<script>" not in page.text and not re.search(r"\son[a-z]+=", page.text)  # no inline code or handlers
    again = requests.get(shared_server.url("/"), headers={"If-None-Match": page.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""

    script = next(part.split('"')[0] for part in page.text.split('src="')[1:] if part.startswith("/web/app.js"))
    assert "?v=" in script
    versioned = requests.get(shared_server.url(script), timeout=10)
    assert versioned.status_code == 200 and versioned.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in versioned.headers["Cache-Control"]
    bare = requests.get(shared_server.url("/web/app.css"), timeout=10)
    assert bare.headers["Cache-Control"] == "no-cache" and bare.headers["Content-Type"].startswith("text/css")

    missing = requests.get(shared_server.url("/web/../app.py"), timeout=10)
    assert missing.status_code == 404
    head = requests.head(shared_server.url("/"), timeout=10)
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == page.headers["ETag"]
    unknown = requests.get(shared_server.url("/web/secret.txt"), timeout=10)
    assert unknown.status_code == 404 and "app.js" in unknown.json()["error"]


def test_a_script_that_says_so_gets_no_challenge_that_opens_a_browser_dialog(shared_server: ServerProcess) -> None:
    for path, method, body in (
        ("/api", "GET", None),
        ("/api/login", "POST", {"username": "API-User", "password": "x"}),
    ):
        plain = requests.request(method, shared_server.url(path), json=body, timeout=10)
        schemes = [c.split()[0] for c in plain.raw.headers.getlist("WWW-Authenticate")]
        assert plain.status_code == 401 and "Basic" in schemes and "Digest" in schemes  # other clients: unchanged
        script = requests.request(
            method, shared_server.url(path), json=body, headers={"X-Requested-With": "roto-web"}, timeout=10
        )
        assert script.status_code == 401 and script.json()["error"]
        assert [c.split()[0] for c in script.raw.headers.getlist("WWW-Authenticate")] == ["Bearer"]


needs_chromium = pytest.mark.skipif(
    executable() is None,
    reason="Debian's chromium is not installed (apt-get install --no-install-recommends chromium)",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    # on loopback the page plays as in a browser without WebRTC: the MJPEG fallback (WebRTC: test_webrtc.py)
    chromium.call("Page.addScriptToEvaluateOnNewDocument", source="delete window.RTCPeerConnection;")
    yield chromium
    chromium.close()


def _visible(chromium: Chromium, element_id: str) -> bool:
    return bool(chromium.eval(f"!document.getElementById('{element_id}').hidden"))


def _log_in(chromium: Chromium, server: ServerProcess) -> None:
    chromium.call("Page.navigate", url=server.base + "/")
    wait_for(lambda: chromium.eval("document.readyState") == "complete", 10, "the page")
    wait_for(lambda: _visible(chromium, "login") or _visible(chromium, "main"), 10, "login or the page")
    if _visible(chromium, "main"):
        return  # the session from an earlier test is still on
    # type like a user: focus the password field and insert the text, then press the button
    chromium.eval("document.querySelector('#login [name=password]').focus()")
    chromium.call("Input.insertText", text=server.token)
    chromium.eval("document.querySelector('#login button[type=submit]').click()")
    wait_for(lambda: _visible(chromium, "main"), 10, "the page after login")


def _picture(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def _keep(path: Path) -> None:
    """Copy a screenshot where a person can look at it (ROTO_SCREENSHOTS=<folder>)."""
    folder = os.environ.get("ROTO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def _errors(chromium: Chromium) -> list[str]:
    chromium.pump()
    found = []
    for event in chromium.events:
        if event["method"] == "Runtime.exceptionThrown":
            found.append(json.dumps(event["params"]["exceptionDetails"])[:300])
        if event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
            found.append(event["params"]["entry"]["text"])
    return found


@needs_chromium
def test_login_live_picture_state_and_light(browser: Chromium, shared_server: ServerProcess, tmp_path: Path) -> None:
    _log_in(browser, shared_server)
    wait_for(lambda: browser.eval("document.getElementById('picture').naturalWidth") > 0, 10, "a live picture")
    wait_for(lambda: "rpm" in (browser.eval("document.getElementById('state-list').textContent") or ""), 10, "state")
    assert browser.eval("document.getElementById('picture').dataset.mode") == "mjpeg"  # no WebRTC: it fell back

    first = _picture(browser.screenshot(tmp_path / "web-picture-1.png", "#picture"))
    assert first.std() > 10, "the live picture is blank"

    def changed() -> bool:
        later = _picture(browser.screenshot(tmp_path / "web-picture-2.png", "#picture"))
        return bool(np.abs(later.astype(int) - first).mean() > 1)

    wait_for(changed, 10, "a changing picture")
    page = browser.screenshot(tmp_path / "web-page.png")
    _keep(tmp_path / "web-page.png")
    assert len(page) > 20_000
    text = browser.eval("document.getElementById('state-list').textContent")
    for label in ("Light", "Rotation", "Temperature", "Sealing air", "Recording", "Visual Backup"):
        assert label in text
    assert "°C" in text and "mbar" in text
    assert "internal" in browser.eval("document.getElementById('storages').textContent")

    before = shared_server.state("light0")["light0"]
    browser.eval("document.getElementById('light').click()")
    wait_for(lambda: shared_server.state("light0")["light0"] is (not before), 10, "light0 changed by the button")
    wait_for(lambda: f"{'off' if before else 'on'}" in browser.eval("document.getElementById('light').textContent"), 5)
    assert _errors(browser) == []


@needs_chromium
def test_tag_title_with_markup_shows_as_text_and_removal_asks_first(
    browser: Chromium, shared_server: ServerProcess, tmp_path: Path
) -> None:
    _log_in(browser, shared_server)
    browser.eval(f"document.querySelector('#tag-form [name=title]').value = {json.dumps(XSS_TITLE)}")
    browser.eval("document.querySelector('#tag-form [name=note]').value = '<b>bold?</b>'")
    browser.eval("document.querySelector('#tag-form button').click()")
    wait_for(
        lambda: XSS_TITLE in browser.eval("[...document.querySelectorAll('.tag-title')].map(e => e.textContent)"),
        15,
        "the tag in the gallery",
    )
    assert browser.eval("document.querySelectorAll('#tags img, #tags b').length") == 0
    wait_for(lambda: browser.eval("document.querySelectorAll('#files a[download]').length") > 0, 10, "a backup file")
    _click(browser, "#files button")  # Play: the browser plays the file or the page says to download it

    def played_or_explained() -> object:
        return browser.eval(
            "document.getElementById('file-player').readyState >= 2"
            " || document.getElementById('file-player-error').textContent"
        )

    outcome = wait_for(played_or_explained, 10, "the file played or the reason shown")
    assert outcome is True or "Download" in str(outcome)
    assert _visible(browser, "player-box")
    browser.eval("document.getElementById('gallery').scrollIntoView()")
    browser.screenshot(tmp_path / "web-gallery.png")
    _keep(tmp_path / "web-gallery.png")

    auth = ("API-User", shared_server.token)
    tags = requests.get(shared_server.url("/api/backup/tags"), auth=auth, timeout=10)
    ours = [t for t in tags.json()["tags"] if t["title"] == XSS_TITLE]
    assert len(ours) == 1
    # a confirm() blocks the page until answered: click without waiting, then accept the dialog
    browser.call(
        "Runtime.evaluate",
        expression="setTimeout(() => [...document.querySelectorAll('#tags li')]"
        f".find(li => li.textContent.includes({json.dumps(XSS_TITLE)})).querySelector('button').click(), 0)",
    )
    dialog = wait_for(lambda: _dialog(browser), 10, "the confirmation")
    assert dialog["type"] == "confirm" and XSS_TITLE in dialog["message"]
    browser.call("Page.handleJavaScriptDialog", accept=True)

    def gone() -> bool:
        listing = requests.get(shared_server.url("/api/backup/tags"), auth=auth, timeout=10)
        return all(t["id"] != ours[0]["id"] for t in listing.json()["tags"])

    wait_for(gone, 10, "the tag removed")
    dialogs = [e for e in browser.events if e["method"] == "Page.javascriptDialogOpening"]
    assert [d["params"]["type"] for d in dialogs] == ["confirm"]  # never an alert from the markup
    assert _errors(browser) == []


def _dialog(chromium: Chromium) -> dict[str, str] | None:
    chromium.pump()
    opened = [e for e in chromium.events if e["method"] == "Page.javascriptDialogOpening"]
    return opened[-1]["params"] if opened else None


@needs_chromium
def test_phone_sized_screen_has_no_sideways_scrolling(
    browser: Chromium, shared_server: ServerProcess, tmp_path: Path
) -> None:
    browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
    try:
        _log_in(browser, shared_server)
        wait_for(lambda: browser.eval("document.getElementById('picture').naturalWidth") > 0, 10, "a live picture")
        assert browser.eval("document.scrollingElement.scrollWidth") <= 390
        assert browser.eval("document.getElementById('viewer').getBoundingClientRect().width") <= 390
        browser.screenshot(tmp_path / "web-phone.png")
        _keep(tmp_path / "web-phone.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")


def _click(chromium: Chromium, selector: str) -> None:
    chromium.eval(f"document.querySelector({json.dumps(selector)}).click()")


def _page_state(chromium: Chromium, name: str) -> object:
    return chromium.eval(f"JSON.stringify(state[{json.dumps(name)}])")


@needs_chromium
def test_controls_reach_the_unit(browser: Chromium, shared_server: ServerProcess) -> None:
    _log_in(browser, shared_server)
    wait_for(lambda: _page_state(browser, "zoom0") is not None, 10, "the state in the page")
    box = json.loads(browser.eval("JSON.stringify(document.getElementById('viewer').getBoundingClientRect())"))
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    zoom = shared_server.state("zoom0")["zoom0"]
    browser.call("Input.dispatchMouseEvent", type="mouseWheel", x=x, y=y, deltaX=0, deltaY=-120)
    wait_for(lambda: shared_server.state("zoom0")["zoom0"] > zoom, 5, "zoom in by scrolling")
    _click(browser, "[data-zoom='2000']")
    wait_for(lambda: shared_server.state("zoom0")["zoom0"] >= zoom + 3000, 5, "zoom in by the button")

    pan = shared_server.state("pan0")["pan0"]
    browser.call("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", buttons=1, clickCount=1)
    browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=x - 40, y=y + 20, button="left", buttons=1)
    browser.call("Input.dispatchMouseEvent", type="mouseReleased", x=x - 40, y=y + 20, button="left", clickCount=1)
    # dragging the picture left and down shows more of the right and the top
    wait_for(lambda: shared_server.state("pan0")["pan0"]["x"] > pan["x"], 5, "pan right by dragging")
    moved = shared_server.state("pan0")["pan0"]
    assert moved["y"] < pan["y"]

    browser.eval("const pip = document.getElementById('pip'); pip.value = '2'; pip.dispatchEvent(new Event('change'))")
    wait_for(lambda: shared_server.state("pip")["pip"] == 2, 5, "PiP top right")
    _click(browser, "#switch-head")
    wait_for(lambda: shared_server.state("cameraSwitch")["cameraSwitch"] is True, 5, "head 1 shown")
    wait_for(lambda: _page_state(browser, "cameraSwitch") == "true", 5)
    _click(browser, "#switch-head")
    wait_for(lambda: shared_server.state("cameraSwitch")["cameraSwitch"] is False, 5, "head 0 shown again")

    for selector, expected in (("[data-record='start']", "start"), ("#pause", "pause")):
        _click(browser, selector)
        wait_for(lambda e=expected: shared_server.state("record")["record"] == e, 5, f"record={expected}")  # type: ignore[misc]
        wait_for(lambda e=expected: _page_state(browser, "record") == json.dumps(e), 5)  # type: ignore[misc]
    _click(browser, "#pause")  # now "Resume"
    wait_for(lambda: shared_server.state("record")["record"] == "start", 5, "resumed")
    _click(browser, "[data-record='stop']")
    wait_for(lambda: shared_server.state("record")["record"] == "stop", 5, "stopped")

    pictures = shared_server.data_dir / "storages" / "internal" / "roto" / "pictures"
    before = len(list(pictures.glob("*.jp*g"))) if pictures.exists() else 0
    _click(browser, "#picture-take")
    wait_for(lambda: pictures.exists() and len(list(pictures.glob("*.jp*g"))) > before, 10, "a picture stored")

    browser.eval("send({recordingFps: 7})")  # a refusal reaches the page as a notice naming the variable
    wait_for(lambda: "recordingFps" in browser.eval("document.getElementById('notices').textContent"), 5, "notice")

    _click(browser, "#docs-link")
    wait_for(lambda: "light0" in browser.eval("document.getElementById('docs-variables').textContent"), 10, "docs")
    assert "/api/backup/tags" in browser.eval("document.getElementById('docs-paths').textContent")

    cookie = next(c for c in browser.call("Network.getCookies")["cookies"] if c["name"] == "roto_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _click(browser, "#logout")
    wait_for(lambda: _visible(browser, "login"), 5, "the login form after logging out")
    assert not [c for c in browser.call("Network.getCookies")["cookies"] if c["name"] == "roto_session"]
    revoked = requests.get(shared_server.url("/api"), cookies={"roto_session": cookie["value"]}, timeout=10)
    assert revoked.status_code == 401  # the old cookie no longer opens anything
    assert browser.eval("document.getElementById('picture').hasAttribute('src')") is False  # the stream ended
    assert _errors(browser) == []


@needs_chromium
def test_a_stale_session_returns_to_the_login_form(browser: Chromium, shared_server: ServerProcess) -> None:
    # as after a restart of the unit: the page remembers a session whose cookie the unit no longer knows
    browser.call("Page.navigate", url=shared_server.base + "/")
    wait_for(lambda: browser.eval("document.readyState") == "complete", 10, "the page")
    browser.call("Network.setCookie", name="roto_session", value="stale", url=shared_server.base + "/")
    expires = "Date.now() + 3600000"
    browser.eval(
        f"localStorage.setItem('roto.session', JSON.stringify({{user: 'x', role: 'operator', expires: {expires}}}))"
    )
    browser.call("Page.reload")
    wait_for(lambda: browser.eval("document.readyState") == "complete", 10, "the page again")
    wait_for(lambda: _visible(browser, "login"), 10, "the login form")
    assert "log in again" in browser.eval("document.getElementById('login-error').textContent")
    assert browser.eval("document.getElementById('picture').hasAttribute('src')") is False
    _log_in(browser, shared_server)  # and the form works from there
    wait_for(lambda: browser.eval("document.getElementById('picture').naturalWidth") > 0, 10, "a live picture")


@needs_chromium
def test_a_wrong_password_is_said_in_the_form(browser: Chromium, shared_server: ServerProcess) -> None:
    browser.call("Page.navigate", url=shared_server.base + "/")
    wait_for(lambda: browser.eval("document.readyState") == "complete", 10, "the page")
    if _visible(browser, "main"):
        _click(browser, "#logout")
    wait_for(lambda: _visible(browser, "login"), 10, "the login form")
    browser.eval("document.querySelector('#login [name=password]').value = 'wrong'")
    _click(browser, "#login button[type=submit]")
    # a 401 with a Basic challenge would open the browser's own password dialog (and hang headless)
    wait_for(lambda: browser.eval("document.getElementById('login-error').textContent"), 10, "the reason shown")
    assert "password" in browser.eval("document.getElementById('login-error').textContent").lower()
    assert _visible(browser, "login") and not _visible(browser, "main")
