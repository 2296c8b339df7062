"""The e-mail notifier against a real SMTP server (aiosmtpd on 127.0.0.1 and a free port).

Each test starts its own server (opsrunner_lab.smtp_server), with a certificate from its own
lab CA, and stops it before it ends.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import socket
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pluggy
import pytest

from opsrunner import hookspecs
from opsrunner.notify.email import ERROR_PREFIX, EmailNotifier
from opsrunner.notify.settings import EmailSettings, load_notify
from opsrunner.report import HostReport, RunReport, StepRecord
from opsrunner.secrets import MASK, Redactor
from opsrunner_lab.pki import LabCA
from opsrunner_lab.smtp_server import LabSmtp, running_smtp
from opsrunner_lab.sshd import free_port

pytestmark = pytest.mark.lab

USER = "opsrunner@lab.test"
PASSWORD = "Smtp-Lab-pw-7731"
TO = ("olvm-admins@lab.test", "oncall@lab.test")
RUN_ID = "20261206T000012Z-4242-ab12"
SUBJECT = "[opsrunner] vacuum: OK (2 ok, 1 deferred) in window sunday-night"
OVERRUN = ("predicted overrun: step vacuum full on host kvm02 would take ~45 min, the window "
           "closes at 05:00: it waits for the next window")


def deferred_report() -> RunReport:
    report = RunReport(run_id=RUN_ID, workflow="vacuum", workflow_file="workflows/vacuum.yml",
                       window={"name": "sunday-night", "opens": "2026-12-06T01:00:00+01:00",
                               "closes": "2026-12-06T05:00:00+01:00",
                               "timezone": "Europe/Paris"},
                       started=datetime.fromisoformat("2026-12-06T01:00:12+01:00").timestamp(),
                       duration=3723.0)
    report.hosts["engine01"] = HostReport("engine01", "ok", [
        StepRecord("vacuum", "vacuum", "changed", index=0)])
    report.hosts["dwh01"] = HostReport("dwh01", "ok", [StepRecord("vacuum", "vacuum", "ok")])
    report.hosts["kvm02"] = HostReport("kvm02", "deferred", [
        StepRecord("vacuum full", "vacuum", "deferred", index=1, estimate=2700.0)])
    return report


def ok_report() -> RunReport:
    report = deferred_report()
    del report.hosts["kvm02"]
    return report


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[LabSmtp]:
    """A STARTTLS server accepting only USER with PASSWORD."""
    with running_smtp(tmp_path / "smtp", user=USER, password=PASSWORD) as server:
        yield server


def settings_for(server: LabSmtp, **changes: object) -> EmailSettings:
    base = EmailSettings(server=server.host, port=server.port, sender=USER, to=TO,
                         encryption="starttls", user=USER, password=PASSWORD,
                         ca_file=server.ca_file, when="always", timeout=10.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def notify(settings: EmailSettings, report: RunReport) -> tuple[EmailNotifier, str]:
    """Run the notifier's hook through pluggy, as a run does; also what it printed."""
    stderr = io.StringIO()
    notifier = EmailNotifier(settings, Redactor(), stderr=stderr)
    manager = pluggy.PluginManager(hookspecs.NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(notifier, "email-notifier")
    exit_code = report.exit_code
    manager.hook.opsrunner_run_finished(report=report)
    assert report.exit_code == exit_code  # a notification never changes the outcome
    return notifier, stderr.getvalue()


def assert_no_password(notifier: EmailNotifier, printed: str, server: LabSmtp) -> None:
    for text in (notifier.error or "", printed):
        assert PASSWORD not in text
    for received in server.messages():
        assert PASSWORD.encode() not in received.data
    for eml in (server.folder / "mail").glob("*.eml"):
        assert PASSWORD.encode() not in eml.read_bytes()


def test_starttls_and_auth_deliver_the_message(tmp_path: Path, smtp: LabSmtp,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSRUNNER_SMTP_PASSWORD", PASSWORD)
    notify_file = tmp_path / "notify.yaml"
    notify_file.write_text(textwrap.dedent(f"""\
        email:
          server: {smtp.host}
          port: {smtp.port}
          encryption: starttls
          user: {USER}
          password: {{secret_env: OPSRUNNER_SMTP_PASSWORD}}
          from: {USER}
          to: [{', '.join(TO)}]
          ca_file: {smtp.ca_file}
          when: problems
          timeout: 10s
        """))
    settings = load_notify(notify_file)
    notifier, printed = notify(settings.email, deferred_report())
    assert (notifier.sent, notifier.error, printed) == (True, None, "")
    (received,) = smtp.messages()
    assert received.tls and received.login == USER
    assert received.mail_from == USER and received.rcpt_tos == TO
    assert received.path.read_bytes() == received.data
    message = received.message
    assert message["Subject"] == SUBJECT
    assert message["To"] == ", ".join(TO)
    assert message["X-Opsrunner-Run-Id"] == RUN_ID
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert f"Run:      {RUN_ID}" in body
    assert "Window:   sunday-night, opens 2026-12-06 01:00, closes 05:00" in body
    assert OVERRUN in body
    assert smtp.logins[-1] == (USER, True)
    assert_no_password(notifier, printed, smtp)


def test_the_html_alternative(smtp: LabSmtp) -> None:
    notifier, _ = notify(settings_for(smtp, html=True), deferred_report())
    assert notifier.sent
    (received,) = smtp.messages()
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    page = message.get_body(("html",))
    assert page is not None
    assert OVERRUN in page.get_content()


def test_a_wrong_password_is_reported_not_raised(smtp: LabSmtp) -> None:
    wrong = "Not-The-Password-99"
    notifier, printed = notify(settings_for(smtp, password=wrong), deferred_report())
    assert not notifier.sent and notifier.error is not None
    assert notifier.error.startswith(f"{ERROR_PREFIX}: {smtp.host}:{smtp.port} refused the "
                                     f"login of {USER!r}: 535 ")
    assert printed == notifier.error + "\n"
    assert "Traceback" not in printed
    assert wrong not in printed and smtp.messages() == []
    assert smtp.logins and all(entry == (USER, False) for entry in smtp.logins)
    assert_no_password(notifier, printed, smtp)


def test_a_server_without_starttls_is_refused(tmp_path: Path) -> None:
    with running_smtp(tmp_path / "plain", user=USER, password=PASSWORD, tls="none") as plain:
        notifier, printed = notify(settings_for(plain), deferred_report())
        assert notifier.error == (
            f"{ERROR_PREFIX}: {plain.host}:{plain.port} does not offer STARTTLS; nothing was "
            "sent in plain text (encryption: starttls; use encryption: ssl for a server that "
            "speaks TLS from the start)")
        assert printed == notifier.error + "\n"
        assert plain.messages() == [] and plain.logins == []  # no password went out
        assert_no_password(notifier, printed, plain)


def test_an_untrusted_certificate_is_refused(tmp_path: Path, smtp: LabSmtp) -> None:
    other = LabCA(tmp_path / "other-ca").ensure()
    notifier, printed = notify(settings_for(smtp, ca_file=other.cert_path), deferred_report())
    assert notifier.error is not None
    assert notifier.error.startswith(f"{ERROR_PREFIX}: the TLS certificate of "
                                     f"{smtp.host}:{smtp.port} is not trusted: ")
    assert f"checked against the CAs in ca_file {other.cert_path}" in notifier.error
    assert smtp.messages() == [] and smtp.logins == []
    assert_no_password(notifier, printed, smtp)


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    with running_smtp(tmp_path / "named", user=USER, password=PASSWORD,
                      cert_names=("mail.lab.test",)) as server:
        notifier, _ = notify(settings_for(server), deferred_report())
        assert notifier.error is not None
        assert "is not trusted: IP address mismatch" in notifier.error
        assert server.messages() == [] and server.logins == []


def test_the_system_store_does_not_trust_the_lab_ca(smtp: LabSmtp) -> None:
    notifier, _ = notify(settings_for(smtp, ca_file=None), deferred_report())
    assert notifier.error is not None and "is not trusted" in notifier.error
    assert "system's trusted CAs" in notifier.error
    assert smtp.messages() == [] and smtp.logins == []


def test_when_problems_sends_nothing_for_an_all_ok_run(smtp: LabSmtp) -> None:
    notifier, printed = notify(settings_for(smtp, when="problems"), ok_report())
    assert (notifier.sent, notifier.error, printed) == (False, None, "")
    assert notifier.skipped
    assert smtp.messages() == [] and smtp.logins == []
    notifier, _ = notify(settings_for(smtp, when="always"), ok_report())
    assert notifier.sent
    (received,) = smtp.messages()
    assert received.message["Subject"] == "[opsrunner] vacuum: OK (2 ok) in window sunday-night"


def test_ssl_from_the_first_byte(tmp_path: Path) -> None:
    with running_smtp(tmp_path / "ssl", user=USER, password=PASSWORD, tls="ssl") as server:
        notifier, _ = notify(settings_for(server, encryption="ssl"), deferred_report())
        assert notifier.sent, notifier.error
        (received,) = server.messages()
        assert received.tls and received.login == USER


def test_plain_text_to_a_loopback_server(tmp_path: Path) -> None:
    with running_smtp(tmp_path / "relay", tls="none") as relay:
        settings = settings_for(relay, encryption="none", user=None, password=None)
        notifier, _ = notify(settings, deferred_report())
        assert notifier.sent, notifier.error
        (received,) = relay.messages()
        assert not received.tls and received.login is None


def test_plain_text_to_another_machine_is_refused_before_connecting() -> None:
    settings = EmailSettings(server="smtp.example.com", port=25, sender=USER, to=TO,
                             encryption="none", when="always")
    notifier, printed = notify(settings, deferred_report())
    assert notifier.error == (
        f"{ERROR_PREFIX}: encryption: none (plain text) is only allowed to a server on this "
        "machine (localhost, 127.0.0.0/8, ::1), not 'smtp.example.com'; use starttls or ssl")
    assert printed == notifier.error + "\n"


def test_nobody_listening(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    settings = EmailSettings(server="127.0.0.1", port=port, sender=USER, to=TO,
                             when="always", timeout=5.0)
    notifier, printed = notify(settings, deferred_report())
    assert notifier.error == (f"{ERROR_PREFIX}: 127.0.0.1:{port} refused the connection "
                              "(is an SMTP server listening there?)")
    assert printed == notifier.error + "\n"


def test_nothing_survives_the_with(tmp_path: Path) -> None:
    with running_smtp(tmp_path / "gone", user=USER, password=PASSWORD) as server:
        address = (server.host, server.port)
        socket.create_connection(address, timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5)


def test_a_connection_arriving_at_the_stop_leaks_nothing(tmp_path: Path) -> None:
    """A client connecting just as the server stops: its socket and its session are
    closed with the loop (pytest turns a leaked socket or a pending task into an error)."""
    for _ in range(15):  # the race came about once in three stops
        with running_smtp(tmp_path / "race", user=USER, password=PASSWORD) as server:
            socket.create_connection((server.host, server.port), timeout=5).close()
        gc.collect()


def test_the_password_joins_the_run_redactor(smtp: LabSmtp) -> None:
    redactor = Redactor()
    EmailNotifier(settings_for(smtp), redactor)
    assert PASSWORD in redactor.secrets
    assert redactor.text(f"pw {PASSWORD}") == f"pw {MASK}"
