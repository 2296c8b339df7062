"""The simulator's settings: transition timings from the lab's timing.json, and the lab's
storage and imageio."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.engine_api.settings import (
    Timing,
    lab_settings,
    load_timing,
    write_timing,
)
from opsrunner_lab.layout import LabLayout


def test_defaults_scale_and_single_durations(tmp_path: Path) -> None:
    path = tmp_path / "timing.json"
    assert load_timing(path) == Timing()
    path.write_text('{"scale": 0.5, "vm_boot": 10}')
    timing = load_timing(path)
    assert timing.vm_boot == 5.0 and timing.host_maintenance == Timing().host_maintenance / 2


@pytest.mark.parametrize(("text", "message"), [
    ('{"vm_bot": 1}', "unknown timing 'vm_bot'; allowed: scale, disk, host_activate"),
    ('{"scale": -1}', "scale must be a number of seconds >= 0, not -1"),
    ('{"disk": true}', "disk must be a number of seconds >= 0, not True"),
    ("[1]", "expected an object such as"),
    ("{", "not JSON"),
])
def test_bad_timing_files_are_named_with_what_is_allowed(tmp_path: Path, text: str,
                                                         message: str) -> None:
    path = tmp_path / "timing.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"timing\.json: ") as error:
        load_timing(path)
    assert message in str(error.value)


def test_lab_settings_point_at_the_labs_storage_imageio_and_timing(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", address_prefix="127.0.83.")
    write_timing(layout, 0.1)
    settings = lab_settings(layout)
    assert settings.storage == layout.data / "storage"
    assert settings.engine_address == "127.0.83.2"
    assert settings.imageio_control == ("localhost", 24327)
    assert settings.timing == Timing().scaled(0.1)
