"""The engine host's ``ovirt-imageio``: the real daemon from PyPI, run from the sysroot's copy.

The package is copied to ``/usr/lib64/python3.6/site-packages/ovirt_imageio`` of the engine
sysroot (the path the HSTS procedure patches) and the daemon runs from that copy, so an edit
of its ``_internal/http.py`` is what answers after a restart. Configured as an engine's
``50-engine.conf`` does: TLS with Apache's certificate on the remote port, the control service
over TCP on localhost, no local service. Its log and stderr share one file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsrunner_lab.daemon import Daemon, LabServerError, port_open
from opsrunner_lab.httpd import tls_answers
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import dotted
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.sysroot_engine import PKI, SERVICE_CERTS
from opsrunner_lab.unit import Unit
from opsrunner_lab.vendor_copy import copy_first_env, install_copy, installed_package, require_copy

NAME = "ovirt-imageio"
SITE_PACKAGES = "usr/lib64/python3.6/site-packages"
PACKAGE = "ovirt_imageio"
CONTROL_HOST = "localhost"  # the daemon binds its TCP control service there only
# What /usr/bin/ovirt-imageio runs.
_ENTRY = "from ovirt_imageio._internal import server; server.main()"


def imageio_site_packages(layout: LabLayout) -> Path:
    """The sysroot's ``site-packages`` folder that holds the ``ovirt_imageio`` copy."""
    return layout.sysroot(ENGINE) / SITE_PACKAGES


def install_imageio(layout: LabLayout, *, replace: bool = False) -> bool:
    """Copy the installed ``ovirt_imageio`` into the engine sysroot; True if copied.

    An existing (possibly patched) copy is kept unless ``replace`` (a package update).
    """
    return install_copy(installed_package(PACKAGE), imageio_site_packages(layout) / PACKAGE,
                        replace=replace)


def imageio_conf_dir(layout: LabLayout) -> Path:
    """The daemon's ``-c`` folder (``conf.d/50-lab.conf``), outside the sysroot."""
    return layout.host_dir(ENGINE) / "imageio"


def imageio_config(layout: LabLayout, control_port: int) -> str:
    """The ``conf.d/50-lab.conf`` of the lab's daemon (see ovirt_imageio's ``config.py``)."""
    pki = layout.sysroot(ENGINE) / PKI
    cert, key = SERVICE_CERTS["apache"]
    run_dir = layout.run_dir(ENGINE) / NAME
    log = layout.log_dir(ENGINE) / f"{NAME}.log"
    sections: dict[str, dict[str, object]] = {
        # poll_interval: how soon a stop is noticed (1 s by default, twice per stop).
        "daemon": {"drop_privileges": "false", "systemd_enable": "false", "run_dir": run_dir,
                   "poll_interval": 0.1},
        "tls": {"enable": "true", "key_file": pki / key, "cert_file": pki / cert,
                "ca_file": pki / "apache-ca.pem"},
        "remote": {"host": layout.engine_address, "port": ENGINE_PORTS[NAME]},
        "local": {"enable": "false"},
        "control": {"transport": "tcp", "port": control_port},
        "profile": {"filename": run_dir / "profile"},
        "handler_logfile": {"class": "logging.FileHandler", "args": repr((str(log),)),
                            "kwargs": "{}"},
    }
    return "".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()) + "\n"
                   for section, options in sections.items())


def prepare_imageio(layout: LabLayout, control_port: int) -> None:
    """Write the daemon's config; LabServerError if the copy or the PKI is missing."""
    require_copy(imageio_site_packages(layout) / PACKAGE, install_imageio)
    pki = layout.sysroot(ENGINE) / PKI
    if not pki.is_dir():
        raise LabServerError(f"the engine sysroot has no {pki}: build the sysroots first "
                             f"({dotted(build_sysroots)}, run by `opsrunner lab up`)")
    (layout.run_dir(ENGINE) / NAME).mkdir(parents=True, exist_ok=True)
    conf = imageio_conf_dir(layout) / "conf.d" / "50-lab.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(imageio_config(layout, control_port))


def imageio_unit(layout: LabLayout) -> Unit:
    """The ``ovirt-imageio`` unit of the engine host, its control port the layout's.

    Ready once a TLS handshake on the remote port completes and the control port accepts.
    """
    address, port = layout.engine_address, ENGINE_PORTS[NAME]
    control_port = layout.imageio_control_port
    argv = [sys.executable, "-c", _ENTRY, "-c", str(imageio_conf_dir(layout))]

    def ready() -> bool:
        return tls_answers(address, port) and port_open(CONTROL_HOST, control_port)

    # imageio's main thread waits in signal.pause() and can miss a SIGTERM that comes just
    # after its start (its handler never logs "Received signal"): measured here, 15 of 20
    # stops right after a start waited out the 10 s and were killed. A repeated SIGTERM is
    # handled (one "Received signal" per stop, worst stop 0.8 s), as a second kill would be.
    daemon = Daemon(NAME, argv, layout.run_dir(ENGINE) / f"{NAME}.pid",
                    layout.log_dir(ENGINE) / f"{NAME}.log", ready=ready,
                    env=copy_first_env(imageio_site_packages(layout)), term_every=0.5)
    return Unit(NAME, daemon, "oVirt ImageIO Daemon", lambda: prepare_imageio(layout, control_port),
                {"https": port, "control": control_port})
