"""``notify.yaml``: where and how the run-finished notification is sent.

The keys follow ovirt-engine-notifier's settings (``MAIL_SERVER``, ``MAIL_PORT``,
``MAIL_SMTP_ENCRYPTION``, ``MAIL_USER``, ``MAIL_PASSWORD``, ``MAIL_FROM``,
``HTML_MESSAGE_FORMAT``), written in lower case::

    email:
      server: smtp.example.com        # required: host name or address of the SMTP server
      port: 587                       # default: 587 (starttls), 465 (ssl), 25 (none)
      encryption: starttls            # starttls (default) | ssl | none
      user: opsrunner@example.com     # optional: log in (AUTH) as this user
      password: {secret_env: OPSRUNNER_SMTP_PASSWORD}   # or {secret_file: PATH}; with user
      from: opsrunner@example.com     # required: the sender address
      to: [olvm-admins@example.com]   # required: one address or a list
      ca_file: /etc/pki/tls/certs/ca-bundle.crt   # optional: CA certificates (PEM) to trust
      html: false                     # also send an HTML alternative
      when: problems                  # problems (default) | always
      timeout: 30s                    # per network operation: seconds or 30s, 2m (default 30s)

* ``encryption: starttls`` (the engine notifier's ``tls``) upgrades the connection with
  STARTTLS and refuses to send when the server does not offer it; ``ssl`` speaks TLS from the
  first byte; ``none`` sends in plain text and is only allowed to this machine (``localhost``,
  ``127.0.0.0/8``, ``::1``). The server's certificate is always verified: against ``ca_file``
  when given, else against the system's trusted CAs.
* The password is never written in the file: a literal ``password:`` is refused. A relative
  ``secret_file`` (and ``ca_file``) is relative to the folder of ``notify.yaml``.
* ``when: problems`` sends only for a run that did not end ok (failed, interrupted, halted) or
  that deferred a host or a step to the next maintenance window; ``always`` for every run.

Every problem is reported with ``file:line:column`` and what is allowed; :func:`load_notify`
reports them all at once.
"""

from __future__ import annotations

import ipaddress
import math
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from opsrunner.durations import FORMS, parse_duration
from opsrunner.errors import Location, Problem, UsageError, shown_value, suggest
from opsrunner.secrets import is_secret_ref, read_secret
from opsrunner.yamlsrc import KeyPath, Positions, load_yaml

FILE_NAME = "notify.yaml"
ENCRYPTIONS = ("starttls", "ssl", "none")
WHENS = ("problems", "always")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 30.0
TOP_KEYS = ("email",)
EMAIL_KEYS = ("server", "port", "encryption", "user", "password", "from", "to", "ca_file",
              "html", "when", "timeout")
# The engine notifier's names, so an admin who copies them is told the key meant here.
_ENGINE_NAMES = {"mail_server": "server", "mail_port": "port",
                 "mail_smtp_encryption": "encryption", "mail_user": "user",
                 "mail_password": "password", "mail_from": "from",
                 "html_message_format": "html", "mail_to": "to", "sender": "from",
                 "recipients": "to", "host": "server"}
_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Encryption = Literal["starttls", "ssl", "none"]
When = Literal["problems", "always"]


@dataclass(frozen=True)
class EmailSettings:
    """The validated ``email:`` section. ``password`` (never shown by ``repr``) is the secret's
    value, read at load; ``sender`` is the ``from:`` key."""

    server: str
    port: int
    sender: str
    to: tuple[str, ...]
    encryption: Encryption = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    html: bool = False
    when: When = "problems"
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class NotifySettings:
    """What ``notify.yaml`` holds; ``file`` is where it was read from."""

    email: EmailSettings
    file: Path | None = None


def find_notify_file(inventory: str | None, option: str | None) -> Path | None:
    """The notification settings to use, or None for none.

    ``option`` (``--notify FILE``) wins and is returned even when missing (loading it then
    says so); otherwise ``notify.yaml`` in the inventory folder, or beside an inventory file,
    when it exists.
    """
    if option:
        return Path(option).expanduser()
    if not inventory:
        return None
    source = Path(inventory).expanduser()
    candidate = source / FILE_NAME if source.is_dir() else source.parent / FILE_NAME
    return candidate if candidate.is_file() else None


