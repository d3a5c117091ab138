"""Parse Probe and Resolve datagrams; build ProbeMatches, ResolveMatches, Hello and Bye."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TO_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
TYPES = ((DN, "NetworkVideoTransmitter"), (TDS, "Device"))
MAX_DATAGRAM = 64 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_NSMAP = {"s": SOAP, "a": WSA, "d": WSD, "dn": DN, "tds": TDS}


@dataclass(frozen=True)
class Probe:
    message_id: str
    types: tuple[tuple[str, str], ...]  # (namespace, local name)
    scopes: tuple[str, ...]
    match_by: str | None


@dataclass(frozen=True)
class Resolve:
    message_id: str
    address: str


@dataclass(frozen=True)
class Target:
    """What the unit announces about itself."""

    address: str  # urn:uuid:..., stable for the unit
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    metadata_version: int = 1


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _find(node: etree._Element | None, name: str) -> etree._Element | None:
    if node is None:
        return None
    return next((c for c in node if isinstance(c.tag, str) and _local(c) == name), None)


def parse(data: bytes) -> Probe | Resolve | None:
    """The request in a datagram, or None for anything else (other traffic on the group, garbage)."""
    if len(data) > MAX_DATAGRAM:
        return None
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return None
    header, body = _find(root, "Header"), _find(root, "Body")
    request = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    message_id = _find(header, "MessageID")
    if request is None or message_id is None or not (message_id.text or "").strip():
        return None
    mid = (message_id.text or "").strip()
    if request.tag == f"{{{WSD}}}Probe":
        types_node, scopes_node = _find(request, "Types"), _find(request, "Scopes")
        types = []
        for qname in (types_node.text or "").split() if types_node is not None else []:
            prefix, _, local = qname.rpartition(":")
            types.append((types_node.nsmap.get(prefix or None, "") if types_node is not None else "", local))
        scopes = tuple((scopes_node.text or "").split()) if scopes_node is not None else ()
        match_by = scopes_node.get("MatchBy") if scopes_node is not None else None
        return Probe(mid, tuple(types), scopes, match_by)
    if request.tag == f"{{{WSD}}}Resolve":
        address = _find(_find(request, "EndpointReference"), "Address")
        if address is None:
            return None
        return Resolve(mid, (address.text or "").strip())
    return None


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, _, local = tag.partition(":")
    node = etree.SubElement(parent, f"{{{_NSMAP[prefix]}}}{local}", **attrs)
    if text is not None:
        node.text = text
    return node


def _message(
    action: str, to: str, relates_to: str | None, instance_id: int, number: int
) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap=_NSMAP)
    header = _el(root, "s:Header")
    _el(header, "a:MessageID", f"urn:uuid:{uuid.uuid4()}")
    if relates_to:
        _el(header, "a:RelatesTo", relates_to)
    _el(header, "a:To", to)
    _el(header, "a:Action", f"{WSD}/{action}")
    _el(header, "d:AppSequence", InstanceId=str(instance_id), MessageNumber=str(number))
    return root, _el(root, "s:Body")


def _describe(parent: etree._Element, target: Target, full: bool = True) -> None:
    _el(_el(parent, "a:EndpointReference"), "a:Address", target.address)
    if full:
        _el(parent, "d:Types", "dn:NetworkVideoTransmitter tds:Device")
        _el(parent, "d:Scopes", " ".join(target.scopes))
        _el(parent, "d:XAddrs", " ".join(target.xaddrs))
    _el(parent, "d:MetadataVersion", str(target.metadata_version))


def _bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def probe_matches(request: Probe, target: Target, instance_id: int, number: int) -> bytes:
    root, body = _message("ProbeMatches", ANONYMOUS, request.message_id, instance_id, number)
    _describe(_el(_el(body, "d:ProbeMatches"), "d:ProbeMatch"), target)
    return _bytes(root)


def resolve_matches(request: Resolve, target: Target, instance_id: int, number: int) -> bytes:
    root, body = _message("ResolveMatches", ANONYMOUS, request.message_id, instance_id, number)
    _describe(_el(_el(body, "d:ResolveMatches"), "d:ResolveMatch"), target)
    return _bytes(root)


def hello(target: Target, instance_id: int, number: int) -> bytes:
    root, body = _message("Hello", TO_DISCOVERY, None, instance_id, number)
    _describe(_el(body, "d:Hello"), target)
    return _bytes(root)


def bye(target: Target, instance_id: int, number: int) -> bytes:
    root, body = _message("Bye", TO_DISCOVERY, None, instance_id, number)
    _describe(_el(body, "d:Bye"), target, full=False)
    return _bytes(root)
