"""workflows/cert-replace.yml on a lab of its own (127.0.102.x): good chains (one and two
intermediates) are installed with every check green and a second run changes nothing; bad
inputs are refused before anything changes (every file byte-identical); a certificate Apache
refuses to load is rolled back."""

from __future__ import annotations

import datetime
import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cert_chains import Chain, make_chain
from cryptography.hazmat.primitives.serialization import Encoding
from lab_up import running_lab
from workflow_lab import RunOutcome, run_workflow

from opsrunner_lab.layout import ENGINE, LabLayout

FQDN = "engine.lab.local"
PKI = "etc/pki/ovirt-engine"
WATCHED = ("etc/pki", "etc/ovirt-engine", "etc/httpd")
CHECKS = {"test_https_presents_the_new_certificate": "passed",
          "test_apache_ca_is_a_regular_file_equal_to_the_ca": "passed",
          "test_pki_folder_mode_unchanged[/etc/pki]": "passed",
          "test_pki_folder_mode_unchanged[/etc/pki/ovirt-engine]": "passed"}


@pytest.fixture(scope="module")
def cert_lab() -> Iterator[LabLayout]:
    """An engine-only lab on 127.0.102.x; down, purged and checked by pid afterwards."""
    with running_lab("127.0.102.", kvm_hosts=0) as layout:
        yield layout


def files_state(lab: LabLayout) -> dict[str, str]:
    """Every watched path of the engine sysroot: mode, owner and content hash or link target."""
    state = {}
    sysroot = lab.sysroot(ENGINE)
    for top in WATCHED:
        for path in [sysroot / top, *sorted((sysroot / top).rglob("*"))]:
            info = path.lstat()
            what = (f"-> {path.readlink()}" if path.is_symlink() else
                    hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir")
            state[str(path.relative_to(sysroot))] = f"{info.st_mode:o} {info.st_uid} " \
                                                    f"{info.st_gid} {what}"
    return state


def replace(lab: LabLayout, tmp_path: Path, chain: Chain, *args: str,
            order: list[int] | None = None, key_of: Chain | None = None) -> RunOutcome:
    ca, cert, key = chain.write(tmp_path / "input", order, key_of.key if key_of else None)
    return run_workflow(lab, tmp_path, "cert-replace.yml", "-e", f"ca_chain={ca}",
                        "-e", f"cert={cert}", "-e", f"key={key}", *args)


def served_der(lab: LabLayout) -> bytes:
    pem = ssl.get_server_certificate((lab.engine_address, 443))
    return ssl.PEM_cert_to_DER_cert(pem)


def der(chain: Chain) -> bytes:
    return chain.cert.public_bytes(Encoding.DER)


def server_chain(lab: LabLayout, intermediates: int, *, prefix: str = "Test",
                 start: datetime.datetime | None = None, days: int = 365,
                 key_bits: int = 2048) -> Chain:
    """A chain whose certificate names the engine FQDN and its address (the engine API URL)."""
    return make_chain(intermediates, FQDN, addresses=(lab.engine_address,), prefix=prefix,
                      start=start, days=days, key_bits=key_bits)


def test_refusals_change_nothing(cert_lab: LabLayout, tmp_path: Path) -> None:
    good = server_chain(cert_lab, 2)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=400)
    cases: dict[str, tuple[Chain, list[int] | None, Chain | None, str]] = {
        "wrong order": (good, [1, 0, 2], None,
                        "the CA chain is in the wrong order: found Test Intermediate 1 -> "
                        "Test Intermediate 2 -> Test Root CA; expected (last intermediate to "
                        "root) Test Intermediate 2 -> Test Intermediate 1 -> Test Root CA"),
        "missing intermediate": (good, [0, 2], None,
                                 "the CA chain is incomplete: no certificate in it issued "
                                 "'Test Intermediate 2'"),
        "key not matching": (good, None, server_chain(cert_lab, 1),
                             "the key does not match the certificate 'engine.lab.local'"),
        "expired": (server_chain(cert_lab, 1, start=past, days=30), None, None,
                    "the certificate 'engine.lab.local' expired on "),
        "wrong hostname": (make_chain(1, "other.lab.local"), None, None,
                           "the certificate 'other.lab.local' does not cover the engine FQDN "
                           "'engine.lab.local': its names are other.lab.local"),
    }
    before = files_state(cert_lab)
    served = served_der(cert_lab)
    for case, (chain, order, key_of, message) in cases.items():
        run = replace(cert_lab, tmp_path / case.replace(" ", "-"), chain, "--no-verify",
                      order=order, key_of=key_of)
        assert run.code != 0, case
        step = run.step("cert_replace")
        assert step["status"] == "failed", case
        assert step["msg"].startswith(message), (case, step["msg"])
        assert files_state(cert_lab) == before, case
    assert served_der(cert_lab) == served


