"""Small helpers to speak ONVIF SOAP by hand in tests: envelopes with a WS-Security UsernameToken."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from datetime import UTC, datetime

from roto_server.protocols.soap.envelope import NS  # namespace names are facts of ONVIF, not of our code

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"


def security(user: str, password: str, digest: bool = True, skew_s: float = 0.0, nonce: bytes | None = None) -> str:
    created = datetime.fromtimestamp(time.time() + skew_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce if nonce is not None else os.urandom(16)
    if digest:
        secret = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
        kind = "PasswordDigest"
    else:
        secret, kind = password, "PasswordText"
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{TOKEN_PROFILE}#{kind}">{secret}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )


def envelope(body: str, header: str = "") -> bytes:
    xmlns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "s")
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" {xmlns}>'
        f"{head}<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()
