"""Open one authenticated paramiko client for a host, with strict host keys and clear errors.

Every failure becomes a one-line :class:`HostConnectionError` (or :class:`HostKeyError`)
that names the host and its address, and never contains a password.
"""

from __future__ import annotations

import errno
import getpass
import io
import socket
from pathlib import Path
from typing import Any

import paramiko

from opsrunner.connection import ConnectOptions
from opsrunner.connection.ssh.alive import AliveTransport, watch
from opsrunner.connection.ssh.hostkeys import KnownHosts, KnownHostsPolicy, known_hosts_name
from opsrunner.errors import FileRefused, HostConnectionError, HostKeyError
from opsrunner.host import Host
from opsrunner.regularfile import SSH_KEY_LIMIT, read_regular_file


def login_name(host: Host) -> str:
    """The user to log in as: ``host.username`` or the current local user."""
    return host.username or getpass.getuser()


def known_hosts_path(host: Host) -> Path:
    """``host.known_hosts`` or ``~/.ssh/known_hosts``."""
    return Path(host.known_hosts or "~/.ssh/known_hosts").expanduser()


def host_label(host: Host) -> str:
    """``node1 (10.0.0.5:22)``: how errors name a host."""
    return f"{host.name} ({host.hostname}:{host.port})"


def open_client(host: Host, options: ConnectOptions) -> paramiko.SSHClient:
    """Connect and authenticate, or raise :class:`HostConnectionError`.

    Authentication uses ``host.ssh_key`` and/or ``host.password``; the ssh agent and the
    default keys (``~/.ssh/id_*``) are tried only when neither is configured. The transport is
    then watched (:mod:`opsrunner.connection.ssh.alive`, ``host.ssh_server_alive_interval`` and
    ``host.ssh_server_alive_count_max``); see :func:`server_alive_failure`.
    """
    label = host_label(host)
    timeout = options.connect_timeout
    known = KnownHosts(known_hosts_path(host), accept_new=options.accept_new_host_keys)
    preferred = known.preferred_key_types(known_hosts_name(host.hostname, host.port))
    pkey = _load_key(host, label)
    sock = _open_socket(host, label, timeout)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(KnownHostsPolicy(known))

    def transport_factory(sock: Any, /, **kwargs: Any) -> paramiko.Transport:
        transport = AliveTransport(sock, **kwargs)
        security = transport.get_security_options()
        offered = list(security.key_types)
        security.key_types = [t for t in preferred if t in offered] + [
            t for t in offered if t not in preferred]
        return transport

    try:
        client.connect(
            host.hostname, port=host.port, username=login_name(host), password=host.password,
            # `timeout` bounds the whole negotiation here (the socket is already connected):
            # longer than the banner timeout so that a silent server reports its banner.
            pkey=pkey, sock=sock, timeout=2 * timeout, banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout, allow_agent=not (host.ssh_key or host.password),
            look_for_keys=not (host.ssh_key or host.password),
            transport_factory=transport_factory)
    except HostKeyError as exc:
        client.close()
        raise HostKeyError(f"{label}: {exc}") from None
    except paramiko.AuthenticationException as exc:
        client.close()
        raise HostConnectionError(f"{label}: {_auth_failure(host, exc)}") from None
    except (paramiko.SSHException, EOFError) as exc:
        client.close()
        raise HostConnectionError(f"{label}: {_handshake_failure(exc, timeout)}") from None
    except OSError as exc:
        client.close()
        raise HostConnectionError(f"{label}: {_socket_failure(exc, timeout)}") from None
    watch(client.get_transport(), label, host.ssh_server_alive_interval,
          host.ssh_server_alive_count_max)
    return client


def server_alive_failure(transport: paramiko.Transport | None) -> str | None:
    """Why the alive watch closed ``transport`` ("no answer from the SSH server for ..."), or
    None when it did not."""
    alive = getattr(transport, "alive", None)
    return getattr(alive, "reason", None)


def _load_key(host: Host, label: str) -> paramiko.PKey | None:
    """The private key of ``host.ssh_key``, read once (a regular file of at most 64 KiB; a
    FIFO is refused without blocking); None without one. No message shows key material."""
    if not host.ssh_key:
        return None
    path = Path(host.ssh_key).expanduser()
    try:
        return _private_key(read_regular_file(path, what="ssh key", limit=SSH_KEY_LIMIT).data)
    except FileRefused as exc:
        problem = exc.reason
    except FileNotFoundError:
        problem = "does not exist"
    except PermissionError:
        problem = "cannot be read (permission denied)"
    except TypeError:  # raised by the key loaders when a passphrase is needed
        problem = ("is encrypted; use an unencrypted key, or load it into an ssh agent and "
                   "leave ssh_key unset")
    except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as exc:
        problem = f"is not a usable private key ({str(exc).split('. ')[0]})"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror})"
    raise HostConnectionError(f"{label}: ssh key {path} {problem}")


def _private_key(data: bytes) -> paramiko.PKey:
    """A paramiko key from the bytes of an OpenSSH or PEM private key file (what
    ``PKey.from_path`` does, without opening the file again)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    loaded: object
    try:
        loaded = serialization.load_ssh_private_key(data, password=None)
    except ValueError:
        loaded = serialization.load_pem_private_key(data, password=None)
    key_class: type[paramiko.PKey]
    if isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    elif isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        raise ValueError(f"unsupported key type {type(loaded).__name__}")
    return key_class.from_private_key(io.StringIO(data.decode("ascii")))


def _open_socket(host: Host, label: str, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((host.hostname, host.port), timeout=timeout)
    except socket.gaierror as exc:
        raise HostConnectionError(
            f"{label}: cannot resolve host name {host.hostname!r} ({exc.strerror})") from None
    except OSError as exc:
        raise HostConnectionError(f"{label}: {_socket_failure(exc, timeout)}") from None


def _socket_failure(exc: OSError, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s (host down, unreachable or filtered?)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is sshd running on that port?)"
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"unreachable ({exc.strerror})"
    return f"connection failed: {exc.strerror or exc}"


def _handshake_failure(exc: Exception, timeout: float) -> str:
    if "banner" in str(exc) and isinstance(exc.__context__, TimeoutError):
        return f"no SSH banner within {timeout:g}s (is an SSH server listening there?)"
    if "banner" in str(exc):
        return "the server closed the connection before sending its SSH banner"
    if str(exc) == "No existing session":  # paramiko's words when negotiation timed out
        return f"SSH negotiation did not finish within {2 * timeout:g}s"
    return f"SSH handshake failed: {exc or type(exc).__name__}"


def _auth_failure(host: Host, exc: paramiko.AuthenticationException) -> str:
    tried = []
    if host.ssh_key:
        tried.append(f"public key {Path(host.ssh_key).expanduser()}")
    if host.password:
        tried.append("password")
    if not tried:
        tried.append("ssh agent and default keys ~/.ssh/id_*")
    allowed = ""
    if isinstance(exc, paramiko.BadAuthenticationType):
        allowed = f"; the server accepts: {', '.join(exc.allowed_types)}"
    return f"authentication failed as {login_name(host)} (tried: {', '.join(tried)}){allowed}"
