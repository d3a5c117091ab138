"""Device management (tds): identity, clock, network facts and capabilities, all read from the state."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import etree

from roto_server.auth.credentials import ADMIN, API_USER
from roto_server.protocols.soap.envelope import NS, Fault, child_text, el, text

from .engine import Call, Registry

MANUFACTURER = "roto"
MODEL = "Rotoclear C2 control unit (roto)"
SERVICE_NAMESPACES = (
    ("device", "tds"),
    ("media", "trt"),
    ("media2", "tr2"),
    ("ptz", "tptz"),
    ("imaging", "timg"),
    ("events", "tev"),
)


def serial_of(call: Call) -> str:
    """Unique per unit: derived from its MAC address, the one hardware identity it has."""
    mac = (call.store["macAddr"] or "").replace(":", "").upper()
    return mac or hashlib.sha256(str(call.store["hostname"]).encode()).hexdigest()[:12].upper()


def _date_time(tag: str, moment: datetime) -> etree._Element:
    return el(
        tag,
        el("tt:Time", text("tt:Hour", moment.hour), text("tt:Minute", moment.minute), text("tt:Second", moment.second)),
        el("tt:Date", text("tt:Year", moment.year), text("tt:Month", moment.month), text("tt:Day", moment.day)),
    )


def _posix_tz(zone: str, moment: datetime) -> str:
    # ONVIF wants a POSIX TZ string; the offset at this moment is honest, the IANA name follows for people
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes > 0 else "+"  # POSIX counts west of Greenwich as positive
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def register(reg: Registry) -> None:
    add = reg.add

    @add("device", "GetSystemDateAndTime", "pre")
    def _clock(call: Call, body: etree._Element) -> etree._Element:
        zone = str(call.store["timezone"] or "UTC")
        try:
            tz = ZoneInfo(zone)
        except (KeyError, ValueError):
            tz = ZoneInfo("UTC")
        utc = datetime.fromtimestamp(call.now, ZoneInfo("UTC"))
        local = utc.astimezone(tz)
        return el(
            "tds:GetSystemDateAndTimeResponse",
            el(
                "tds:SystemDateAndTime",
                text("tt:DateTimeType", "NTP" if call.store["ntpSync"] else "Manual"),
                text("tt:DaylightSavings", bool(local.dst())),
                el("tt:TimeZone", text("tt:TZ", _posix_tz(zone, local))),
                _date_time("tt:UTCDateTime", utc),
                _date_time("tt:LocalDateTime", local),
            ),
        )

    @add("device", "SetSystemDateAndTime", "write")
    def _set_clock(call: Call, body: etree._Element) -> etree._Element:
        # the unit's clock belongs to the host (or NTP via ntpSync/ntpHost); setting it by hand is not offered
        raise Fault(
            "ter:InvalidArgVal",
            "the unit keeps host time: set the C2 variables ntpSync/ntpHost (and timezone) instead",
            detail="SetSystemDateAndTime is not supported; nothing was changed",
        )

    @add("device", "SystemReboot", "write")
    def _reboot(call: Call, body: etree._Element) -> etree._Element:
        return el(
            "tds:SystemRebootResponse",
            text("tds:Message", "Not rebooting: this unit is a program its host supervises; restart its service there"),
        )

    @add("device", "GetDeviceInformation", "read")
    def _info(call: Call, body: etree._Element) -> etree._Element:
        return el(
            "tds:GetDeviceInformationResponse",
            text("tds:Manufacturer", MANUFACTURER),
            text("tds:Model", MODEL),
            text("tds:FirmwareVersion", call.store["swVersion"] or "unknown"),
            text("tds:SerialNumber", serial_of(call)),
            text("tds:HardwareId", f"C2-{'2' if call.store['cam1Exists'] else '1'}head"),
        )

    @add("device", "GetCapabilities", "pre")
    def _capabilities(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetCapabilitiesResponse", capabilities(call))

    @add("device", "GetServices", "pre")
    def _services(call: Call, body: etree._Element) -> etree._Element:
        include = child_text(body, "IncludeCapability") in ("true", "1")
        services = []
        for name, ns in SERVICE_NAMESPACES:
            major, minor = ("2", "60") if ns == "tds" else ("2", "0")
            caps = el("tds:Capabilities", service_capabilities(name)) if include else None
            services.append(
                el(
                    "tds:Service",
                    text("tds:Namespace", NS[ns]),
                    text("tds:XAddr", call.url(name)),
                    caps,
                    el("tds:Version", text("tt:Major", major), text("tt:Minor", minor)),
                )
            )
        return el("tds:GetServicesResponse", *services)

    @add("device", "GetServiceCapabilities", "pre")
    def _service_caps(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetServiceCapabilitiesResponse", service_capabilities("device"))

    @add("device", "GetWsdlUrl", "pre")
    def _wsdl(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetWsdlUrlResponse", text("tds:WsdlUrl", "https://www.onvif.org/profiles/specifications/"))

    @add("device", "GetHostname", "pre")
    def _hostname(call: Call, body: etree._Element) -> etree._Element:
        return el(
            "tds:GetHostnameResponse",
            el("tds:HostnameInformation", text("tt:FromDHCP", False), text("tt:Name", call.store["hostname"])),
        )

    @add("device", "GetScopes", "read")
    def _scopes(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetScopesResponse", *(_scope(s) for s in scopes(call.store["hostname"])))

    @add("device", "GetNetworkInterfaces", "read")
    def _interfaces(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetNetworkInterfacesResponse", *network_interfaces(call))

    @add("device", "GetDNS", "read")
    def _dns(call: Call, body: etree._Element) -> etree._Element:
        return el("tds:GetDNSResponse", el("tds:DNSInformation", text("tt:FromDHCP", True)))

    @add("device", "GetNTP", "read")
    def _ntp(call: Call, body: etree._Element) -> etree._Element:
        host = str(call.store["ntpHost"] or "")
        manual = el("tt:NTPManual", text("tt:Type", "DNS"), text("tt:DNSname", host)) if host else None
        return el("tds:GetNTPResponse", el("tds:NTPInformation", text("tt:FromDHCP", False), manual))

    @add("device", "GetNetworkProtocols", "read")
    def _protocols(call: Call, body: etree._Element) -> etree._Element:
        rows = [
            ("HTTP", call.web_ports.get("http")),
            ("HTTPS", call.web_ports.get("https")),
            ("RTSP", call.rtsp_port),
        ]
        configured = {"HTTP": call.store["httpPort"], "HTTPS": call.store["httpsPort"], "RTSP": call.store["rtspPort"]}
        return el(
            "tds:GetNetworkProtocolsResponse",
            *(
                el(
                    "tds:NetworkProtocols",
                    text("tt:Name", name),
                    text("tt:Enabled", port is not None),
                    text("tt:Port", port if port is not None else configured[name]),
                )
                for name, port in rows
            ),
        )

    @add("device", "GetNetworkDefaultGateway", "read")
    def _gateway(call: Call, body: etree._Element) -> etree._Element:
        gateways = [g for i in call.store["netInfo"] for g in ([i.get("gateway")] if i.get("gateway") else [])]
        return el(
            "tds:GetNetworkDefaultGatewayResponse",
            el("tds:NetworkGateway", *(text("tt:IPv4Address", g) for g in gateways)),
        )

    @add("device", "GetUsers", "read")
    def _users(call: Call, body: etree._Element) -> etree._Element:
        # the unit's accounts by ONVIF's level names; passwords are never listed
        return el(
            "tds:GetUsersResponse",
            *(
                el("tds:User", text("tt:Username", user), text("tt:UserLevel", level))
                for user, level in ((ADMIN, "Administrator"), (API_USER, "Operator"))
            ),
        )


def scopes(hostname: str) -> list[str]:
    base = "onvif://www.onvif.org"
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in hostname) or "roto"
    return [
        f"{base}/Profile/Streaming",
        f"{base}/Profile/S",
        f"{base}/type/video_encoder",
        f"{base}/type/ptz",
        f"{base}/name/{name}",
        f"{base}/hardware/RotoclearC2",
        f"{base}/location/unknown",
    ]


def _scope(item: str) -> etree._Element:
    return el("tds:Scopes", text("tt:ScopeDef", "Fixed"), text("tt:ScopeItem", item))


def _prefix(netmask: str) -> int:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
    except ValueError:
        return 32


def network_interfaces(call: Call) -> list[etree._Element]:
    """The host's interfaces as the unit reads them (netInfo): real MAC, addresses, and how they were set."""
    out = []
    for index, iface in enumerate(call.store["netInfo"] or []):
        mac = iface.get("macAddress") or call.store["macAddr"] or "00:00:00:00:00:00"
        name = str(iface.get("name") or f"eth{index}")
        dhcp = bool(iface.get("dhcp"))
        addresses = [
            el(
                "tt:FromDHCP" if dhcp else "tt:Manual",
                text("tt:Address", c["address"]),
                text("tt:PrefixLength", _prefix(str(c.get("netmask") or "255.255.255.255"))),
            )
            for c in iface.get("connections", [])
            if "." in str(c.get("address", ""))
        ]
        manual = [a for a in addresses if not dhcp]
        leased = addresses[0] if dhcp and addresses else None
        out.append(
            el(
                "tds:NetworkInterfaces",
                text("tt:Enabled", True),
                el("tt:Info", text("tt:Name", name), text("tt:HwAddress", mac)),
                el(
                    "tt:IPv4",
                    text("tt:Enabled", bool(addresses)),
                    el("tt:Config", *manual, leased, text("tt:DHCP", dhcp)),
                ),
                token=name,
            )
        )
    return out


