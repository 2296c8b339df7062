"""The engine-side controls of the olvm-baseline profile (controls/engine_tls.yml and
engine_ops.yml) on a lab of their own (127.0.120.x, one KVM host), hardened first (hsts.yml,
backup.yml and the autovacuum pass a real engine runs): every control passes on every host it
applies to, then each fault (a reverted HSTS patch; an expired, an expiring or a misnamed
certificate; a third-party chain with apache-ca.pem left a symlink; /etc/pki 0700; an engine
CA near its end; an old or a corrupt backup; bloat rows; stopped services; a skewed clock)
fails its control with the evidence line an auditor reads, and passes again once undone
(every file restored byte for byte, with its mode)."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from cert_chains import issue, make_chain, new_key
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from lab_up import running_lab
from pg_lab import query
from workflow_lab import db_confs, run_workflow

from opsrunner.cli.compliance import ProfileRequest, compliance_report
from opsrunner.compliance.model import ComplianceReport, ControlResult
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.vendor_copy import installed_package

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "olvm-baseline"
FQDN = "engine.lab.local"
KVM = "kvm1"
PKI = "etc/pki/ovirt-engine"
CERT, KEY, APACHE_CA, ENGINE_CA = (f"{PKI}/certs/apache.cer", f"{PKI}/keys/apache.key.nopass",
                                   f"{PKI}/apache-ca.pem", f"{PKI}/ca.pem")
HSTS_CONF = "etc/httpd/conf.d/ovirt-enable-strict-transport-security.conf"
IMAGEIO_HTTP = "usr/lib64/python3.6/site-packages/ovirt_imageio/_internal/http.py"
BACKUPS = "var/lib/ovirt-engine-backup"
ENGINE_CONTROLS = ("OLVM-TLS-001", "OLVM-TLS-002", "OLVM-TLS-003", "OLVM-TLS-004",
                   "OLVM-TLS-005", "OLVM-PKI-001", "OLVM-PKI-002", "OLVM-PKI-003",
                   "OLVM-BAK-001", "OLVM-DB-001", "OLVM-SVC-001", "OLVM-SVC-002")
CLOCK = "OLVM-TIME-001"
ALL = (*ENGINE_CONTROLS, CLOCK)
BLOAT_NOTE = "opsrunner compliance test dead row"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    """The module's lab, hardened: HSTS on every port, a fresh verified backup, and the
    lazy VACUUM a real engine's autovacuum runs (the seeded bloat tables have autovacuum off,
    and the statistics count dead rows until a VACUUM or ANALYZE reports them gone)."""
    with running_lab("127.0.120.", kvm_hosts=1) as layout:
        work = tmp_path_factory.mktemp("harden")
        for workflow in ("hsts.yml", "backup.yml"):
            run = run_workflow(layout, work, workflow)
            assert run.code == 0, (workflow, run.engine)
        autovacuum(layout)
        yield layout


def autovacuum(lab: LabLayout) -> None:
    engine, _ = db_confs(lab)
    query(engine, "VACUUM")


def sysroot(lab: LabLayout, path: str, host: str = ENGINE) -> Path:
    return lab.sysroot(host) / path


def state_of(paths: Iterable[Path]) -> dict[str, str]:
    """Each path's kind, mode and content hash or link target ("absent" when missing)."""
    found = {}
    for path in paths:
        if not path.exists() and not path.is_symlink():
            found[str(path)] = "absent"
            continue
        info = path.lstat()
        what = (f"-> {path.readlink()}" if path.is_symlink() else
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir")
        found[str(path)] = f"{info.st_mode:o} {info.st_uid}:{info.st_gid} {what}"
    return found


def write(path: Path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def restart(lab: LabLayout, *services: str) -> None:
    assert Systemctl(lab, ENGINE).run("restart", list(services)) == 0


def check(lab: LabLayout, tmp_path: Path, controls: Sequence[str],
          extra: Sequence[str] = ()) -> ComplianceReport:
    """Run ``controls`` of the profile on the lab (the Python API the CLI uses)."""
    return compliance_report(ProfileRequest(
        profile=str(PROFILE), inventory=str(lab.inventory), controls=tuple(controls),
        extra=tuple(extra), state_dir=str(tmp_path / "state")))


def result(report: ComplianceReport, control: str, host: str = ENGINE) -> ControlResult:
    found = report.result(control, host)
    assert found is not None, f"no result of {control} on {host}: {report.results}"
    return found


def passed(report: ComplianceReport, controls: Sequence[str], host: str = ENGINE) -> None:
    for control in controls:
        found = result(report, control, host)
        assert found.status == "passed", (control, host, found.message)
        assert found.evidence, (control, host, "no evidence recorded")


def failed(report: ComplianceReport, control: str, host: str = ENGINE) -> ControlResult:
    found = result(report, control, host)
    assert found.status == "failed", (control, host, found.status, found.message)
    assert found.evidence, (control, host, "no evidence recorded for the failure")
    return found


def served_until(days: int) -> str:
    """The notAfter day of a certificate made now for ``days`` days (LabCA.issue's start is
    five minutes ago)."""
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    return (start + datetime.timedelta(days=days)).strftime("%Y-%m-%d")


# ---------------------------------------------------------------- every control passes

def test_every_engine_control_passes_on_the_hardened_lab(lab: LabLayout, tmp_path: Path) -> None:
    """Through the CLI, as an auditor runs it: exit 0, every control passed on every host."""
    args = [arg for cid in ALL for arg in ("--control", cid)]
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "verify", "--profile",
                           str(PROFILE), "-i", str(lab.inventory), "--state-dir",
                           str(tmp_path / "state"), "--output", "json", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    data = json.loads(proc.stdout)
    statuses = {(c["id"], r["host"]): (r["status"], r["message"], r["evidence"])
                for c in data["controls"] for r in c["results"]}
    expected = {(cid, ENGINE) for cid in ALL} | {(CLOCK, KVM)}
    assert set(statuses) == expected
    for key, (status, message, found) in statuses.items():
        assert status == "passed", (key, message)
        assert found, (key, "no evidence")
    assert proc.returncode == 0, proc.stderr
    evidence = {key: found for key, (_, _, found) in statuses.items()}
    assert evidence["OLVM-TLS-001", ENGINE]["httpd.strict_transport_security"] == \
        "max-age=63072000; includeSubDomains"
    assert evidence["OLVM-PKI-001", ENGINE]["apache_ca"] == "symlink to ca.pem"
    assert evidence["OLVM-PKI-002", ENGINE] == {
        "/etc/pki.mode": "0755", "/etc/pki.owner": "root:root",
        "/etc/pki/ovirt-engine.mode": "0755", "/etc/pki/ovirt-engine.owner": "root:root"}
    newest = max(sysroot(lab, BACKUPS).glob("ovirt-engine-backup-*.backup"),
                 key=lambda p: p.stat().st_mtime)
    assert evidence["OLVM-BAK-001", ENGINE]["backup.file"] == newest.name
    assert evidence["OLVM-BAK-001", ENGINE]["backup.sha256"] == \
        hashlib.sha256(newest.read_bytes()).hexdigest()
    assert evidence["OLVM-DB-001", ENGINE] == {"dead_rows.bloated_tables": "none"}
    assert evidence["OLVM-SVC-002", ENGINE]["health.body"] == "DB Up!Welcome to Health Status!"
    assert evidence[CLOCK, KVM] == {"clock.offset_seconds": "+0"}


# ---------------------------------------------------------------- HSTS

def test_a_reverted_hsts_patch_and_a_removed_httpd_conf_fail(lab: LabLayout,
                                                             tmp_path: Path) -> None:
    """A package update put imageio's pristine http.py back; the HSTS conf of httpd is gone
    (the header on 443 and the rewrite of http to https with it)."""
    imageio, conf = sysroot(lab, IMAGEIO_HTTP), sysroot(lab, HSTS_CONF)
    before = state_of([imageio, conf])
    saved = {path: (path.read_bytes(), path.stat().st_mode & 0o7777) for path in (imageio, conf)}
    shutil.copyfile(installed_package("ovirt_imageio") / "_internal/http.py", imageio)
    conf.unlink()
    try:
        restart(lab, "httpd", "ovirt-imageio")
        report = check(lab, tmp_path, ["OLVM-TLS-001", "OLVM-TLS-002"])
        hsts = failed(report, "OLVM-TLS-001")
        lines = hsts.message.splitlines()
        assert len(lines) == 2, hsts.message
        assert re.fullmatch(
            r"\[httpd\] https://127\.0\.120\.2:443/ \(httpd\) answers HTTP/1\.1 \d+ [^,]+ "
            r"with no Strict-Transport-Security header, the profile requires "
            r"max-age=63072000; includeSubDomains", lines[0]), lines[0]
        assert re.fullmatch(
            r"\[ovirt-imageio\] https://127\.0\.120\.2:54323/ \(ovirt-imageio\) answers "
            r"HTTP/1\.1 404 Not Found with no Strict-Transport-Security header, the "
            r"profile requires max-age=31536000", lines[1]), lines[1]
        assert hsts.evidence == {
            "httpd.strict_transport_security": "(none)",
            "ovirt-imageio.strict_transport_security": "(none)",
            "ovirt-provider-ovn.strict_transport_security": "max-age=31536000",
            "ovirt-websocket-proxy.strict_transport_security": "max-age=31536000"}
        redirect = failed(report, "OLVM-TLS-002")
        assert redirect.message.startswith("http://127.0.120.2:80/ovirt-engine/ answers HTTP/1.1 ")
        assert redirect.message.endswith(", the profile requires a redirect to https://")
        assert redirect.evidence["http.location"] == "(none)"
    finally:
        for path, (data, mode) in saved.items():
            write(path, data, mode)
        restart(lab, "httpd", "ovirt-imageio")
    assert state_of([imageio, conf]) == before
    passed(check(lab, tmp_path, ["OLVM-TLS-001", "OLVM-TLS-002"]),
           ["OLVM-TLS-001", "OLVM-TLS-002"])


def test_another_max_age_is_a_failure_unless_the_run_asks_for_it(lab: LabLayout,
                                                                tmp_path: Path) -> None:
    report = check(lab, tmp_path, ["OLVM-TLS-001"], ["hsts_max_age=600"])
    found = failed(report, "OLVM-TLS-001")
    assert found.message.splitlines() == [
        f"[{service}] https://127.0.120.2:{port}/ ({service}) sends Strict-Transport-Security: "
        f"max-age=31536000, the profile requires max-age=600"
        for service, port in (("ovirt-imageio", 54323), ("ovirt-provider-ovn", 35357),
                              ("ovirt-websocket-proxy", 6100))]


# ---------------------------------------------------------------- the served certificate

def test_expired_expiring_and_misnamed_certificates_fail_their_controls(lab: LabLayout,
                                                                      tmp_path: Path) -> None:
    cert, key = sysroot(lab, CERT), sysroot(lab, KEY)
    before = state_of([cert, key, sysroot(lab, APACHE_CA)])
    saved = {path: (path.read_bytes(), path.stat().st_mode & 0o7777) for path in (cert, key)}
    ca = LabCA(lab.root / "pki")
    served = ["OLVM-TLS-003", "OLVM-TLS-004", "OLVM-TLS-005"]
    try:
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=40)
        expired = make_chain(0, FQDN, addresses=(lab.engine_address,), start=start, days=37,
                             prefix="Old")
        write(key, expired.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                             NoEncryption()), 0o600)
        write(cert, expired.cert.public_bytes(Encoding.PEM), 0o644)
        restart(lab, "httpd")
        gone = failed(check(lab, tmp_path, ["OLVM-TLS-003"]), "OLVM-TLS-003")
        assert gone.message == (
            f"https://127.0.120.2:443/ serves a certificate (engine.lab.local) that expired "
            f"{expired.cert.not_valid_after_utc:%Y-%m-%d} (3 days ago), the profile requires at "
            f"least 30 days")

        key_pem, cert_pem = ca.issue(FQDN, [FQDN], [lab.engine_address], days=10)
        write(key, key_pem, 0o600)
        write(cert, cert_pem, 0o644)
        restart(lab, "httpd")
        report = check(lab, tmp_path, served)
        expiring = failed(report, "OLVM-TLS-003")
        assert expiring.message == (
            f"https://127.0.120.2:443/ serves a certificate (engine.lab.local) that expires "
            f"{served_until(10)} (9 days), the profile requires at least 30 days")
        assert expiring.evidence["served.sha256"] == expiring.evidence["apache_cer.sha256"]
        passed(report, ["OLVM-TLS-004", "OLVM-TLS-005"])
        assert result(check(lab, tmp_path, ["OLVM-TLS-003"], ["apache_min_days=7"]),
                      "OLVM-TLS-003").status == "passed"

        key_pem, cert_pem = ca.issue("other.lab.local", ["other.lab.local"], [], days=400)
        write(key, key_pem, 0o600)
        write(cert, cert_pem, 0o644)
        # the file changed, httpd not restarted yet (and the 10-day one allowed by the run)
        stale = failed(check(lab, tmp_path, ["OLVM-TLS-003"], ["apache_min_days=7"]), "OLVM-TLS-003")
        assert re.fullmatch(r"https://127\.0\.120\.2:443/ serves a certificate \(sha256 "
                            r"[0-9A-F:]{23}\.\.\.\) other than /etc/pki/ovirt-engine/certs/"
                            r"apache\.cer \(sha256 [0-9A-F:]{23}\.\.\.\): httpd was not "
                            r"restarted since the file changed", stale.message), stale.message
        restart(lab, "httpd")
        report = check(lab, tmp_path, served)
        misnamed = failed(report, "OLVM-TLS-004")
        assert misnamed.message == ("https://127.0.120.2:443/ serves a certificate for "
                                    "other.lab.local, which does not cover the engine FQDN "
                                    "engine.lab.local")
        assert misnamed.evidence == {"served.subject_alt_names": "other.lab.local"}
        passed(report, ["OLVM-TLS-003", "OLVM-TLS-005"])
    finally:
        for path, (data, mode) in saved.items():
            write(path, data, mode)
        restart(lab, "httpd")
    assert state_of([cert, key, sysroot(lab, APACHE_CA)]) == before
    passed(check(lab, tmp_path, served), served)


