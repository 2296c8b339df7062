"""A real SMTP server for the notifier's tests: ``aiosmtpd`` on a loopback address.

::

    with running_smtp(folder, user="opsrunner", password=secret) as smtp:
        ...  # send to smtp.host, smtp.port, trusting smtp.ca_file
        (received,) = smtp.messages()

The server listens on ``127.0.0.1`` and a free port, in a thread of this process. Its TLS
certificate (``localhost`` and ``127.0.0.1``) is issued by the lab CA kept in
``<folder>/pki`` (:class:`opsrunner_lab.pki.LabCA`); ``smtp.ca_file`` is that CA. ``tls``
chooses how TLS is offered: ``starttls`` (the STARTTLS extension), ``ssl`` (TLS from the first
byte) or ``none`` (no TLS at all, STARTTLS not offered). With a ``user``, AUTH PLAIN and LOGIN
are offered (after STARTTLS under ``starttls``) and only that user with that password is
accepted; any other gets ``535``, and mail is refused until a login succeeds. Each message
received is written to ``<folder>/mail/NNN.eml`` and kept in :meth:`LabSmtp.messages`.

Leaving the ``with`` stops the server: its thread ends, its connections close and its port is
free again. The files in ``folder`` stay, for the test to read.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hmac
import inspect
import ipaddress
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from opsrunner_lab.pki import LabCA, write_pem
from opsrunner_lab.tls_server import server_context

LOOPBACK = "127.0.0.1"
TlsMode = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope, the raw data, and how it came (over
    TLS or not, the login that sent it or None)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None
    path: Path

    @property
    def message(self) -> EmailMessage:
        """The data parsed as a message (``email.policy.default``)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class LabSmtp:
    """A running server: where it listens, the CA its certificate chains to, what it got."""

    host: str
    port: int
    ca_file: Path
    folder: Path
    tls: TlsMode
    user: str | None
    logins: list[tuple[str, bool]] = field(default_factory=list)
    """Every AUTH attempt: the login name and whether it was accepted."""
    _received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> list[Received]:
        """The messages accepted so far, oldest first."""
        with self._lock:
            return list(self._received)

    def _add(self, item: Received) -> None:
        with self._lock:
            self._received.append(item)

    def _login(self, name: str, ok: bool) -> None:
        with self._lock:
            self.logins.append((name, ok))


class _Handler:
    """aiosmtpd's handler: stores each message (its hooks are called by name)."""

    def __init__(self, smtp: LabSmtp) -> None:
        self.smtp = smtp

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if self.smtp.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        smtp = self.smtp
        data = envelope.original_content or b""
        mail = smtp.folder / "mail"
        mail.mkdir(parents=True, exist_ok=True)
        path = mail / f"{len(smtp.messages()) + 1:03d}.eml"
        path.write_bytes(data)
        auth = session.auth_data
        login = (auth.login.decode("utf-8", "replace")
                 if isinstance(auth, LoginPassword) and session.authenticated else None)
        smtp._add(Received(mail_from=envelope.mail_from or "",
                           rcpt_tos=tuple(envelope.rcpt_tos), data=data,
                           tls=smtp.tls == "ssl" or session.ssl is not None, login=login,
                           path=path))
        return "250 OK: queued"