def test_good_chains_are_installed_once_and_checked(cert_lab: LabLayout, tmp_path: Path) -> None:
    sysroot = cert_lab.sysroot(ENGINE)
    original = (sysroot / PKI / "certs/apache.cer").read_bytes()
    two = server_chain(cert_lab, 2, prefix="Two")
    before = files_state(cert_lab)
    planned = replace(cert_lab, tmp_path / "two", two, "--check", "--no-verify")
    assert planned.code == 0, planned.engine
    assert planned.step("cert_replace")["msg"].startswith(
        "would: trust anchor /etc/pki/ca-trust/source/anchors/ca-chain.pem + update-ca-trust "
        "export; /etc/pki/ovirt-engine/apache-ca.pem replaced by the CA file; ")
    assert files_state(cert_lab) == before
    first = replace(cert_lab, tmp_path / "two", two)
    assert first.code == 0, first.engine
    assert first.step("cert_replace")["status"] == "changed"
    assert first.step("api.event")["status"] == "changed"
    assert first.checks() == CHECKS
    assert first.controls() == dict.fromkeys(  # profile: olvm-baseline, tagged cert-replace
        ("OLVM-SVC-001", "OLVM-SVC-002", "OLVM-TLS-003", "OLVM-TLS-004", "OLVM-TLS-005",
         "OLVM-PKI-001", "OLVM-PKI-002", "OLVM-PKI-003"), "passed")
    assert served_der(cert_lab) == der(two)
    assert (sysroot / PKI / "certs/apache.cer.bck").read_bytes() == original
    assert oct((sysroot / PKI / "keys/apache.key.nopass").stat().st_mode & 0o777) == "0o600"
    assert not (sysroot / PKI / "apache-ca.pem").is_symlink()
    assert 'ENGINE_HTTPS_PKI_TRUST_STORE="/etc/pki/java/cacerts"\n' in (
        sysroot / "etc/ovirt-engine/engine.conf.d/99-custom-truststore.conf").read_text()
    ws = (sysroot / "etc/ovirt-engine/ovirt-websocket-proxy.conf.d/10-setup.conf").read_text()
    assert "SSL_CERTIFICATE=/etc/pki/ovirt-engine/certs/apache.cer\n" in ws
    assert "SSL_KEY=/etc/pki/ovirt-engine/keys/apache.key.nopass\n" in ws
    assert (sysroot / "etc/pki/ca-trust/source/anchors/ca-chain.pem").is_file()
    for folder in ("etc/pki", PKI):
        assert (sysroot / folder).stat().st_mode & 0o777 == 0o755

    state = files_state(cert_lab)
    again = replace(cert_lab, tmp_path / "two", two)
    assert again.code == 0, again.engine
    assert again.step("cert_replace")["status"] == "ok"
    assert again.step("api.event")["status"] == "skipped"
    assert again.checks() == CHECKS
    assert files_state(cert_lab) == state

    one = server_chain(cert_lab, 1, prefix="One")
    third = replace(cert_lab, tmp_path / "one", one)
    assert third.code == 0, third.engine
    assert third.checks() == CHECKS
    assert served_der(cert_lab) == der(one)
    assert (sysroot / PKI / "certs/apache.cer.bck").read_bytes() == \
        two.cert.public_bytes(Encoding.PEM)
    kept = list((sysroot / PKI / "certs").glob("apache.cer.bck.*.bak"))
    assert [path.read_bytes() for path in kept] == [original]


def test_a_certificate_apache_refuses_is_rolled_back(cert_lab: LabLayout, tmp_path: Path) -> None:
    """A 1024-bit RSA key passes validation but OpenSSL's default security level (2) makes
    Apache refuse it ("ee key too small"): httpd fails to start with the new files."""
    sysroot = cert_lab.sysroot(ENGINE)
    cert, key = sysroot / PKI / "certs/apache.cer", sysroot / PKI / "keys/apache.key.nopass"
    before = (cert.read_bytes(), key.read_bytes(), served_der(cert_lab))
    weak = server_chain(cert_lab, 1, prefix="Weak", key_bits=1024)
    run = replace(cert_lab, tmp_path, weak, "--no-verify")
    assert run.code != 0
    msg = run.step("cert_replace")["msg"]
    assert msg.startswith("httpd failed to start with the new certificate: "), msg
    assert "rolled back apache.cer, apache.key.nopass (from the .bck files) and apache-ca.pem; " \
           "httpd runs again with the previous certificate." in msg
    assert (cert.read_bytes(), key.read_bytes(), served_der(cert_lab)) == before
