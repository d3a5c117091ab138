"""Dependencies between variables, taken from the spec's state table.

Most are data in the catalogue (``requires`` and ``head``); the few that need code
live here. Each guard raises :class:`Refused` with a reason a person can act on, or
returns a note when the write is kept but does not act yet.
"""

from __future__ import annotations

from typing import Any

from .store import Refused, StateStore


def _requires(name: str, needed: dict[str, Any]) -> Any:
    # The spec: manual image controls "work only if" the automatic switch is off. The value is
    # still kept (the pipeline reads it only while the switch is off), so it acts once it is.
    def guard(store: StateStore, _value: Any) -> str | None:
        waiting = [f"{other} is {str(want).lower()}" for other, want in needed.items() if store[other] != want]
        if waiting:
            return f"{name}: kept; takes effect when {' and '.join(waiting)}"
        return None

    return guard


def _head_present(name: str, head: int) -> Any:
    def guard(store: StateStore, _value: Any) -> None:
        if not store[f"cam{head}Exists"]:
            raise Refused(f"{name} belongs to camera head {head}, which is not connected")

    return guard


def _camera_switch(store: StateStore, value: Any) -> None:
    wanted = 1 if value else 0
    if not store[f"cam{wanted}Exists"]:
        raise Refused(f"cameraSwitch: camera head {wanted} is not connected")


def _pip(store: StateStore, value: Any) -> None:
    if value and not (store["cam0Exists"] and store["cam1Exists"]):
        raise Refused("pip needs both camera heads connected")


def _http_on(store: StateStore, value: Any) -> None:
    if not value and not store["httpsOn"]:
        raise Refused("httpOn: switching HTTP off while HTTPS is off would lock every client out")


def _https_on(store: StateStore, value: Any) -> None:
    if not value and not store["httpOn"]:
        raise Refused("httpsOn: switching HTTPS off while HTTP is off would lock every client out")


def record_transition(current: str, wanted: str) -> str:
    """The record value after a write, or Refused when the step makes no sense."""
    if wanted == "release":
        wanted = "start"  # resuming reads back as recording
    if wanted == current:
        return current
    if current == "stop" and wanted == "pause":
        raise Refused("record: nothing to pause, no recording is running")
    return wanted


def install(store: StateStore) -> None:
    """Attach every dependency guard to the store."""
    for var in store.catalogue.values():
        if var.requires:
            store.add_guard(var.name, _requires(var.name, dict(var.requires)))
        if var.head is not None:
            store.add_guard(var.name, _head_present(var.name, var.head))
    store.add_guard("cameraSwitch", _camera_switch)
    store.add_guard("pip", _pip)
    store.add_guard("httpOn", _http_on)
    store.add_guard("httpsOn", _https_on)
