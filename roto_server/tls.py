"""The HTTPS certificate: generated once into the data folder, or the operator's own; its description."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from roto_server.device.settings import write_atomic

CERT_FILE = "https-cert.pem"
KEY_FILE = "https-key.pem"
VALID_DAYS = 10 * 365  # a self-signed device certificate is trusted by pinning, not by expiry


class TlsError(Exception):
    """The certificate or key cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    generated: bool  # created by roto (self-signed) rather than given by the operator

    def context(self) -> ssl.SSLContext:
        """A server context for this pair; TlsError when either file does not load."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(self.cert_path, self.key_path)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"cannot use certificate {self.cert_path} with key {self.key_path}: {exc}") from exc
        return ctx

    def describe(self) -> dict[str, Any]:
        """The httpsCertificate value: what a client sees in the handshake."""
        cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in san]
        except x509.ExtensionNotFound:
            pass
        return {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "notBefore": cert.not_valid_before_utc.isoformat(),
            "notAfter": cert.not_valid_after_utc.isoformat(),
            "serialNumber": format(cert.serial_number, "x"),
            "subjectAltNames": names,
            "sha256Fingerprint": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
            "selfSigned": cert.subject == cert.issuer,
            "source": "generated" if self.generated else "operator",  # made by roto, or --tls-cert
            "file": str(self.cert_path),
        }


def operator_certificate(cert: Path, key: Path) -> Certificate:
    """The operator's pair, checked now so a bad file stops the start with a clear message."""
    for path, what, load in (
        (cert, "a PEM certificate", x509.load_pem_x509_certificate),
        (key, "an unencrypted PEM private key", lambda data: serialization.load_pem_private_key(data, None)),
    ):
        try:
            load(path.read_bytes())
        except OSError as exc:
            raise TlsError(f"cannot read {path}: {exc.strerror}") from exc
        except (ValueError, TypeError) as exc:
            raise TlsError(f"{path} is not {what}") from exc
    given = Certificate(cert, key, generated=False)
    given.context()  # the pair itself: a key that does not belong to the certificate fails here
    return given


def device_certificate(data_dir: Path, hostname: str, addresses: list[str]) -> Certificate:
    """The self-signed pair in the data folder, made on first use and reused afterwards."""
    pair = Certificate(data_dir / CERT_FILE, data_dir / KEY_FILE, generated=True)
    if not (pair.cert_path.exists() and pair.key_path.exists()):
        _generate(pair, hostname, addresses)
    pair.context()
    return pair


def _generate(pair: Certificate, hostname: str, addresses: list[str]) -> None:
    # P-256 is quick to make (tests create many data folders) and every current TLS client takes it
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, hostname), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "roto")]
    )
    dns = list(dict.fromkeys([hostname, "localhost"]))
    ips = list(dict.fromkeys(["127.0.0.1", *addresses]))
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate a client clock slightly behind
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # a CA flag lets clients trust this very file with --cacert / ca_certs
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pair.cert_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(pair.key_path, key_pem, mode=0o600)
    write_atomic(pair.cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
