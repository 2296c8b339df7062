"""What the lab's Apache reads of the engine sysroot's ``/etc/httpd/conf.d``
(:mod:`~opsrunner_lab.sysroot_ssl_conf`).

It takes its certificate, key and CA file from the directives of that file
(:func:`ssl_files`: the last of each, an absolute path read inside the sysroot, a relative one
below its ``/etc/httpd``), so a task or check reading or editing ``ssl.conf`` sees what Apache
serves; the file's other directives (its ``Listen``, session cache, logs) are the lab's own in
its ``httpd.conf``. The other ``conf.d/*.conf`` files are included as they are
(:func:`conf_d_files`).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.sysroot_ssl_conf import CONF_D, SSL_CONF

SERVER_ROOT = "etc/httpd"
CERT_DIRECTIVES = ("SSLCertificateFile", "SSLCertificateKeyFile", "SSLCACertificateFile")


def _logical_lines(text: str) -> list[str]:
    """Apache's configuration lines: ``\\`` continuations joined, comments dropped."""
    lines, pending = [], ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def ssl_files(root: Path) -> dict[str, Path]:
    """The files ``ssl.conf`` of sysroot ``root`` names, by directive, as paths in the sysroot
    (LabServerError if the file or one of :data:`CERT_DIRECTIVES` is missing)."""
    conf = root / SSL_CONF
    try:
        text = conf.read_text()
    except FileNotFoundError:
        raise LabServerError(f"{conf} is missing: Apache has no SSL certificate (engine-setup "
                             "writes it; rebuild the sysroots with `opsrunner lab up`)") from None
    found: dict[str, str] = {}
    wanted = {name.lower(): name for name in CERT_DIRECTIVES}
    for line in _logical_lines(text):
        directive, value = [*line.split(None, 1), ""][:2]
        if directive.lower() not in wanted:
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = []
        if len(words) != 1:
            raise LabServerError(f"{conf}: {directive} takes one file name, not {value!r}")
        found[wanted[directive.lower()]] = words[0]
    missing = [name for name in CERT_DIRECTIVES if name not in found]
    if missing:
        raise LabServerError(f"{conf} sets no {', '.join(missing)}: Apache cannot serve TLS")
    return {name: _inside(root, value) for name, value in found.items()}


def _inside(root: Path, value: str) -> Path:
    """A path of the engine host as the lab reaches it in its sysroot."""
    if value.startswith("/"):
        return root / value.lstrip("/")
    return root / SERVER_ROOT / value


def conf_d_files(root: Path) -> list[Path]:
    """The ``conf.d/*.conf`` files Apache includes as they are (all but ``ssl.conf``)."""
    folder = root / CONF_D
    return sorted(p for p in folder.glob("*.conf") if p.name != "ssl.conf")
