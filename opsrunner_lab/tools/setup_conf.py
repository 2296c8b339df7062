"""The setup environment as ``otopi-config-query match`` reads it for engine-backup.

The real engine-backup asks ``otopi-config-query match --key KEY --value bool:True --file
/etc/ovirt-engine-setup.conf`` whether a component is set up: that reads the file (when
present) and ``/etc/ovirt-engine-setup.conf.d/*.conf`` in sorted order (later files win),
section ``[environment:default]``. A missing key, no file at all or an unreadable file is
"not enabled", and engine-backup then silently leaves that database out.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from opsrunner_lab.sysroot_setup_files import setup_files

SECTION = "environment:default"


def setup_enabled(sysroot: Path, key: str) -> bool:
    """Whether ``key`` (e.g. ``OVESETUP_ENGINE_CORE/enable``) is ``bool:True`` in ``sysroot``'s
    setup environment."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        if not parser.read(setup_files(sysroot)):
            return False
        value = parser.get(SECTION, key)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return False
    kind, _, text = value.strip().partition(":")
    return kind == "bool" and text.strip().lower() == "true"
