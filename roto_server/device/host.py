"""Facts about the machine roto runs on, read from the OS (Linux /proc and /sys, psutil)."""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil

_SYS_NET = Path("/sys/class/net")


def host_timezone() -> str:
    """The host's IANA zone name, or UTC when the OS does not say."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    try:
        return Path("/etc/timezone").read_text().strip() or "UTC"
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def _default_gateways() -> dict[str, str]:
    """Interface -> IPv4 default gateway, from the kernel routing table."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) > 2 and parts[1] == "00000000":
            gw = int(parts[2], 16)
            out[parts[0]] = socket.inet_ntoa(gw.to_bytes(4, "little"))
    return out


def _is_hardware(name: str) -> bool:
    return (_SYS_NET / name / "device").exists()


def _dhcp_leased(name: str) -> bool:
    lease_dirs = [Path("/var/lib/dhcp"), Path("/run/systemd/netif/leases"), Path("/var/lib/NetworkManager")]
    for folder in lease_dirs:
        try:
            if any(name in p.name for p in folder.iterdir()):
                return True
        except OSError:
            continue
    return False


def _broadcast(address: str, netmask: str) -> str:
    a = int.from_bytes(socket.inet_aton(address), "big")
    m = int.from_bytes(socket.inet_aton(netmask), "big")
    return socket.inet_ntoa(((a & m) | (~m & 0xFFFFFFFF)).to_bytes(4, "big"))


def network_interfaces() -> list[dict[str, Any]]:
    """The netInfo list: every non-loopback interface with its IPv4 connections."""
    gateways = _default_gateways()
    result = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        if name == "lo":
            continue
        mac = next((a.address for a in addrs if a.family == psutil.AF_LINK), "")
        conns = [
            {
                "address": a.address,
                "netmask": a.netmask or "",
                "broadcast": a.broadcast or _broadcast(a.address, a.netmask or "255.255.255.255"),
            }
            for a in addrs
            if a.family == socket.AF_INET
        ]
        dhcp = _dhcp_leased(name)
        result.append(
            {
                "name": name,
                "description": name if _is_hardware(name) else f"{name} (virtual)",
                "macAddress": mac.upper(),
                "gateway": gateways.get(name, ""),
                "isServer": False,
                "dhcp": dhcp,
                "dhcpServers": [],
                "connections": conns,
                "dhcpSelected": dhcp,
                "staticIp": "",
                "staticMask": "",
                "staticGateway": "",
                "staticDns": "",
                "staticUseGateway": False,
                "staticUseDns": False,
            }
        )
    return result


def primary_mac(interfaces: list[dict[str, Any]]) -> str:
    """MAC of the first hardware interface, else of the first interface with one."""
    ordered = sorted(interfaces, key=lambda i: not _is_hardware(i["name"]))
    return next((i["macAddress"] for i in ordered if i["macAddress"] and i["macAddress"] != "00:00:00:00:00:00"), "")


def system_description() -> dict[str, Any]:
    uname = platform.uname()
    return {
        "model": "roto control unit (simulated heads)",
        "os": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "cpuCount": os.cpu_count() or 1,
        "memoryBytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
    }


def network_facts() -> dict[str, Any]:
    """Slow-changing host facts (refreshed every few seconds)."""
    interfaces = network_interfaces()
    return {
        "hostname": socket.gethostname(),
        "netInfo": interfaces,
        "macAddr": primary_mac(interfaces),
        "hasInternet": bool(_default_gateways()),
    }


def clock_facts(now: float, timezone: str) -> dict[str, Any]:
    """time as [y, m, d, h, min, s] in the unit's zone, and seconds since the epoch."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    t = datetime.fromtimestamp(now, zone)
    return {"time": [t.year, t.month, t.day, t.hour, t.minute, t.second], "seconds": int(now)}


def static_facts() -> dict[str, Any]:
    """Facts fixed for the life of the process."""
    from roto_server import __version__

    return {
        "swVersion": __version__,
        "systemDescription": system_description(),
        "ntpStatus": {"synchronised": False, "reason": "roto does not run an NTP client; the host clock is used as is"},
    }
