"""The engine host's ``ovirt-websocket-proxy``: a TLS server answering through the sysroot's webob.

``webob`` is copied to ``/usr/lib/python3.6/site-packages/webob`` of the engine sysroot (the
path the HSTS procedure patches); the server (:mod:`opsrunner_lab.wsproxy_server`) runs with
that folder first on ``PYTHONPATH`` and reads its certificate from the sysroot's
``ovirt-websocket-proxy.conf.d`` at each start.
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab import wsproxy_server
from opsrunner_lab.daemon import Daemon
from opsrunner_lab.httpd import tls_answers
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.modules import python_m
from opsrunner_lab.unit import Unit
from opsrunner_lab.vendor_copy import copy_first_env, install_copy, installed_package, require_copy

NAME = "ovirt-websocket-proxy"
SITE_PACKAGES = "usr/lib/python3.6/site-packages"
PACKAGE = "webob"


def webob_site_packages(layout: LabLayout) -> Path:
    """The sysroot's ``site-packages`` folder that holds the ``webob`` copy."""
    return layout.sysroot(ENGINE) / SITE_PACKAGES


def install_websocket_proxy(layout: LabLayout, *, replace: bool = False) -> bool:
    """Copy the installed ``webob`` into the engine sysroot; True if copied.

    An existing (possibly patched) copy is kept unless ``replace`` (a package update).
    """
    return install_copy(installed_package(PACKAGE), webob_site_packages(layout) / PACKAGE,
                        replace=replace)


def websocket_proxy_unit(layout: LabLayout) -> Unit:
    """The ``ovirt-websocket-proxy`` unit of the engine host; ready once TLS answers."""
    address, port = layout.engine_address, ENGINE_PORTS[NAME]
    site_packages = webob_site_packages(layout)
    argv = [*python_m(wsproxy_server), str(layout.sysroot(ENGINE)), address, str(port)]
    daemon = Daemon(NAME, argv, layout.run_dir(ENGINE) / f"{NAME}.pid",
                    layout.log_dir(ENGINE) / f"{NAME}.log",
                    ready=lambda: tls_answers(address, port), env=copy_first_env(site_packages))
    return Unit(NAME, daemon, "oVirt Engine websockets proxy",
                lambda: require_copy(site_packages / PACKAGE, install_websocket_proxy),
                {"https": port})
