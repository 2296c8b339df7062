"""Apache's main SSL configuration in the engine's sysroot, ``/etc/httpd/conf.d/ssl.conf``, as
mod_ssl installs it and engine-setup edits it: its apache/ssl plugin sets SSLCertificateFile,
SSLCertificateKeyFile and SSLCACertificateFile to the engine PKI's Apache files and removes
SSLProtocol (the system's crypto policy applies).
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.sysroot_files import ensure_file

CONF_D = "etc/httpd/conf.d"
SSL_CONF = f"{CONF_D}/ssl.conf"


def ssl_conf_text(cert: str, key: str, ca: str) -> str:
    """``ssl.conf`` as engine-setup leaves it, naming the absolute paths ``cert``, ``key`` and
    ``ca``."""
    return f"""\
# Apache's SSL virtual host (mod_ssl), with the engine PKI's certificate set by engine-setup.
Listen 443 https

SSLPassPhraseDialog exec:/usr/libexec/httpd-ssl-pass-dialog
SSLSessionCache         shmcb:/run/httpd/sslcache(512000)
SSLSessionCacheTimeout  300
SSLCryptoDevice builtin

<VirtualHost _default_:443>
ErrorLog logs/ssl_error_log
TransferLog logs/ssl_access_log
LogLevel warn
SSLEngine on
SSLHonorCipherOrder on
SSLCipherSuite PROFILE=SYSTEM
SSLProxyCipherSuite PROFILE=SYSTEM
SSLCertificateFile {cert}
SSLCertificateKeyFile {key}
SSLCACertificateFile {ca}
CustomLog logs/ssl_request_log "%t %h %{{SSL_PROTOCOL}}x %{{SSL_CIPHER}}x \\"%r\\" %b"
</VirtualHost>
"""


def write_ssl_conf(root: Path, cert: str, key: str, ca: str) -> None:
    """Give the engine sysroot ``root`` its ``ssl.conf`` if it has none."""
    ensure_file(root / SSL_CONF, ssl_conf_text(cert, key, ca))
