"""Durations given on the command line (``--lock-wait 5m``): text to seconds."""

from __future__ import annotations

import math
import re

from opsrunner.errors import UsageError

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_PLAIN = re.compile(rf"(?:{_NUMBER})")
# Each unit at most once, from the largest to the smallest: 1d2h, 1h30m, 5m10s.
_WITH_UNITS = re.compile("".join(rf"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in _UNITS))
FORMS = ("seconds (90), or numbers with the units d, h, m, s from the largest to the smallest "
         "(90s, 5m, 1.5h, 1h30m, 1d)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90``, ``90s``, ``5m``, ``1.5h``, ``1h30m``, ``2h``, ``1d``.

    Case and surrounding blanks do not matter; zero is allowed.

    :raises UsageError: empty, negative, not finite, or another form; the message names the
        value and the accepted forms.
    """
    spelled = text.strip().lower()
    seconds: float | None = None
    if _PLAIN.fullmatch(spelled):
        seconds = float(spelled)
    elif spelled and (match := _WITH_UNITS.fullmatch(spelled)):
        seconds = sum(float(value) * _UNITS[unit]
                      for unit, value in match.groupdict().items() if value is not None)
    if seconds is None or not math.isfinite(seconds):
        raise UsageError(f"invalid duration {text!r}: expected {FORMS}")
    return seconds