def test_a_third_party_certificate_needs_its_chain_in_apache_ca(lab: LabLayout,
                                                                tmp_path: Path) -> None:
    """The guide's replacement with steps 2 and 3 forgotten (apache-ca.pem still the symlink
    to ca.pem): Apache serves the certificate alone, clients trusting the third-party root
    cannot validate it. Then apache-ca.pem replaced by the chain: both pass."""
    cert, key, apache_ca = sysroot(lab, CERT), sysroot(lab, KEY), sysroot(lab, APACHE_CA)
    before = state_of([cert, key, apache_ca])
    saved = {path: (path.read_bytes(), path.stat().st_mode & 0o7777) for path in (cert, key)}
    chain = make_chain(1, FQDN, addresses=(lab.engine_address,), prefix="Third")
    ca_file, cert_file, key_file = chain.write(tmp_path / "third")
    root = tmp_path / "third-root.pem"
    root.write_bytes(chain.cas[0].public_bytes(Encoding.PEM))
    controls = ["OLVM-TLS-003", "OLVM-TLS-004", "OLVM-TLS-005", "OLVM-PKI-001"]
    trust = [f"engine_ca_file={root}"]
    try:
        write(key, key_file.read_bytes(), 0o600)
        write(cert, cert_file.read_bytes(), 0o644)
        restart(lab, "httpd")
        report = check(lab, tmp_path, controls, trust)
        link = failed(report, "OLVM-PKI-001")
        assert link.message == (
            "/etc/pki/ovirt-engine/certs/apache.cer is issued by CN=Third Intermediate 1, not "
            "the engine CA, but /etc/pki/ovirt-engine/apache-ca.pem is still a symlink to "
            "ca.pem: the third-party CA chain must replace it")
        assert link.evidence == {"apache_cer.issuer": "CN=Third Intermediate 1",
                                 "apache_cer.issued_by_engine_ca": "no",
                                 "apache_ca": "symlink to ca.pem"}
        unchained = failed(report, "OLVM-TLS-005")
        assert unchained.message == (
            f"https://127.0.120.2:443/ serves the chain engine.lab.local, which does not "
            f"validate with engine_ca_file {root} (roots Third Root CA): unable to get local "
            f"issuer certificate")
        passed(report, ["OLVM-TLS-003", "OLVM-TLS-004"])

        apache_ca.unlink()  # the guide's steps 2 and 3
        write(apache_ca, ca_file.read_bytes(), 0o644)
        restart(lab, "httpd")
        report = check(lab, tmp_path, controls, trust)
        passed(report, controls)
        assert result(report, "OLVM-TLS-005").evidence["served.chain"] == \
            "engine.lab.local -> Third Intermediate 1 -> Third Root CA"
    finally:
        for path, (data, mode) in saved.items():
            write(path, data, mode)
        apache_ca.unlink(missing_ok=True)
        apache_ca.symlink_to("ca.pem")
        restart(lab, "httpd")
    assert state_of([cert, key, apache_ca]) == before
    passed(check(lab, tmp_path, controls), controls)


