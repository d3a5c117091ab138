"""Parse a SOAP 1.2 request and build its response or fault with lxml."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

SOAP = "http://www.w3.org/2003/05/soap-envelope"
TER = "http://www.onvif.org/ver10/error"
NS = {
    "s": SOAP,
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tr2": "http://www.onvif.org/ver20/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "timg": "http://www.onvif.org/ver20/imaging/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tns1": "http://www.onvif.org/ver10/topics",
    "ter": TER,
    "xs": "http://www.w3.org/2001/XMLSchema",  # for QName values such as Type="xs:string"
}
MAX_ENVELOPE_BYTES = 256 * 1024
# no DTDs, no entities, no network: a request is data from a stranger
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class Fault(Exception):
    """A SOAP fault: Sender or Receiver, an ONVIF subcode (``ter:...``) and a reason for people."""

    def __init__(self, subcode: str, reason: str, code: str = "Sender", detail: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Request:
    operation: str  # local name of the body's first element: "GetProfiles"
    namespace: str  # its namespace, which names the service the client meant
    body: etree._Element
    header: etree._Element | None


def parse(data: bytes) -> Request:
    """The operation a SOAP envelope asks for; Fault when it is not a well-formed SOAP 1.2 request."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise Fault("ter:InvalidArgVal", f"the envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Fault("ter:WellFormed", f"the request is not well-formed XML: {exc}") from None
    if root.tag != f"{{{SOAP}}}Envelope":
        raise Fault("ter:WellFormed", "the request is not a SOAP 1.2 Envelope")
    header = root.find(f"{{{SOAP}}}Header")
    body = root.find(f"{{{SOAP}}}Body")
    operation = None if body is None else next((c for c in body if isinstance(c.tag, str)), None)
    if operation is None:
        raise Fault("ter:WellFormed", "the SOAP Body names no operation")
    qname = etree.QName(operation)
    return Request(qname.localname, qname.namespace or "", operation, header)


def qname(prefixed: str) -> str:
    prefix, _, local = prefixed.partition(":")
    return f"{{{NS[prefix]}}}{local}"


def el(tag: str, *children: etree._Element | str | None, **attrs: str) -> etree._Element:
    """An element named ``prefix:Local``; string children become its text, None children are left out."""
    node = etree.Element(qname(tag), nsmap=None)
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            node.text = (node.text or "") + child
        else:
            node.append(child)
    for key, value in attrs.items():
        node.set(key, value)
    return node


def text(tag: str, value: object) -> etree._Element:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return el(tag, str(value))


def envelope(body: etree._Element, headers: list[etree._Element] | None = None) -> bytes:
    root = etree.Element(qname("s:Envelope"), nsmap=NS)
    if headers:
        head = etree.SubElement(root, qname("s:Header"))
        head.extend(headers)
    etree.SubElement(root, qname("s:Body")).append(body)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fault_envelope(fault: Fault) -> bytes:
    subcode = el("s:Subcode", el("s:Value", fault.subcode))
    if fault.subcode == "ter:NotAuthorized":
        # ONVIF nests the reason: Sender / ter:NotAuthorized (Core spec, 5.11.2.1)
        subcode = el("s:Subcode", el("s:Value", "ter:NotAuthorized"))
    node = el(
        "s:Fault",
        el("s:Code", el("s:Value", f"s:{fault.code}"), subcode),
        el("s:Reason", el("s:Text", fault.reason, **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})),
        el("s:Detail", el("s:Text", fault.detail)) if fault.detail else None,
    )
    return envelope(node)


def child_text(node: etree._Element | None, *path: str) -> str | None:
    """Text of the first descendant along ``path`` of local names, ignoring namespaces (clients differ)."""
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return None if node is None else (node.text or "").strip()


def child(node: etree._Element | None, *path: str) -> etree._Element | None:
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return node
