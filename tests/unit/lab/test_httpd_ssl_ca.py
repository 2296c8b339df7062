"""The lab Apache's TLS virtual host names apache-ca.pem as SSLCACertificateFile, as
engine-setup's ssl.conf does (OpenSSL builds the served chain from it)."""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.httpd import httpd_config
from opsrunner_lab.layout import ENGINE, LabLayout


def test_the_tls_virtual_host_names_apache_ca_as_its_ca_file(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", 0, "127.0.120.")
    lines = httpd_config(layout).splitlines()
    start = lines.index("<VirtualHost 127.0.120.2:443>")
    host = lines[start:lines.index("</VirtualHost>", start)]
    pki = layout.sysroot(ENGINE) / "etc/pki/ovirt-engine"
    assert f'    SSLCertificateFile "{pki}/certs/apache.cer"' in host
    assert f'    SSLCertificateKeyFile "{pki}/keys/apache.key.nopass"' in host
    assert f'    SSLCACertificateFile "{pki}/apache-ca.pem"' in host
    assert sum("SSLCACertificateFile" in line for line in lines) == 1