# ---------------------------------------------------------------- PKI files

def test_a_narrowed_pki_folder_and_an_engine_ca_near_its_end_fail(lab: LabLayout,
                                                                 tmp_path: Path) -> None:
    pki_root, engine_ca = sysroot(lab, "etc/pki"), sysroot(lab, ENGINE_CA)
    before = state_of([pki_root, engine_ca])
    saved = engine_ca.read_bytes(), engine_ca.stat().st_mode & 0o7777
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Short CA")])
    short = issue("Short CA", key, name, key, ca=True, days=100)
    controls = ["OLVM-PKI-002", "OLVM-PKI-003"]
    try:
        pki_root.chmod(0o700)
        write(engine_ca, short.public_bytes(Encoding.PEM), saved[1])
        report = check(lab, tmp_path, controls)
        modes = failed(report, "OLVM-PKI-002")
        assert modes.message == "[/etc/pki] /etc/pki is mode 0700, the profile requires 0755"
        assert modes.evidence["/etc/pki.mode"] == "0700"
        assert modes.evidence["/etc/pki/ovirt-engine.mode"] == "0755"
        expiring = failed(report, "OLVM-PKI-003")
        until = short.not_valid_after_utc
        days = (until - datetime.datetime.now(datetime.UTC)).days
        assert expiring.message == (
            f"the engine CA /etc/pki/ovirt-engine/ca.pem (Short CA) expires "
            f"{until:%Y-%m-%d} ({days} days), the profile requires at least 365 days")
        assert expiring.evidence["engine_ca.not_after"] == until.isoformat()
    finally:
        pki_root.chmod(0o755)
        write(engine_ca, *saved)
    assert state_of([pki_root, engine_ca]) == before
    passed(check(lab, tmp_path, controls), controls)


