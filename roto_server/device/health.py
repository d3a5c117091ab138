"""What is wrong with the unit right now, from the state alone (no file or network I/O).

Each check answers ``{"ok": bool, "message": str}``; the message says what works or, when
something does not, everything that is wrong, in words an operator can act on. The storage
figures come from the state, which the storage service refreshes in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .capacity import size_text
from .store import Notice, StateStore

FULL_BELOW_BYTES = 2 * 1024 * 1024  # the manual recorder's own reserve: below it nothing more is written


def _check(problems: list[str], fine: str) -> dict[str, Any]:
    return {"ok": not problems, "message": "; ".join(problems) if problems else fine}


def camera(store: StateStore) -> dict[str, Any]:
    connected = [i for i in (0, 1) if store[f"cam{i}Exists"]]
    if not connected:
        return _check(["no camera head is connected"], "")
    problems = [] if 0 in connected else ["head 0 is not connected"]
    heads = " and ".join(f"head {i}" for i in connected)
    return _check(problems, f"{heads} connected")


def _storage_problem(role: str, described: dict[str, Any]) -> str | None:
    if not described.get("uuid"):
        return f"no {role} storage is selected"
    name = described.get("name") or described["uuid"]
    if not described.get("available"):
        return f"the {role} storage {name} is not connected"
    if not described.get("writable", True):
        return f"the {role} storage {name} is read-only"
    if int(described.get("free", 0)) < FULL_BELOW_BYTES:
        return f"the {role} storage {name} is full ({size_text(int(described.get('free', 0)))} free)"
    return None


def storage(store: StateStore) -> dict[str, Any]:
    recording = store["recordingStorage"]
    problems = [p for p in [_storage_problem("recording", recording)] if p]
    if store["backupActive"]:
        # a full backup storage is normal (Visual Backup is a ring buffer); gone or read-only is not
        backup = _storage_problem("backup", store["backupStorage"])
        if backup and "is full" not in backup:
            problems.append(backup)
    fine = f"recording to {recording.get('name')} ({recording.get('freeStr', '?')} free)"
    return _check(problems, fine)


def network(store: StateStore) -> dict[str, Any]:
    problems = []
    served = []
    for protocol, switch in (("HTTP", "httpOn"), ("HTTPS", "httpsOn"), ("RTSP", "rtspOn")):
        status = store[f"{protocol.lower()}Status"] or {}
        if status.get("running"):
            served.append(f"{protocol} on port {status.get('port')}")
        elif store[switch] and status.get("running") is False:
            problems.append(f"{switch} is true but {protocol} is not served: {status.get('reason', 'no reason known')}")
    addresses = [c["address"] for iface in store["netInfo"] for c in iface.get("connections", [])]
    if not addresses:
        problems.append("no network interface has an IPv4 address: only this machine can reach the unit")
    count = f"{len(addresses)} IPv4 address{'es' if len(addresses) != 1 else ''}"  # the addresses are not public
    return _check(problems, f"{', '.join(served) or 'serving'}; {count}")


def files(damaged: Iterable[Notice]) -> dict[str, Any]:
    return _check([n.message for n in damaged], "every data file was read intact")


def report(store: StateStore, damaged: Iterable[Notice]) -> dict[str, Any]:
    """The health answer: healthy when every check is ok, else degraded."""
    checks = {"camera": camera(store), "storage": storage(store), "network": network(store), "files": files(damaged)}
    healthy = all(c["ok"] for c in checks.values())
    return {"status": "healthy" if healthy else "degraded", "checks": checks}
