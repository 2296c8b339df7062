"""The lab Apache's TLS virtual host takes its certificate, key and CA file (apache-ca.pem, from
which OpenSSL builds the served chain) from the engine sysroot's ssl.conf, as engine-setup
writes it; the other conf.d files are included as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.httpd import httpd_config
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.sysroot_ssl_conf import SSL_CONF, write_ssl_conf

PKI = "/etc/pki/ovirt-engine"


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    lab = LabLayout(tmp_path / "lab", 0, "127.0.120.")
    write_ssl_conf(lab.sysroot(ENGINE), f"{PKI}/certs/apache.cer",
                   f"{PKI}/keys/apache.key.nopass", f"{PKI}/apache-ca.pem")
    return lab


def _virtual_host(layout: LabLayout) -> list[str]:
    lines = httpd_config(layout).splitlines()
    start = lines.index("<VirtualHost 127.0.120.2:443>")
    assert sum("SSLCACertificateFile" in line for line in lines) == 1
    return lines[start:lines.index("</VirtualHost>", start)]


def test_the_tls_virtual_host_names_the_files_of_ssl_conf(layout: LabLayout) -> None:
    host = _virtual_host(layout)
    pki = layout.sysroot(ENGINE) / "etc/pki/ovirt-engine"
    assert f'    SSLCertificateFile "{pki}/certs/apache.cer"' in host
    assert f'    SSLCertificateKeyFile "{pki}/keys/apache.key.nopass"' in host
    assert f'    SSLCACertificateFile "{pki}/apache-ca.pem"' in host


def test_an_edited_ssl_conf_is_what_apache_uses(layout: LabLayout) -> None:
    conf = layout.sysroot(ENGINE) / SSL_CONF
    conf.write_text(conf.read_text().replace(
        "SSLCertificateFile /etc/pki/ovirt-engine/certs/apache.cer",
        "# old\n  sslcertificatefile\t\"/etc/pki/tls/certs/third party.cer\""))
    host = _virtual_host(layout)
    assert (f'    SSLCertificateFile "{layout.sysroot(ENGINE)}/etc/pki/tls/certs/third party.cer"'
            in host)


def test_conf_d_files_but_ssl_conf_are_included_in_name_order(layout: LabLayout) -> None:
    conf_d = layout.sysroot(ENGINE) / "etc/httpd/conf.d"
    for name in ("z-proxy.conf", "a-first.conf", "notes.txt"):
        (conf_d / name).write_text("# x\n")
    includes = [line for line in httpd_config(layout).splitlines() if line.startswith("Include")]
    assert includes == [f'Include "{conf_d}/a-first.conf"', f'Include "{conf_d}/z-proxy.conf"']


def test_an_ssl_conf_without_a_certificate_is_refused(layout: LabLayout) -> None:
    conf = layout.sysroot(ENGINE) / SSL_CONF
    conf.write_text("\n".join(line for line in conf.read_text().splitlines()
                              if not line.startswith("SSLCertificateKeyFile")))
    with pytest.raises(LabServerError, match="sets no SSLCertificateKeyFile"):
        httpd_config(layout)
    conf.unlink()
    with pytest.raises(LabServerError, match=r"ssl\.conf is missing"):
        httpd_config(layout)
