"""Run inside a fresh network namespace (``unshare -n``): a server and headless Chromium that play over WebRTC.

Chromium gathers no ICE candidates on loopback alone, so the namespace gets a veth pair with an address on each
end; both the server and the browser see those as ordinary host interfaces. Prints one JSON line of findings.
Usage: unshare -n python -m tests.netns_browser WORKDIR
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from tests.chromium import Chromium
from tests.media_files import wait_for
from tests.server_process import ServerProcess

LINK = [
    "ip link set lo up",
    "ip link add roto-a type veth peer name roto-b",
    "ip addr add 10.213.0.1/24 dev roto-a",
    "ip addr add 10.213.0.2/24 dev roto-b",
    "ip link set roto-a up",
    "ip link set roto-b up",
]
# Chromium hides host addresses behind mDNS names unless told not to; the unit does not resolve those
BROWSER_FLAGS = ["--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"]


def grey(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def main(workdir: Path) -> dict[str, object]:
    for command in LINK:
        subprocess.run(command.split(), check=True)
    server = ServerProcess(workdir / "data")
    browser = Chromium(workdir / "profile", BROWSER_FLAGS)
    found: dict[str, object] = {}
    try:
        browser.call("Page.navigate", url=server.base + "/")
        wait_for(lambda: browser.eval("document.readyState") == "complete", 10, "the page")
        wait_for(lambda: browser.eval("!document.getElementById('login').hidden"), 10, "the login form")
        browser.eval("document.querySelector('#login [name=password]').focus()")
        browser.call("Input.insertText", text=server.token)
        browser.eval("document.querySelector('#login button[type=submit]').click()")
        started = time.monotonic()
        wait_for(lambda: browser.eval("document.getElementById('viewer').dataset.transport"), 15, "a transport")
        found["transport"] = browser.eval("document.getElementById('viewer').dataset.transport")
        found["seconds_to_picture"] = round(time.monotonic() - started, 2)
        found["video_size"] = browser.eval(
            "[document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]"
        )
        first = grey(browser.screenshot(workdir / "webrtc-1.png", "#viewer"))
        found["std"] = float(first.std())

        def changed() -> bool:
            later = grey(browser.screenshot(workdir / "webrtc-2.png", "#viewer"))
            return float(np.abs(later.astype(int) - first.astype(int)).mean()) > 0.5

        try:
            wait_for(changed, 10, "a changing picture")
            found["changing"] = True
        except AssertionError:
            found["changing"] = False
        found["stats"] = browser.eval(
            "(async () => { const pc = player.pc; if (!pc) return null; const out = {};"
            " (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') out.frames = s.framesDecoded;"
            " if (s.type === 'codec') out.codec = s.mimeType; }); return out; })()"
        )
    finally:
        browser.close()
        server.stop()
    return found


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