# ---------------------------------------------------------------- operations

def test_an_old_backup_bloat_stopped_services_and_a_skewed_clock_fail(lab: LabLayout,
                                                                      tmp_path: Path) -> None:
    """Four independent faults in one run: the newest backup 30 hours old, 20000 dead rows in
    audit_log, ovirt-engine and ovirt-provider-ovn stopped, kvm1's clock 600 s ahead."""
    newest = max(sysroot(lab, BACKUPS).glob("ovirt-engine-backup-*.backup"),
                 key=lambda p: p.stat().st_mtime)
    times = newest.stat().st_atime_ns, newest.stat().st_mtime_ns
    shim = lab.bin_dir(KVM) / "date"
    before = state_of([newest, shim])
    engine_db, _ = db_confs(lab)
    controls = ["OLVM-BAK-001", "OLVM-DB-001", "OLVM-SVC-001", "OLVM-SVC-002", CLOCK]
    ctl = Systemctl(lab, ENGINE)
    try:
        old = time.time() - 30 * 3600
        os.utime(newest, (old, old))
        query(engine_db, f"INSERT INTO audit_log (log_time, log_type_name, log_type, severity, "
                         f"message) SELECT now(), '{BLOAT_NOTE}', 1, 0, 'x' "
                         f"FROM generate_series(1, 20000); "
                         f"DELETE FROM audit_log WHERE log_type_name = '{BLOAT_NOTE}'")
        assert ctl.run("stop", ["ovirt-engine", "ovirt-provider-ovn"]) == 0
        shim.write_text("#!/bin/sh\nexec /usr/bin/date -d '600 seconds' \"$@\"\n")
        shim.chmod(0o755)
        report = check(lab, tmp_path, controls)
        backup = failed(report, "OLVM-BAK-001")
        written = datetime.datetime.fromtimestamp(old, datetime.UTC)
        assert backup.message == (
            f"the newest engine backup /var/lib/ovirt-engine-backup/{newest.name} is 30.0 hours "
            f"old (written {written:%Y-%m-%d %H:%M:%S} UTC), the profile requires one newer "
            f"than 26 hours")
        assert backup.evidence["backup.file"] == newest.name
        bloat = failed(report, "OLVM-DB-001")
        assert re.fullmatch(r"the engine database has 1 bloated table\(s\): public\.audit_log "
                            r"(\d+) dead of \d+ rows \(\d+%\); the profile allows at most 10000 "
                            r"dead rows or 20% dead in a table \(run the engine vacuum\)",
                            bloat.message), bloat.message
        assert bloat.evidence["dead_rows.bloated_tables"].startswith("public.audit_log ")
        services = failed(report, "OLVM-SVC-001")
        assert services.message.startswith("ovirt-engine, ovirt-provider-ovn are not running on "
                                           "the engine, the profile requires ovirt-engine, ")
        assert services.evidence["service.ovirt-engine"] == "not running"
        assert services.evidence["service.httpd"] == "running"
        health = failed(report, "OLVM-SVC-002")
        assert health.message.startswith(
            "https://127.0.120.2:443/ovirt-engine/services/health answers HTTP 503 ")
        assert health.message.endswith(
            ", the profile requires 200 'DB Up!Welcome to Health Status!'")
        clock = failed(report, CLOCK, KVM)
        assert re.fullmatch(r"the host's clock reads \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, "
                            r"\+(599|600)\.\d s off the control node \(round trip \d+\.\d\d s\), "
                            r"the profile allows 5 s", clock.message), clock.message
        assert clock.evidence == {"clock.offset_seconds": "+600"}
        passed(report, [CLOCK], ENGINE)
    finally:
        shim.unlink(missing_ok=True)
        assert ctl.run("start", ["ovirt-engine", "ovirt-provider-ovn"]) == 0
        query(engine_db, "VACUUM audit_log")
        os.utime(newest, ns=times)
    assert state_of([newest, shim]) == before
    assert newest.stat().st_mtime_ns == times[1]
    report = check(lab, tmp_path, controls)
    passed(report, controls)
    passed(report, [CLOCK], KVM)


