"""SCRAM-SHA-256 verifiers as PostgreSQL stores them."""

from __future__ import annotations

import base64

from opsrunner_lab.pg_scram import saslprep, scram_verifier, verifier_matches


def test_verifier_shape_and_a_fixed_salt_gives_a_fixed_verifier() -> None:
    salt = bytes(range(16))
    verifier = scram_verifier("pencil", salt, 4096)
    method, params, keys = verifier.split("$")
    assert (method, params) == ("SCRAM-SHA-256", "4096:" + base64.b64encode(salt).decode())
    assert [len(base64.b64decode(key)) for key in keys.split(":")] == [32, 32]
    assert scram_verifier("pencil", salt, 4096) == verifier
    assert scram_verifier("pencil") != scram_verifier("pencil")  # a fresh salt each time


def test_matching_a_stored_verifier() -> None:
    stored = scram_verifier("pencil")
    assert verifier_matches(stored, "pencil")
    assert not verifier_matches(stored, "pencil2")
    assert not verifier_matches("md5" + "0" * 32, "pencil")
    assert not verifier_matches("", "pencil")
    assert not verifier_matches("SCRAM-SHA-256$x:salt$a:b", "pencil")


def test_saslprep_as_the_server_applies_it() -> None:
    assert saslprep("plain ascii \x07") == b"plain ascii \x07"  # ASCII: as is
    assert saslprep("I\u00adX") == b"IX"  # soft hyphen maps to nothing (RFC 4013 example)
    assert saslprep("\u2168") == b"IX"  # NFKC of ROMAN NUMERAL NINE
    assert saslprep("caf\u00e9\u3000x") == "caf\u00e9 x".encode()  # non-ASCII space -> space
    assert saslprep("\u00e9\u0007") == "\u00e9\u0007".encode()  # prohibited: raw bytes
    assert saslprep("\u0627a") == "\u0627a".encode()  # mixed bidi: raw bytes