def capabilities(call: Call) -> etree._Element:
    return el(
        "tds:Capabilities",
        el(
            "tt:Device",
            text("tt:XAddr", call.url("device")),
            el(
                "tt:System",
                text("tt:DiscoveryResolve", True),
                text("tt:DiscoveryBye", True),
                text("tt:RemoteDiscovery", False),
                text("tt:SystemBackup", False),
                text("tt:SystemLogging", False),
                text("tt:FirmwareUpgrade", False),
                el("tt:SupportedVersions", text("tt:Major", 2), text("tt:Minor", 60)),
            ),
        ),
        el(
            "tt:Events",
            text("tt:XAddr", call.url("events")),
            text("tt:WSSubscriptionPolicySupport", False),
            text("tt:WSPullPointSupport", True),
            text("tt:WSPausableSubscriptionManagerInterfaceSupport", False),
        ),
        el("tt:Imaging", text("tt:XAddr", call.url("imaging"))),
        el(
            "tt:Media",
            text("tt:XAddr", call.url("media")),
            el(
                "tt:StreamingCapabilities",
                text("tt:RTPMulticast", False),
                text("tt:RTP_TCP", True),
                text("tt:RTP_RTSP_TCP", True),
            ),
        ),
        el("tt:PTZ", text("tt:XAddr", call.url("ptz"))),
    )