def test_a_corrupt_newest_backup_fails_verification(lab: LabLayout, tmp_path: Path) -> None:
    folder = sysroot(lab, BACKUPS)
    good = max(folder.glob("ovirt-engine-backup-*.backup"), key=lambda p: p.stat().st_mtime)
    before = state_of(sorted(folder.iterdir()))
    corrupt = folder / "ovirt-engine-backup-29991231235959.backup"
    write(corrupt, good.read_bytes()[:4096], 0o600)  # a copy cut short (disk full)
    try:
        found = failed(check(lab, tmp_path, ["OLVM-BAK-001"]), "OLVM-BAK-001")
        assert found.message.startswith(
            f"engine-backup --mode=verify --file=/var/lib/ovirt-engine-backup/{corrupt.name} "
            f"refuses the newest engine backup (exit status 1): FATAL: "), found.message
        assert found.evidence["backup.file"] == corrupt.name
        assert found.evidence["backup.verify"].startswith("refused: FATAL: ")
    finally:
        corrupt.unlink()
    assert state_of(sorted(folder.iterdir())) == before
    report = check(lab, tmp_path, ["OLVM-BAK-001"])
    passed(report, ["OLVM-BAK-001"])
    assert result(report, "OLVM-BAK-001").evidence["backup.file"] == good.name


