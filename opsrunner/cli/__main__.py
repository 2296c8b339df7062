"""``python -m opsrunner.cli``: the same as the ``opsrunner`` command."""

from opsrunner.cli import main

main()
