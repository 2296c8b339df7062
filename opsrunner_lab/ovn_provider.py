"""The engine host's ``ovirt-provider-ovn``: a TLS server on the sysroot's copy of ``http.server``.

The running interpreter's stdlib ``http`` package is copied to ``/usr/lib64/python3.6/http`` of
the engine sysroot (the path the HSTS procedure patches); the server
(:mod:`opsrunner_lab.ovn_server`) runs with ``/usr/lib64/python3.6`` first on ``PYTHONPATH``,
so ``import http.server`` loads the copy. It serves Apache's certificate of the sysroot (the
lab issues no separate ``ovirt-provider-ovn`` certificate).
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab import ovn_server
from opsrunner_lab.daemon import Daemon
from opsrunner_lab.httpd import tls_answers
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import python_m
from opsrunner_lab.sysroot_engine import PKI, SERVICE_CERTS
from opsrunner_lab.unit import Unit
from opsrunner_lab.vendor_copy import copy_first_env, install_copy, require_copy, stdlib_package

NAME = "ovirt-provider-ovn"
STDLIB = "usr/lib64/python3.6"
PACKAGE = "http"


def ovn_stdlib(layout: LabLayout) -> Path:
    """The sysroot's stdlib folder that holds the ``http`` copy."""
    return layout.sysroot(ENGINE) / STDLIB


def install_ovn_provider(layout: LabLayout, *, replace: bool = False) -> bool:
    """Copy the interpreter's stdlib ``http`` package into the engine sysroot; True if copied.

    An existing (possibly patched) copy is kept unless ``replace`` (a package update).
    """
    return install_copy(stdlib_package(PACKAGE), ovn_stdlib(layout) / PACKAGE, replace=replace)


def ovn_provider_unit(layout: LabLayout) -> Unit:
    """The ``ovirt-provider-ovn`` unit of the engine host; ready once TLS answers."""
    address, port = layout.engine_address, ENGINE_PORTS[NAME]
    pki = layout.sysroot(ENGINE) / PKI
    cert, key = SERVICE_CERTS["apache"]
    argv = [*python_m(ovn_server), str(pki / cert), str(pki / key), address, str(port)]
    daemon = Daemon(NAME, argv, layout.run_dir(ENGINE) / f"{NAME}.pid",
                    layout.log_dir(ENGINE) / f"{NAME}.log",
                    ready=lambda: tls_answers(address, port), env=copy_first_env(ovn_stdlib(layout)))
    return Unit(NAME, daemon, "oVirt Network Provider for OVN",
                lambda: require_copy(ovn_stdlib(layout) / PACKAGE, install_ovn_provider),
                {"https": port})
