"""The e-mail notifier: a run-event plugin that mails the run's outcome when it finishes.

Register it for a run with ``plugins.register(EmailNotifier(settings, redactor),
"email-notifier")``. At :func:`~opsrunner.hookspecs.opsrunner_run_finished` it decides with
``when:`` whether to send, composes the message (:mod:`opsrunner.notify.message`) and sends it
with :mod:`smtplib`:

* ``starttls``: connect in plain text, and send nothing unless the server offers STARTTLS
  (never a fall-back to plain text); ``ssl``: TLS from the first byte; ``none``: plain text,
  only to a server on this machine. The certificate is verified against ``ca_file`` or the
  system's CAs, and its name against ``server``: never unverified.
* ``AUTH`` with ``user`` and the password from its secret when ``user`` is set.

A notification that cannot be sent never changes the run's outcome or exit code: the hook
prints one line on standard error (``e-mail notification not sent: ...``), without a
traceback, and keeps it in :attr:`EmailNotifier.error` for the caller to add to the report's
notes. No message, error or log line shows the password: it is added to the run's redactor.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import sys
from email.message import EmailMessage
from typing import TextIO

from opsrunner.errors import OpsrunnerError
from opsrunner.hookspecs import hookimpl
from opsrunner.notify.message import build_message, has_problems
from opsrunner.notify.settings import EmailSettings, NotifySettings, is_loopback, loopback_refusal
from opsrunner.report import RunReport
from opsrunner.secrets import Redactor

ERROR_PREFIX = "e-mail notification not sent"


class EmailNotifier:
    """A run-event plugin mailing the run's report to ``settings.email.to``.

    After the hook: :attr:`sent` is True when the server accepted the message,
    :attr:`skipped` says why nothing was sent on purpose (``when: problems`` and a run
    without problems), :attr:`error` is the one-line failure, or None.
    """

    def __init__(self, settings: NotifySettings | EmailSettings, redactor: Redactor | None = None,
                 *, stderr: TextIO | None = None) -> None:
        self.settings = settings.email if isinstance(settings, NotifySettings) else settings
        self.redactor = redactor if redactor is not None else Redactor()
        if self.settings.password:
            self.redactor.add(self.settings.password)
        self.stderr = stderr
        self.sent = False
        self.skipped = ""
        self.error: str | None = None

    @hookimpl
    def opsrunner_run_finished(self, report: RunReport) -> None:
        self.notify(report)

    def notify(self, report: RunReport) -> str | None:
        """Send the notification for ``report`` when ``when:`` asks for it.

        :returns: the error line when sending failed (also printed on stderr and kept in
            :attr:`error`), else None. Never raises for a failed send.
        """
        self.sent, self.skipped, self.error = False, "", None
        if self.settings.when == "problems" and not has_problems(report):
            self.skipped = "the run had no problems (when: problems)"
            return None
        try:
            self.send(build_message(report, self.settings, self.redactor))
        except OpsrunnerError as exc:
            return self._failed(str(exc))
        except Exception as exc:  # a bug must not change the run's outcome either
            return self._failed(f"{type(exc).__name__}: {exc}")
        self.sent = True
        return None

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to the configured recipients.

        :raises OpsrunnerError: with one line saying what failed (connection, TLS, login,
            refused sender or recipients, no STARTTLS).
        """
        email = self.settings
        try:
            deliver(email, message)
        except OpsrunnerError:
            raise
        except UnicodeEncodeError:
            raise OpsrunnerError(f"the login for {_where(email)} holds characters SMTP AUTH "
                              "cannot send (only ASCII user names and passwords)") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise OpsrunnerError(f"{_where(email)} refused the login of {email.user!r}: "
                              f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{addr}: {_reply(code, text)}"
                                for addr, (code, text) in exc.recipients.items())
            raise OpsrunnerError(f"{_where(email)} refused the recipients ({refused})") from None
        except smtplib.SMTPSenderRefused as exc:
            raise OpsrunnerError(f"{_where(email)} refused the sender {email.sender}: "
                              f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise OpsrunnerError(f"{_where(email)}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise OpsrunnerError(f"{_where(email)} answered "
                              f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise OpsrunnerError(f"{_where(email)} closed the connection"
                              f"{': ' + str(exc) if str(exc) else ''}") from None
        except smtplib.SMTPException as exc:
            raise OpsrunnerError(f"{_where(email)}: {exc}") from None
        except ssl.SSLCertVerificationError as exc:
            trusted = (f"the CAs in ca_file {email.ca_file}" if email.ca_file
                       else "the system's trusted CAs (name the CA that issued it in ca_file)")
            raise OpsrunnerError(f"the TLS certificate of {_where(email)} is not trusted: "
                              f"{exc.verify_message or exc.reason}; checked against "
                              f"{trusted}") from None
        except ssl.SSLError as exc:
            raise OpsrunnerError(f"TLS with {_where(email)} failed: "
                              f"{exc.reason or exc.strerror or exc}") from None
        except TimeoutError:
            raise OpsrunnerError(f"{_where(email)} did not answer within "
                              f"{email.timeout:g}s (timeout)") from None
        except socket.gaierror as exc:
            raise OpsrunnerError(f"cannot resolve {email.server}: {exc.strerror or exc}") from None
        except ConnectionRefusedError:
            raise OpsrunnerError(f"{_where(email)} refused the connection "
                              "(is an SMTP server listening there?)") from None
        except OSError as exc:
            raise OpsrunnerError(f"cannot talk to {_where(email)}: {exc.strerror or exc}") from None

    def _failed(self, reason: str) -> str:
        line = " ".join(self.redactor.text(f"{ERROR_PREFIX}: {reason}").split())
        self.error = line
        stream = self.stderr or sys.stderr
        with contextlib.suppress(OSError, ValueError):  # a closed stderr: kept in self.error
            print(line, file=stream, flush=True)
        return line


def tls_context(email: EmailSettings) -> ssl.SSLContext:
    """The client context: TLS 1.2 or later, the certificate verified against ``ca_file``
    (only those CAs) or the system's CAs, and its name checked."""
    cafile = str(email.ca_file) if email.ca_file else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def deliver(email: EmailSettings, message: EmailMessage) -> None:
    """Open the connection ``email`` describes, log in when ``user`` is set, send ``message``
    to ``email.to`` and quit.

    :raises OpsrunnerError: ``encryption: none`` to a server not on this machine, or a server
        without STARTTLS under ``encryption: starttls``.
    :raises OSError: what :mod:`smtplib`, :mod:`ssl` and :mod:`socket` raise.
    """
    local_name = "localhost"  # the EHLO name: no DNS look-up of this machine's name
    client: smtplib.SMTP
    if email.encryption == "none" and not is_loopback(email.server):
        raise OpsrunnerError(loopback_refusal(email.server))
    if email.encryption == "ssl":
        client = smtplib.SMTP_SSL(email.server, email.port, local_hostname=local_name,
                                  timeout=email.timeout, context=tls_context(email))
    else:
        client = smtplib.SMTP(email.server, email.port, local_hostname=local_name,
                              timeout=email.timeout)
    with client:
        client.ehlo()
        if email.encryption == "starttls":
            if not client.has_extn("starttls"):
                raise OpsrunnerError(
                    f"{_where(email)} does not offer STARTTLS; nothing was sent in plain text "
                    "(encryption: starttls; use encryption: ssl for a server that speaks TLS "
                    "from the start)")
            client.starttls(context=tls_context(email))
            client.ehlo()
        if email.user:
            if not client.has_extn("auth"):
                raise OpsrunnerError(f"{_where(email)} does not offer AUTH, so user "
                                  f"{email.user!r} cannot log in")
            client.login(email.user, email.password or "")
        client.send_message(message, from_addr=email.sender, to_addrs=list(email.to))


def _where(email: EmailSettings) -> str:
    host = f"[{email.server}]" if ":" in email.server else email.server
    return f"{host}:{email.port}"


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(f"{code} {words}".split())
