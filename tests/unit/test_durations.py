"""parse_duration: the --lock-wait spellings, and one clear error for everything else."""

from __future__ import annotations

import pytest

from opsrunner.durations import parse_duration
from opsrunner.errors import UsageError


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("2h", 7200.0),
    ("1d", 86400.0), ("1.5h", 5400.0), ("0", 0.0), ("0s", 0.0), ("2.5", 2.5), (" 5M ", 300.0),
    ("1d2h3m4s", 93784.0), ("10m30s", 630.0), (".5m", 30.0),
])
def test_accepted_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", " ", "-5", "-5s", "inf", "nan", "infs", "1e3", "5x", "m", "1h30", "30m1h", "1h1h",
    "5 m", "1,5h", "s5", "1.2.3s", "9" * 400,
])
def test_rejected_forms_name_the_value_and_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "90s" in message and "1h30m" in message
