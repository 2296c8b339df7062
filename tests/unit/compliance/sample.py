"""Realistic compliance reports for the report writers' tests (no servers).

:func:`sample_report`: profile ``olvm-baseline``, six controls on engine, kvm01, kvm02 and
guest01 with every status, a waiver in force and one expired, and a drift (a control newly
failing after a run, one newly passing, evidence changed outside opsrunner).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from opsrunner.compliance.model import (
    ComplianceReport,
    Control,
    ControlResult,
    Drift,
    EvidenceChange,
    Profile,
    StatusChange,
    Waiver,
)
from opsrunner.errors import Location

PROFILE_DIR = Path("profiles/olvm-baseline")
HOSTS = ["engine", "kvm01", "kvm02", "guest01"]
STARTED = "2026-03-02T08:15:00Z"
RUN_ID = "20260302T081500Z-6021-c0de"
BASELINE_RUN = "20260215T081500Z-4242-ab12"
SSH_RUN = "20260301T214500Z-5120-9f3e"
CERT_RUN = "20260220T100000Z-311-77aa"
TLS_MESSAGE = "port 443: no Strict-Transport-Security header in the answer to GET /ovirt-engine/"
SSH_MESSAGE = "PermitRootLogin yes (expected prohibit-password)"
PKI_ERROR = "cannot connect: ssh kvm02:22: Connection refused"
GA_SKIP = "no qemu-guest-agent channel: not a virtual machine of the engine"
IN_FORCE_JUSTIFICATION = ("kvm01 is rebuilt in the April maintenance window; the vendor's "
                          "firmware tool logs in as root until then")
EXPIRED_JUSTIFICATION = "HSTS on 443 waits for the load balancer change CHG-1187"


def _control(cid: str, title: str, impact: float, hosts: str, check: str, *tags: str,
             section: str, line: int) -> Control:
    file, _, test = check.partition("::")
    return Control(id=cid, title=title, impact=impact, section=section, tags=tags,
                   rationale=f"Why {cid} matters to an auditor.", hosts=hosts,
                   check=PROFILE_DIR / "controls" / file, test=test,
                   location=Location(str(PROFILE_DIR / "controls" / "baseline.yml"), line, 3))


def sample_profile() -> Profile:
    """The ``olvm-baseline`` profile of the samples (six controls, in file order)."""
    controls = [
        _control("OLVM-TLS-001", "HSTS on every engine port", 0.7, "engines",
                 "engine_tls.py::test_hsts", "hsts", line=1,
                 section="Administration Tasks > Enabling HTTP Strict Transport Security"),
        _control("OLVM-SSH-002", "SSH root login only with a key", 0.5, "kvm:guests",
                 "ssh.py::test_root_login", "sshd-hardening", line=11,
                 section="Security > Hardening the hosts"),
        _control("OLVM-PKI-003", "Engine CA and host certificates valid for 30 days or more",
                 0.8, "engines:kvm", "pki.py::test_certificates", "cert-replace", line=21,
                 section="Administration Tasks > Renewing certificates"),
        _control("OLVM-DB-004", "PostgreSQL autovacuum on for the engine database", 0.3,
                 "engines", "database.py::test_autovacuum", "vacuum", line=31,
                 section="Administration Tasks > Engine database maintenance"),
        _control("OLVM-NTP-005", "Clock synchronized with chronyd", 0.4, "all",
                 "time.py::test_chrony", line=41, section="Installation > Time"),
        _control("OLVM-GA-006", "QEMU guest agent running", 0.05, "guests",
                 "guests.py::test_guest_agent", line=51,
                 section="Virtual Machines > Guest agents"),
    ]
    return Profile(name="olvm-baseline",
                   title="OLVM 4.5 baseline (Oracle Linux Virtualization Manager)",
                   path=PROFILE_DIR, controls={c.id: c for c in controls})


def sample_waivers() -> tuple[Waiver, Waiver]:
    """The waiver in force (OLVM-SSH-002 on kvm01) and the expired one (OLVM-TLS-001)."""
    return (Waiver("OLVM-SSH-002", "kvm01", IN_FORCE_JUSTIFICATION, date(2026, 6, 30),
                   Location("waivers.yml", 1, 3)),
            Waiver("OLVM-TLS-001", "engine", EXPIRED_JUSTIFICATION, date(2026, 2, 28),
                   Location("waivers.yml", 6, 3)))


def sample_results(in_force: Waiver) -> list[ControlResult]:
    """One result per control and host it applies to: every status is there."""
    root = "sshd.PermitRootLogin"
    return [
        ControlResult("OLVM-TLS-001", "engine", "failed", TLS_MESSAGE,
                      {"hsts.443": "absent", "hsts.6100": "max-age=31536000"}, 0.42, 2),
        ControlResult("OLVM-SSH-002", "kvm01", "waived", SSH_MESSAGE, {root: "yes"}, 0.2,
                      waiver=in_force),
        ControlResult("OLVM-SSH-002", "kvm02", "failed", SSH_MESSAGE, {root: "yes"}, 0.21),
        ControlResult("OLVM-SSH-002", "guest01", "passed", "", {root: "prohibit-password"},
                      0.19),
        ControlResult("OLVM-PKI-003", "engine", "passed", "", {"ca.days_left": "912"}, 0.3),
        ControlResult("OLVM-PKI-003", "kvm01", "passed", "", {"vdsm.days_left": "361"}, 0.31),
        ControlResult("OLVM-PKI-003", "kvm02", "error", PKI_ERROR, {}, 3.0),
        ControlResult("OLVM-DB-004", "engine", "passed", "", {"autovacuum": "on"}, 0.5),
        *(ControlResult("OLVM-NTP-005", host, "passed", "",
                        {"chrony.server": "pool.ntp.org"}, 0.1) for host in HOSTS),
        ControlResult("OLVM-GA-006", "guest01", "skipped", GA_SKIP, {}, 0.05),
    ]


def sample_drift() -> Drift:
    """Since the accepted baseline: OLVM-SSH-002 newly failing on kvm02 after an
    sshd-hardening run, OLVM-PKI-003 newly passing on kvm01 after cert-replace, the engine's
    chrony server changed outside opsrunner."""
    return Drift(
        baseline_run=BASELINE_RUN, accepted="2026-02-15T08:31:07Z",
        statuses=[StatusChange("OLVM-SSH-002", "kvm02", "passed", "failed", SSH_RUN,
                               "sshd-hardening"),
                  StatusChange("OLVM-PKI-003", "kvm01", "failed", "passed", CERT_RUN,
                               "cert-replace")],
        evidence=[EvidenceChange("OLVM-SSH-002", "kvm02", "sshd.PermitRootLogin",
                                 "prohibit-password", "yes", SSH_RUN, "sshd-hardening"),
                  EvidenceChange("OLVM-NTP-005", "engine", "chrony.server",
                                 "ntp1.example.com", "pool.ntp.org")])


def sample_report() -> ComplianceReport:
    """A failing run of ``olvm-baseline`` (see the module docstring)."""
    in_force, expired = sample_waivers()
    return ComplianceReport(
        run_id=RUN_ID, profile=sample_profile(), started=STARTED, hosts=list(HOSTS),
        results=sample_results(in_force), duration=12.345,
        notes=[f"the waiver of {expired.control} for {expired.hosts} expired on "
               f"{expired.expires.isoformat()} ({expired.location}): it no longer applies"],
        waivers=[in_force, expired], drift=sample_drift(),
        inventory="inventories/prod/hosts.yaml", limit=None)


def passing_report() -> ComplianceReport:
    """Every result of :func:`sample_report` passed (skips stay), no drift, no waiver, and
    the run accepted as the new baseline."""
    report = sample_report()
    for result in report.results:
        if result.status != "skipped":
            result.status, result.message, result.waiver = "passed", "", None
    report.notes, report.waivers, report.accepted = [], [], True
    report.drift = Drift(BASELINE_RUN, "2026-02-15T08:31:07Z")
    return report
