"""The ``lab`` extra: the Python packages the lab copies into the engine sysroot.

``pip install 'opsrunner[lab]'`` installs them. The check never imports them (finding them is
enough, and nothing imports them before it): every ``opsrunner lab`` command runs it first.
"""

from __future__ import annotations

import importlib.util

from opsrunner.errors import UsageError

# The import names of the lab extra's packages (ovirt-imageio, webob).
EXTRA_PACKAGES = ("ovirt_imageio", "webob")
INSTALL = "pip install 'opsrunner[lab]'"


def missing_packages() -> list[str]:
    """The extra's packages this Python cannot use: not found, or found but not a package
    (the lab copies each package's folder)."""
    missing = []
    for name in EXTRA_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a finder that refuses it, a broken module
            spec = None
        if spec is None or not spec.submodule_search_locations:
            missing.append(name)
    return missing


class LabExtraMissing(UsageError):
    """The lab extra is not installed; the message says what to install."""


def require_extra() -> None:
    """Raise :class:`LabExtraMissing` naming the install command unless the extra is here."""
    missing = missing_packages()
    if missing:
        raise LabExtraMissing(f"opsrunner lab needs the lab extra: {INSTALL} "
                              f"(missing: {', '.join(missing)})")
