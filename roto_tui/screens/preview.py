"""The live picture in the terminal, with keys to steer the camera."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from roto_tui.client import Event, StateChanged
from roto_tui.widgets.frame_view import FrameView
from roto_tui.widgets.unit_bar import UnitBar

from .base import DeviceScreen

PAN_STEP = 5.0
ZOOM_STEP = 2000
MAX_FPS = 30.0


class PreviewScreen(DeviceScreen):
    BINDINGS = [
        Binding("h", "head", "Head", tooltip="Head: switch the streamed camera head", id="preview.head"),
        Binding("l", "light", "Light", tooltip="Light: illumination of the shown head on/off", id="preview.light"),
        Binding(
            "left", "pan(-1, 0)", "Pan", key_display="←↑↓→", tooltip="Pan: move the zoom window", id="preview.pan_left"
        ),
        Binding("right", "pan(1, 0)", "", show=False, id="preview.pan_right"),
        Binding("up", "pan(0, -1)", "", show=False, id="preview.pan_up"),
        Binding("down", "pan(0, 1)", "", show=False, id="preview.pan_down"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom", key_display="+", tooltip="Zoom in", id="preview.zoom_in"),
        Binding("minus", "zoom(-1)", "", key_display="-", tooltip="Zoom out", id="preview.zoom_out"),
        Binding(
            "s", "snapshot", "Pic", tooltip="Picture: store a snapshot of the current frame", id="preview.snapshot"
        ),
        Binding("r", "record", "Rec", tooltip="Record: start or stop the manual recording", id="preview.record"),
        Binding("c", "colours", "Colour", tooltip="Colours: truecolor, 256 or ASCII preview", id="preview.colours"),
    ]
    DEFAULT_CSS = """
    PreviewScreen #status { height: 1; background: $panel; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield UnitBar()
        yield FrameView(self.roto.colour_mode, id="frame")
        yield Static(id="status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if self.roto.stats_path:
            self.set_interval(1.0, self.write_stats)

    def write_stats(self) -> None:
        view = self.query_one(FrameView)
        stats = {
            "frames": view.frames_shown,
            "fps": round(view.fps, 2),
            "mode": view.mode.value,
            "size": [self.size.width, self.size.height],
        }
        Path(self.roto.stats_path or "").write_text(json.dumps(stats))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.stream()

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "preview")

    @work(exclusive=True, group="preview")
    async def stream(self) -> None:
        """Read a small rendition from the device and show the newest frame, at most MAX_FPS."""
        view = self.query_one(FrameView)
        while True:
            width = max(64, min(view.pixel_size[0], 640))
            try:
                last = 0.0
                async for jpeg in self.device.frames(width=width):
                    now = time.monotonic()
                    if now - last >= 0.75 / MAX_FPS:  # slack: frames arrive with jitter around the rate
                        last = now
                        view.show_jpeg(jpeg)
                        self.update_status()
                    if max(64, min(view.pixel_size[0], 640)) != width:
                        break  # the terminal was resized: ask for a fitting rendition
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._say(f"[red]no picture: {exc}[/]")
                await asyncio.sleep(1.0)

    def update_status(self) -> None:
        state = self.device.state
        views = self.query(FrameView)
        if not views:  # not composed yet, or already gone
            return
        view = views.first()
        head = 1 if state.get("cameraSwitch") else 0
        record = {"start": "[b white on red] REC [/]", "pause": "[b black on yellow] paused [/]"}.get(
            state.get("record", "stop"), "not recording"
        )
        self._say(
            f"{view.fps:4.1f} fps  {view.mode.value}  head {head}  light {'on' if state.get(f'light{head}') else 'off'}"
            f"  zoom {state.get(f'zoom{head}', 0)}  {record}  {state.get(f'oct{head}', '')}"
        )

    def _say(self, text: str) -> None:
        # a change may arrive while the screen is still being composed or already leaving: nothing to update then
        for status in self.query("#status").results(Static):
            status.update(text)

    def device_event(self, event: Event) -> None:
        watched = {"cameraSwitch", "record", "zoom0", "zoom1", "light0", "light1"}
        if isinstance(event, StateChanged) and watched & set(event.changes):
            self.update_status()

    # -- actions -----------------------------------------------------------------------------
    def _head(self) -> int:
        return 1 if self.device.state.get("cameraSwitch") else 0

    def action_head(self) -> None:
        head = 0 if self.device.state.get("cameraSwitch") else 1
        self.roto.write({"cameraSwitch": bool(head)}, f"showing head {head}")

    def action_light(self) -> None:
        name = f"light{self._head()}"
        on = not self.device.state.get(name)
        self.roto.write({name: on}, f"head {self._head()} light {'on' if on else 'off'}")

    def action_pan(self, dx: int, dy: int) -> None:
        self.roto.write({f"pan{self._head()}": {"x": dx * PAN_STEP, "y": dy * PAN_STEP}})

    def action_zoom(self, direction: int) -> None:
        self.roto.write({f"zoom{self._head()}": direction * ZOOM_STEP})

    def action_snapshot(self) -> None:
        self.roto.write({"takePicture": True}, "picture stored")

    def action_record(self) -> None:
        recording = self.device.state.get("record", "stop") != "stop"
        self.roto.write({"record": "stop" if recording else "start"}, "recording stopped" if recording else "recording")

    def action_colours(self) -> None:
        view = self.query_one(FrameView)
        view.mode = view.mode.next()
        self.notify(f"preview colours: {view.mode.value}")
