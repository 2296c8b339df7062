"""Certificate chains for the cert_replace tests, made with ``cryptography``: a root, N
intermediates and a server certificate, written as the three PEM files the task takes."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(cn: str, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey,
          *, ca: bool, names: tuple[str, ...] = (), addresses: tuple[str, ...] = (),
          start: datetime.datetime | None = None, days: int = 365) -> x509.Certificate:
    begin = start or NOW - datetime.timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(begin).not_valid_after(begin + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True,
                                                      True, False, False), critical=True)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Chain:
    """A root, its intermediates (root-most first) and a server certificate with its key."""

    cas: list[x509.Certificate]  # root first
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def write(self, folder: Path, order: list[int] | None = None,
              key: rsa.RSAPrivateKey | None = None) -> tuple[Path, Path, Path]:
        """Write ca-chain.pem (last intermediate -> root, or the CAs at ``order`` positions of
        that list), apache.cer and apache.key; return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        ordered = list(reversed(self.cas))
        picked = ordered if order is None else [ordered[i] for i in order]
        pem = serialization.Encoding.PEM
        ca_path, cert_path, key_path = (folder / "ca-chain.pem", folder / "apache.cer",
                                        folder / "apache.key")
        ca_path.write_bytes(b"".join(c.public_bytes(pem) for c in picked))
        cert_path.write_bytes(self.cert.public_bytes(pem))
        key_path.write_bytes((key or self.key).private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        return ca_path, cert_path, key_path


def make_chain(intermediates: int, fqdn: str, *, addresses: tuple[str, ...] = (),
               start: datetime.datetime | None = None, days: int = 365, key_bits: int = 2048,
               prefix: str = "Test") -> Chain:
    """Root -> ``intermediates`` CAs -> a server certificate for ``fqdn``."""
    keys = [new_key() for _ in range(intermediates + 1)]
    root = issue(f"{prefix} Root CA", keys[0], _name(f"{prefix} Root CA"), keys[0], ca=True,
                 days=3650)
    cas = [root]
    for index in range(1, intermediates + 1):
        cas.append(issue(f"{prefix} Intermediate {index}", keys[index], cas[-1].subject,
                         keys[index - 1], ca=True, days=1825))
    server_key = new_key(key_bits)
    cert = issue(fqdn, server_key, cas[-1].subject, keys[-1], ca=False, names=(fqdn,),
                 addresses=addresses, start=start, days=days)
    return Chain(cas, cert, server_key)