def load_notify(path: Path) -> NotifySettings:
    """Read and validate ``path``; the password's secret is read now.

    :raises UsageError: every problem of the file, each with ``file:line:column``
        (a syntax error, an unknown key naming the allowed ones, a wrong value, a literal
        password, a secret that cannot be read, a missing ``ca_file``). No message shows a
        password.
    """
    data, positions = load_yaml(path, kind="notification settings file",
                                error=UsageError)
    reader = _Reader(positions, path.parent)
    top = reader.mapping(data, (), "the notification settings", TOP_KEYS)
    email: EmailSettings | None = None
    if top is not None:
        if "email" in top:
            email = reader.email(top["email"])
        else:
            reader.report(positions.value(()), f"missing required key 'email' "
                                               f"(allowed: {', '.join(TOP_KEYS)})")
    if reader.problems or email is None:
        raise problems_error(reader.problems or [(positions.value(()), "no email settings")])
    return NotifySettings(email=email, file=path)


def problems_error(problems: Sequence[Problem]) -> UsageError:
    """One error listing ``problems`` sorted by position: ``str()`` gives one
    ``file:line:col: message`` a line; ``location`` is the first one's."""
    listed = sorted(problems, key=lambda p: (p[0].file, p[0].line, p[0].column))
    (first, text), rest = listed[0], listed[1:]
    return UsageError("\n".join([text, *(f"{where}: {what}" for where, what in rest)]), first)


def is_loopback(server: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``) and literal addresses in 127.0.0.0/8 or
    ``::1``; no name is resolved."""
    name = server.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_refusal(server: str) -> str:
    """Why ``encryption: none`` may not be used for ``server``."""
    return (f"encryption: none (plain text) is only allowed to a server on this machine "
            f"(localhost, 127.0.0.0/8, ::1), not {server!r}; use starttls or ssl")


def is_address(value: object) -> bool:
    """A plain e-mail address ``name@domain`` (no display name, no blanks or control
    characters)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


