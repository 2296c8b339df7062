"""The lab guest's poweroff, shutdown and halt: what they accept, and a clear failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.tools.power import halt_main, poweroff_main, shutdown_main


@pytest.mark.parametrize(("main", "argv", "usage"), [
    (poweroff_main, ["--reboot"], "poweroff: this lab guest only powers off; use: poweroff [-f]"),
    (shutdown_main, ["-r", "now"], "shutdown: this lab guest only powers off; use: "
                                   "shutdown [-h|-P] now"),
    (shutdown_main, ["-h", "+5"], "shutdown: this lab guest only powers off"),
    (shutdown_main, [], "shutdown: this lab guest only powers off"),
    (halt_main, [], "halt: this lab guest only powers off; use: halt -p"),
])
def test_anything_but_a_power_off_is_refused(main: object, argv: list[str], usage: str,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert callable(main)
    assert main(str(tmp_path / "hosts/ol8-vm1/bin/x"), argv) == 2
    assert capsys.readouterr().err.startswith(usage)


def test_without_the_labs_token_poweroff_fails_clearly(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.99.")
    layout.save()
    script = layout.bin_dir("ol8-vm1") / "poweroff"
    assert poweroff_main(str(script), []) == 1
    assert capsys.readouterr().err == ("poweroff: cannot read the lab's internal token: "
                                       "No such file or directory\n")
