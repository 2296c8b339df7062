"""Strict host-key checking against an OpenSSH ``known_hosts`` file (paramiko keys).

The rules follow OpenSSH with ``StrictHostKeyChecking=accept-new`` when the user passed
``--accept-new-host-keys`` and ``yes`` otherwise:

* a key listed for the host passes;
* a host with no key listed is refused, or, when new keys are accepted, its key is appended
  to the file (created 0600 in a 0700 folder when missing);
* a host listed with other keys only (a different key, or only other key types) is refused
  ALWAYS: the key changed, which may be a man-in-the-middle attack;
* a key marked ``@revoked`` is refused always.

Host patterns follow OpenSSH: comma lists, ``*``/``?`` wildcards, ``!`` negation, hashed
names (``|1|salt|hash``); ``@cert-authority`` lines are ignored (no certificate support).
Appends hold a process-wide lock and an ``flock`` on the file, and re-read it first, so
concurrent hosts lose no lines.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import fnmatch
import hmac
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.pkey import UnknownKeyType

from opsrunner.errors import FileRefused, HostKeyError
from opsrunner.regularfile import KNOWN_HOSTS_LIMIT, read_regular_file

_APPEND_LOCK = threading.Lock()
# What paramiko offers in key negotiation for a key type read from known_hosts.
_NEGOTIATED_TYPES = {"ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]}


def known_hosts_name(hostname: str, port: int) -> str:
    """The name OpenSSH records: ``host`` on port 22, ``[host]:port`` otherwise."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


def describe_key(key: paramiko.PKey) -> str:
    """``ssh-ed25519 SHA256:...`` (the fingerprint OpenSSH prints)."""
    return f"{key.get_name()} {key.fingerprint}"


@dataclass(frozen=True)
class KnownHostEntry:
    """One usable line of a known_hosts file."""

    patterns: tuple[str, ...]
    key: paramiko.PKey
    marker: str = ""

    def matches(self, name: str) -> bool:
        """OpenSSH semantics: no negated pattern matches and a positive one does."""
        name = name.lower()
        hit = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            pattern = pattern[1:] if negated else pattern
            if pattern.startswith("|1|"):
                found = hmac.compare_digest(paramiko.HostKeys.hash_host(name, pattern), pattern)
            else:
                found = fnmatch.fnmatchcase(name, pattern.lower().replace("[", "[[]"))
            if found and negated:
                return False
            hit = hit or found
        return hit


class KnownHosts:
    """One known_hosts file and the policy to apply to it.

    :param path: the known_hosts file (it may not exist yet).
    :param accept_new: append keys of hosts that have no key listed.
    """

    def __init__(self, path: Path, *, accept_new: bool) -> None:
        self.path = path
        self.accept_new = accept_new
        self.entries = read_known_hosts(path)

    def known_keys(self, name: str) -> list[paramiko.PKey]:
        """The keys listed for ``name`` (see :func:`known_hosts_name`), revoked ones excluded."""
        return [e.key for e in self.entries if not e.marker and e.matches(name)]

    def preferred_key_types(self, name: str) -> list[str]:
        """Key algorithms to offer first so that the server presents a key we know."""
        types: list[str] = []
        for key in self.known_keys(name):
            types += [t for t in _NEGOTIATED_TYPES.get(key.get_name(), [key.get_name()])
                      if t not in types]
        return types

    def verify(self, name: str, key: paramiko.PKey) -> None:
        """Accept ``key`` for ``name`` or raise :class:`HostKeyError` (see the module rules)."""
        if any(e.marker == "@revoked" and e.key == key for e in self.entries):
            raise HostKeyError(f"host key for {name} ({describe_key(key)}) is marked @revoked "
                               f"in {self.path}; refusing to connect")
        known = self.known_keys(name)
        if key in known:
            return
        if known:
            raise HostKeyError(_changed_message(name, key, known, self.path))
        if not self.accept_new:
            raise HostKeyError(
                f"host key for {name} is not known (not in {self.path}); verify it and add it, "
                f"or run with --accept-new-host-keys (the server presented {describe_key(key)})")
        self._append(name, key)

    def _append(self, name: str, key: paramiko.PKey) -> None:
        with _APPEND_LOCK:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
            with os.fdopen(fd, "r+b") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                # Another thread or process may have recorded this host meanwhile.
                self.entries = read_known_hosts(self.path)
                known = self.known_keys(name)
                if key in known:
                    return
                if known:
                    raise HostKeyError(_changed_message(name, key, known, self.path))
                content = fh.read()
                lead = b"\n" if content and not content.endswith(b"\n") else b""
                fh.write(lead + f"{name} {key.get_name()} {key.get_base64()}\n".encode())
                fh.flush()
                os.fsync(fh.fileno())
            self.entries.append(KnownHostEntry((name,), key))


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Hands every presented key to :meth:`KnownHosts.verify` (the client preloads none)."""

    def __init__(self, known_hosts: KnownHosts) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        self.known_hosts.verify(hostname, key)


_PARSED: dict[tuple[str, int, int, int, int, int], tuple[KnownHostEntry, ...]] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_KEEP = 8
_SETTLE = 2.0


def read_known_hosts(path: Path) -> list[KnownHostEntry]:
    """The entries of ``path`` (none when it does not exist).

    Lines with a key type paramiko does not know are skipped, as OpenSSH skips them;
    a malformed line raises :class:`HostKeyError` naming ``file:line``, and so does anything
    but a regular file (a FIFO is refused without blocking) or one over 32 MiB.
    A file is parsed once while its device, inode, size, modification and change times stay
    the same (a run connecting to a hundred hosts reads it once, and sees any change made to
    it). A file changed in the last :data:`_SETTLE` seconds is parsed every time: file times tick
    by a few milliseconds, so two writes of the same size could share one.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc.strerror}") from None
    identity = (str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                info.st_ctime_ns)
    with _PARSED_LOCK:
        cached = _PARSED.get(identity)
    if cached is not None:
        return list(cached)
    entries = _parse_known_hosts(path)
    if time.time() - max(info.st_mtime, info.st_ctime) < _SETTLE:
        return entries
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_KEEP:
            _PARSED.clear()
        _PARSED[identity] = tuple(entries)
    return entries


def _parse_known_hosts(path: Path) -> list[KnownHostEntry]:
    try:
        raw = read_regular_file(path, what="known_hosts file", limit=KNOWN_HOSTS_LIMIT).data
    except FileNotFoundError:
        return []
    except FileRefused as exc:
        raise HostKeyError(str(exc)) from None
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    entries: list[KnownHostEntry] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else ""
        if len(fields) < 3:
            raise HostKeyError(f"{path}:{number}: invalid known_hosts line "
                               f"(expected: [marker] names keytype base64-key [comment])")
        names, key_type, data = fields[:3]
        try:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(data, validate=True))
        except UnknownKeyType:
            continue
        except (binascii.Error, ValueError, paramiko.SSHException):
            raise HostKeyError(f"{path}:{number}: invalid {key_type} key data") from None
        if marker in ("", "@revoked"):
            entries.append(KnownHostEntry(tuple(names.split(",")), key, marker))
    return entries


def _changed_message(name: str, key: paramiko.PKey, known: list[paramiko.PKey],
                     path: Path) -> str:
    listed = ", ".join(describe_key(k) for k in known)
    return (f"host key for {name} has changed: {path} lists {listed} but the server presented "
            f"{describe_key(key)}; possible man-in-the-middle attack. If the host was "
            f"reinstalled, verify the new key and remove the old one with "
            f"ssh-keygen -R '{name}' -f {path}")