def service_capabilities(service: str) -> etree._Element:
    """The Capabilities element of a service, as its own GetServiceCapabilities and GetServices carry it."""
    if service == "device":
        return el(
            "tds:Capabilities",
            el("tds:Network", NTP="1", HostnameFromDHCP="false", DynDNS="false", IPVersion6="false"),
            el("tds:Security", UsernameToken="true", HttpDigest="true"),
            el(
                "tds:System",
                DiscoveryResolve="true",
                DiscoveryBye="true",
                RemoteDiscovery="false",
                SystemLogging="false",
            ),
        )
    if service == "media":
        return el(
            "trt:Capabilities",
            el("trt:ProfileCapabilities", MaximumNumberOfProfiles="3"),
            el("trt:StreamingCapabilities", RTPMulticast="false", RTP_TCP="true", RTP_RTSP_TCP="true"),
            SnapshotUri="true",
            OSD="true",
        )
    if service == "media2":
        from .media2 import capabilities as media2_capabilities

        return media2_capabilities()
    if service == "ptz":
        return el("tptz:Capabilities", EFlip="false", Reverse="false", GetCompatibleConfigurations="false")
    if service == "imaging":
        return el("timg:Capabilities", ImageStabilization="false")
    return el(
        "tev:Capabilities",
        WSSubscriptionPolicySupport="false",
        WSPausableSubscriptionManagerInterfaceSupport="false",
        MaxPullPoints="16",
        PersistentNotificationStorage="false",
    )
