"""Java KeyStore (JKS, version 2) truststores: written by the lab's ``update-ca-trust`` as
``/etc/pki/java/cacerts``, read back by tests and checks.

Layout: magic ``FEEDFEED``, version 2, the entry count; per trusted-certificate entry the tag
2, the alias (Java UTF: a 2-byte length, then the bytes), the creation time in milliseconds,
the certificate type ``X.509``, the DER length and bytes; then the SHA-1 of the password as
UTF-16BE, the words ``Mighty Aphrodite`` and everything before (the integrity check keytool
verifies). p11-kit writes the system truststore with the password ``changeit``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from opsrunner_lab.tools.common import ToolError

MAGIC = 0xFEEDFEED
VERSION = 2
TRUSTED_CERT = 2
DEFAULT_PASSWORD = "changeit"
_WHITENER = b"Mighty Aphrodite"


class JksError(ToolError):
    """Not a JKS truststore, or its integrity check fails."""


def _digest(password: str, body: bytes) -> bytes:
    return hashlib.sha1(password.encode("utf-16-be") + _WHITENER + body,
                        usedforsecurity=False).digest()


def _utf(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def jks_truststore(entries: Sequence[tuple[str, bytes, int]],
                   password: str = DEFAULT_PASSWORD) -> bytes:
    """A JKS holding ``entries`` (alias, certificate DER, creation time in ms) in order."""
    body = bytearray(struct.pack(">III", MAGIC, VERSION, len(entries)))
    for alias, der, created_ms in entries:
        body += struct.pack(">I", TRUSTED_CERT) + _utf(alias) + struct.pack(">q", created_ms)
        body += _utf("X.509") + struct.pack(">I", len(der)) + der
    return bytes(body) + _digest(password, bytes(body))


def read_truststore(data: bytes, password: str = DEFAULT_PASSWORD) -> list[tuple[str, bytes]]:
    """The (alias, certificate DER) entries of a JKS truststore; JksError if it is not one
    (or holds private keys) or the integrity check with ``password`` fails."""
    if len(data) < 32 or struct.unpack_from(">II", data) != (MAGIC, VERSION):
        raise JksError("not a JKS version 2 keystore")
    body, digest = data[:-20], data[-20:]
    if _digest(password, body) != digest:
        raise JksError("keystore was tampered with, or password was incorrect")
    (count,) = struct.unpack_from(">I", body, 8)
    offset, entries = 12, list[tuple[str, bytes]]()
    try:
        for _ in range(count):
            tag, length = struct.unpack_from(">IH", body, offset)
            if tag != TRUSTED_CERT:
                raise JksError(f"entry {len(entries) + 1} is not a trusted certificate")
            alias = body[offset + 6:offset + 6 + length].decode("utf-8")
            offset += 6 + length + 8
            (type_length,) = struct.unpack_from(">H", body, offset)
            offset += 2 + type_length
            (der_length,) = struct.unpack_from(">I", body, offset)
            entries.append((alias, body[offset + 4:offset + 4 + der_length]))
            offset += 4 + der_length
    except struct.error:
        raise JksError("truncated JKS keystore") from None
    return entries