# ---------------------------------------------------------------- the whole profile, drift

def verify_cli(lab: LabLayout, state: Path, *args: str) -> tuple[int, dict[str, object], str]:
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "verify", "--profile",
                           "olvm-baseline", "-i", str(lab.inventory), "--state-dir", str(state),
                           "--output", "json", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_the_whole_profile_then_a_change_shows_as_drift_with_its_run(
        lab: LabLayout, tmp_path: Path) -> None:
    """Every control of olvm-baseline on the hardened lab (JUnit, HTML, JSON), accepted as the
    baseline; hsts.yml removing HSTS fails its own post-change controls, and the next
    compliance run names that run as the cause of the drift; hsts.yml again restores it."""
    state = tmp_path / "state"
    junit, html = tmp_path / "compliance.xml", tmp_path / "compliance.html"
    code, data, err = verify_cli(lab, state, "--accept", "--junit", str(junit), "--html",
                                 str(html))
    results = {(c["id"], r["host"]): r for c in data["controls"]  # type: ignore[attr-defined]
               for r in c["results"]}
    assert code == 0, [(k, r["message"]) for k, r in results.items() if r["status"] != "passed"]
    assert {k[0] for k in results} >= {*ALL, "OLVM-HOST-001", "OLVM-VDSM-001", "OLVM-VDSM-002"}
    assert {r["status"] for r in results.values()} == {"passed"}
    assert data["accepted"] is True and data["drift"] is None
    suites = {s.get("hostname"): s for s in ET.parse(junit).getroot().iter("testsuite")}
    assert set(suites) == {ENGINE, KVM, "ol8-vm1"}  # the lab's default guest: OLVM-GUEST-001
    assert int(suites[ENGINE].get("failures", "1")) == 0
    assert "olvm-baseline" in html.read_text(encoding="utf-8")

    try:
        changed = run_workflow(lab, tmp_path, "hsts.yml", "-e", "hsts_remove=true")
        assert changed.code == 2, changed.engine
        proving = {c["name"].partition(":")[0]: c for c in changed.engine["verify"]
                   if c["name"].startswith("OLVM-")}
        assert proving["OLVM-TLS-001"]["status"] == "failed"
        assert proving["OLVM-TLS-002"]["status"] == "failed"
        assert proving["OLVM-SVC-001"]["status"] == "passed"

        code, data, err = verify_cli(lab, state, "--control", "OLVM-TLS-001")
        assert code == 2, err
        drift = data["drift"]
        assert isinstance(drift, dict)
        (status,) = drift["statuses"]
        assert (status["control"], status["host"], status["kind"], status["changed_by"]) == (
            "OLVM-TLS-001", ENGINE, "newly failing", changed.report["run_id"])
        assert status["changed_by_workflow"] == "Enable HTTP Strict Transport Security"
        assert any(e["control"] == "OLVM-TLS-001" and e["changed_by"] == changed.report["run_id"]
                   for e in drift["evidence"])
    finally:
        restored = run_workflow(lab, tmp_path, "hsts.yml")
        assert restored.code == 0, restored.engine
    code, data, err = verify_cli(lab, state, "--control", "OLVM-TLS-001")
    assert code == 0, err
    assert data["drift"]["statuses"] == []  # type: ignore[index]