class _Reader:
    """Typed reading of one document, collecting problems instead of raising."""

    def __init__(self, positions: Positions, base: Path) -> None:
        self.positions = positions
        self.base = base
        self.problems: list[Problem] = []

    def report(self, location: Location, message: str) -> None:
        self.problems.append((location, message))

    def mapping(self, value: Any, path: KeyPath, what: str,
                allowed: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.report(self.positions.value(path),
                        f"{what} must be a mapping with keys: {', '.join(allowed)}; "
                        f"got {shown_value(value)}")
            return None
        known: dict[str, Any] = {}
        for key, item in value.items():
            if key in allowed:
                known[key] = item
                continue
            meant = _ENGINE_NAMES.get(str(key).lower())
            hint = (f"; the engine notifier's {str(key).upper()} is {meant!r} here"
                    if meant in allowed else suggest(str(key), allowed))
            self.report(self.positions.key((*path, key)),
                        f"unknown key {key!r} in {what}{hint} (allowed: {', '.join(allowed)})")
        return known

    def wrong(self, path: KeyPath, allowed: str, value: Any, hint: str = "") -> None:
        self.report(self.positions.value(path), f"{path[-1]!r} must be {allowed}, got "
                                                f"{shown_value(value)}{'; ' + hint if hint else ''}")

    def email(self, value: Any) -> EmailSettings | None:
        base: KeyPath = ("email",)
        data = self.mapping(value, base, "email", EMAIL_KEYS)
        if data is None:
            return None
        missing = [key for key in ("server", "from", "to") if data.get(key) is None]
        for key in missing:
            self.report(self.positions.key(base), f"email: missing required key {key!r}")

        encryption = self.choice(data, "encryption", ENCRYPTIONS,
                                 hint={"tls": "the engine notifier's tls is starttls here"})
        server = self.text(data, "server")
        if server is not None and encryption == "none" and not is_loopback(server):
            self.report(self.positions.value((*base, "encryption")), loopback_refusal(server))
        port = self.port(data, DEFAULT_PORTS[encryption])
        sender = self.address(data, "from")
        to = self.recipients(data)
        user = self.text(data, "user")
        password = self.password(data, user)
        ca_file = self.ca_file(data)
        html = self.boolean(data, "html")
        when = self.choice(data, "when", WHENS)
        timeout = self.timeout(data)
        if self.problems or server is None or sender is None or not to:
            return None
        return EmailSettings(server=server, port=port, sender=sender, to=to,
                             encryption=cast(Encryption, encryption), user=user,
                             password=password, ca_file=ca_file, html=html,
                             when=cast(When, when), timeout=timeout)

    def text(self, data: Mapping[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip() and not _CONTROL.search(value):
            return value.strip()
        self.wrong(("email", key), "a non-empty string on one line", value)
        return None

    def choice(self, data: Mapping[str, Any], key: str, choices: Sequence[str],
               hint: Mapping[str, str] | None = None) -> str:
        value = data.get(key)
        if value is None:
            return choices[0]
        if value in choices:
            return str(value)
        extra = (hint or {}).get(str(value).lower(), "")
        allowed = ", ".join(repr(c) for c in choices)
        self.wrong(("email", key), f"one of {allowed} (default {choices[0]!r})", value, extra)
        return choices[0]

    def port(self, data: Mapping[str, Any], default: int) -> int:
        value = data.get("port")
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
            return value
        self.wrong(("email", "port"), "a port number from 1 to 65535", value)
        return default

    def boolean(self, data: Mapping[str, Any], key: str) -> bool:
        value = data.get(key, False)
        if isinstance(value, bool):
            return value
        self.wrong(("email", key), "true or false", value)
        return False

    def address(self, data: Mapping[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if is_address(value):
            return str(value)
        self.wrong(("email", key), "an e-mail address (name@example.com)", value)
        return None

    def recipients(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        value = data.get("to")
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            self.wrong(("email", "to"), "an e-mail address or a non-empty list of them", value)
            return ()
        found: list[str] = []
        for index, item in enumerate(items):
            if is_address(item):
                if item not in found:
                    found.append(item)
                continue
            path: KeyPath = ("email", "to") if isinstance(value, str) else ("email", "to", index)
            self.report(self.positions.value(path),
                        f"'to' must hold e-mail addresses (name@example.com), "
                        f"got {shown_value(item)}")
        return tuple(found)

    def password(self, data: Mapping[str, Any], user: str | None) -> str | None:
        path: KeyPath = ("email", "password")
        value = data.get("password")
        where = self.positions.value(path)
        if value is None:
            if user is not None:
                self.report(self.positions.value(("email", "user")),
                            "email: 'user' needs a 'password' ({secret_env: NAME} or "
                            "{secret_file: PATH})")
            return None
        if not is_secret_ref(value):
            self.report(where, "'password' must be a secret reference {secret_env: NAME} or "
                               "{secret_file: PATH}; a password written in the file is refused "
                               f"(got {type(value).__name__}, value hidden)")
            return None
        if user is None and data.get("user") is None:
            self.report(where, "email: 'password' is only used with 'user' (the login name)")
            return None
        try:
            return read_secret(value, self.base, "email password", location=where,
                               error=UsageError)
        except UsageError as exc:
            self.report(exc.location or where, exc.message)
            return None

    def ca_file(self, data: Mapping[str, Any]) -> Path | None:
        path: KeyPath = ("email", "ca_file")
        value = data.get("ca_file")
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.wrong(path, "the path of a PEM file of CA certificates", value)
            return None
        file = Path(value).expanduser()
        if not file.is_absolute():
            file = self.base / file
        where = self.positions.value(path)
        if not file.is_file():
            self.report(where, f"ca_file {file} does not exist or is not a file")
            return None
        try:
            ssl.create_default_context(cafile=str(file))
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            self.report(where, f"ca_file {file} holds no usable CA certificate (PEM): {reason}")
            return None
        return file

    def timeout(self, data: Mapping[str, Any]) -> float:
        path: KeyPath = ("email", "timeout")
        value = data.get("timeout")
        if value is None:
            return DEFAULT_TIMEOUT
        seconds: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except UsageError:
                seconds = None
        if seconds is not None and math.isfinite(seconds) and seconds > 0:
            return seconds
        self.wrong(path, f"a duration above zero: {FORMS}", value)
        return DEFAULT_TIMEOUT
