"""PostgreSQL SCRAM-SHA-256 password verifiers, computed client-side.

The lab sets role passwords as verifiers (``CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$...'``),
so the plain password never reaches the server, its logs or an argv, and it can tell whether
a role's stored verifier still matches the conf file's password (RFC 5802, RFC 7677).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

ITERATIONS = 4096
_PROHIBITED = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
               stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
               stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
               stringprep.in_table_a1)


def saslprep(password: str) -> bytes:
    """The bytes the server hashes: SASLprep (RFC 4013) of ``password``, or its raw UTF-8
    when it is ASCII or SASLprep rejects it (the server does the same)."""
    raw = password.encode()
    if password.isascii():
        return raw
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in password
                     if not stringprep.in_table_b1(c))
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    if not prepared or any(check(c) for c in prepared for check in _PROHIBITED):
        return raw
    if any(stringprep.in_table_d1(c) for c in prepared) and (
            any(stringprep.in_table_d2(c) for c in prepared)
            or not stringprep.in_table_d1(prepared[0])
            or not stringprep.in_table_d1(prepared[-1])):
        return raw
    return prepared.encode()


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` for ``password``."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return (f"SCRAM-SHA-256${iterations}:{_b64(salt)}"
            f"${_b64(stored_key)}:{_b64(server_key)}")


def verifier_matches(stored: str, password: str) -> bool:
    """Whether the stored ``rolpassword`` is a SCRAM verifier of ``password``."""
    try:
        method, params, _keys = stored.split("$")
        iterations_text, salt_text = params.split(":")
        salt = base64.b64decode(salt_text, validate=True)
        iterations = int(iterations_text)
    except ValueError:
        return False
    if method != "SCRAM-SHA-256" or iterations <= 0:
        return False
    expected = scram_verifier(password, salt, iterations)
    return hmac.compare_digest(expected.encode(), stored.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
