"""The engine host's Apache httpd: Debian's real ``apache2`` with mod_ssl, in the lab's folders.

It serves TLS on the engine address with the certificate, key and CA file that the engine
sysroot's ``/etc/httpd/conf.d/ssl.conf`` names (:mod:`.httpd_ssl`; engine-setup's:
``certs/apache.cer``, ``keys/apache.key.nopass``, ``apache-ca.pem``, from which OpenSSL builds
the served chain: a third-party CA's intermediates are served once the Administration Guide's
certificate replacement put them there), read each time it starts; it includes the sysroot's
other ``/etc/httpd/conf.d/*.conf`` at server level, in name order (as a real engine's
``httpd.conf`` does, so the HSTS procedure's file works unchanged), and proxies
``/ovirt-engine/`` to the engine API simulator (503 while it is down, as behind a stopped
engine).
The ServerRoot is ``<lab>/hosts/engine/httpd`` with ``modules -> /usr/lib/apache2/modules``.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from opsrunner_lab.daemon import Daemon, LabServerError
from opsrunner_lab.httpd_ssl import conf_d_files, ssl_files
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import dotted
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.sysroot_engine import PKI
from opsrunner_lab.sysroot_files import fqdn
from opsrunner_lab.unit import Unit

APACHE = Path("/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
RUN_USER = "www-data"
# mod_log_config and mod_unixd are built into Debian's apache2.
MODULES = ("mpm_event", "authz_core", "mime", "ssl", "socache_shmcb", "headers", "rewrite",
           "proxy", "proxy_http", "alias", "dir")


class HttpdPaths:
    """Where the lab's Apache keeps its config, runtime files and logs."""

    def __init__(self, layout: LabLayout) -> None:
        self.server_root = layout.host_dir(ENGINE) / "httpd"
        self.config = self.server_root / "httpd.conf"
        self.runtime = self.server_root / "run"
        self.htdocs = self.server_root / "htdocs"  # empty: children (www-data) read no files
        self.error_log = layout.log_dir(ENGINE) / "httpd.log"
        self.access_log = layout.log_dir(ENGINE) / "httpd-access.log"
        self.pidfile = layout.run_dir(ENGINE) / "httpd.pid"


def httpd_config(layout: LabLayout) -> str:
    """The complete ``httpd.conf`` of the lab's Apache (no Debian envvars needed); a
    LabServerError if the sysroot's ``ssl.conf`` names no certificate."""
    paths = HttpdPaths(layout)
    address = layout.engine_address
    root = layout.sysroot(ENGINE)
    ssl = ssl_files(root)
    backend = f"http://{address}:{ENGINE_PORTS['ovirt-engine']}/ovirt-engine/"
    loads = [f"LoadModule {name}_module modules/mod_{name}.so" for name in MODULES]
    return "\n".join([
        f'ServerRoot "{paths.server_root}"',
        *loads,
        f'DefaultRuntimeDir "{paths.runtime}"',
        f'PidFile "{paths.runtime / "httpd.pid"}"',
        f"User {RUN_USER}",
        f"Group {RUN_USER}",
        f"ServerName {fqdn(ENGINE)}",
        "ServerAdmin root@localhost",
        f"Listen {address}:{ENGINE_PORTS['http']}",
        f"Listen {address}:{ENGINE_PORTS['https']}",
        "StartServers 1",
        "ServerLimit 2",
        "ThreadsPerChild 16",
        "MaxRequestWorkers 32",
        "MinSpareThreads 4",
        "MaxSpareThreads 32",
        f'ErrorLog "{paths.error_log}"',
        "LogLevel warn",
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
        f'CustomLog "{paths.access_log}" common',
        "TypesConfig /etc/mime.types",
        f'DocumentRoot "{paths.htdocs}"',
        "DirectoryIndex index.html",
        "<Directory />",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
        f'<Directory "{paths.htdocs}">',
        "    Require all granted",
        "</Directory>",
        f'SSLSessionCache "shmcb:{paths.runtime / "ssl_scache"}(512000)"',
        "ProxyRequests Off",
        "ProxyPreserveHost On",
        # retry=0: answer from the simulator as soon as it runs, not 60 s after a 503.
        f"ProxyPass /ovirt-engine/ {backend} retry=0",
        f"ProxyPassReverse /ovirt-engine/ {backend}",
        "<Location /ovirt-engine/>",
        "    Require all granted",
        "</Location>",
        f"<VirtualHost {address}:{ENGINE_PORTS['https']}>",
        f"    ServerName {fqdn(ENGINE)}",
        "    SSLEngine on",
        "    SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1",
        *(f'    {name} "{path}"' for name, path in ssl.items()),
        "</VirtualHost>",
        *(f'Include "{path}"' for path in conf_d_files(root)),
        "",
    ])


def prepare_httpd(layout: LabLayout) -> None:
    """Write the ServerRoot (config, ``modules`` link); LabServerError if unusable."""
    if not APACHE.exists():
        raise LabServerError(f"{APACHE} is missing: install Debian's apache2 package "
                             "(apt-get install apache2)")
    pki = layout.sysroot(ENGINE) / PKI
    if not pki.is_dir():
        raise LabServerError(f"the engine sysroot has no {pki}: build the sysroots first "
                             f"({dotted(build_sysroots)}, run by `opsrunner lab up`)")
    paths = HttpdPaths(layout)
    paths.runtime.mkdir(parents=True, exist_ok=True)
    paths.htdocs.mkdir(parents=True, exist_ok=True)
    paths.error_log.parent.mkdir(parents=True, exist_ok=True)
    modules = paths.server_root / "modules"
    if not modules.is_symlink():
        modules.symlink_to(APACHE_MODULES)
    paths.config.write_text(httpd_config(layout))


def tls_answers(address: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TLS handshake with ``address:port`` completes (any certificate)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock, \
                context.wrap_socket(sock, server_hostname=fqdn(ENGINE)):
            return True
    except OSError:
        return False


def httpd_unit(layout: LabLayout) -> Unit:
    """The ``httpd`` unit of the engine host.

    Ready once a TLS handshake on the HTTPS port completes: Apache binds its ports before it
    loads the certificates, so an open port alone does not prove it started.
    """
    paths = HttpdPaths(layout)
    address = layout.engine_address
    argv = [str(APACHE), "-d", str(paths.server_root), "-f", str(paths.config), "-DFOREGROUND"]
    daemon = Daemon("httpd", argv, paths.pidfile, paths.error_log,
                    ready=lambda: tls_answers(address, ENGINE_PORTS["https"]))
    return Unit("httpd", daemon, "The Apache HTTP Server", lambda: prepare_httpd(layout),
                {"https": ENGINE_PORTS["https"], "http": ENGINE_PORTS["http"]})