class _Authenticator:
    """Accepts exactly one user name and password (compared in constant time)."""

    def __init__(self, smtp: LabSmtp, user: str, password: str) -> None:
        self.smtp = smtp
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (hmac.compare_digest(auth_data.login, self.user)
              and hmac.compare_digest(auth_data.password, self.password))
        self.smtp._login(auth_data.login.decode("utf-8", "replace"), ok)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _QuietDeprecation(logging.Filter):
    """Drops aiosmtpd's own warning about its ``login_data``, logged for every login."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


class _Controller(Controller):
    """aiosmtpd's threaded controller, bound to port 0: the port the system chose is read
    back before the controller first connects to its own server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []
        """Every connection's protocol, for the stop to close what is still open."""

    def factory(self) -> SMTP:
        smtp = super().factory()  # type: ignore[no-untyped-call]  # untyped in aiosmtpd
        assert isinstance(smtp, SMTP)
        self.sessions.append(smtp)
        return smtp

    def cancel_tasks(self, stop_loop: bool = True) -> None:
        """Stop accepting, close every connection, then wait for or cancel every task until
        none is left, and only then stop the loop: no task is pending and no socket open
        when the loop closes."""
        self.loop.create_task(self._drain(stop_loop))

    async def _drain(self, stop_loop: bool) -> None:
        this = asyncio.current_task()
        listening = self.server is not None
        while True:
            tasks = [task for task in asyncio.all_tasks(self.loop) if task is not this]
            if any(_not_started(task) for task in tasks):
                # Let every task take its first step: a connection accepted while stopping
                # must attach to the server before it closes (asyncio leaks its socket
                # otherwise), and a task cancelled before its first step never cleans up.
                await asyncio.sleep(0)
                continue
            if listening and self.server is not None:
                self.server.close()  # no connection comes in after this
                listening = False
                continue
            if not tasks:
                break
            for session in self.sessions:
                if session.transport is not None:
                    session.transport.close()  # its connection_lost cancels its handler
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for _ in range(3):  # the closed transports' connection_lost callbacks
            await asyncio.sleep(0)
        if stop_loop:
            self.loop.stop()

    def _trigger_server(self) -> None:
        sockets = getattr(self.server, "sockets", None) or ()
        if sockets and self.port == 0:
            self.port = int(sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it untyped


@contextmanager
def running_smtp(folder: Path, *, user: str | None = None, password: str | None = None,
                 tls: TlsMode = "starttls", timeout: float = 30.0,
                 cert_names: Sequence[str] = ("localhost", LOOPBACK)) -> Iterator[LabSmtp]:
    """Run the SMTP server for the ``with`` block (see the module's docstring).

    :param folder: where ``pki/`` (the lab CA, the server's key and certificate) and
        ``mail/`` (the messages received) are kept.
    :param user: the one login accepted (AUTH is then required before MAIL), with
        ``password``; without it, no AUTH is offered and mail from anyone is accepted.
    :param tls: ``starttls``, ``ssl`` or ``none``.
    :param timeout: seconds a silent client is kept.
    :param cert_names: the DNS names and IP addresses the certificate is issued for (leave
        out ``127.0.0.1`` to see a client refuse a certificate for another name).
    """
    if (user is None) != (password is None):
        raise ValueError("give both user and password, or neither")
    pki = folder / "pki"
    ca = LabCA(pki).ensure()
    addresses = [name for name in cert_names if _is_ip(name)]
    dns_names = [name for name in cert_names if not _is_ip(name)]
    key, cert = ca.issue(cert_names[0], dns_names=dns_names, ip_addresses=addresses)
    write_pem(pki / "smtp.key", key, 0o600)
    write_pem(pki / "smtp.pem", cert)
    context = server_context(pki / "smtp.pem", pki / "smtp.key")
    smtp = LabSmtp(host=LOOPBACK, port=0, ca_file=ca.cert_path, folder=folder, tls=tls,
                   user=user)
    # AUTH before MAIL is enforced by the handler: aiosmtpd's auth_required warns unless
    # AUTH also requires STARTTLS, which a server speaking TLS from the start never does.
    options: dict[str, Any] = {"server_hostname": "localhost", "timeout": timeout,
                               "auth_require_tls": tls == "starttls"}
    if tls == "starttls":
        options["tls_context"] = context
    if user is not None and password is not None:
        options["authenticator"] = _Authenticator(smtp, user, password)
    quiet = _QuietDeprecation()
    logging.getLogger("mail.log").addFilter(quiet)
    loop = asyncio.new_event_loop()
    controller = _Controller(_Handler(smtp), loop=loop, hostname=LOOPBACK, port=0,
                             ssl_context=context if tls == "ssl" else None, **options)
    try:
        controller.start()
        smtp.port = controller.port
        yield smtp
    finally:
        controller.stop(no_assert=True)
        if not loop.is_closed():
            loop.close()
        logging.getLogger("mail.log").removeFilter(quiet)


def _not_started(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    return inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
