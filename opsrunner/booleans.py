"""The one set of words that spell a boolean, in task parameters, ``when:``, ``| bool`` and
inventory flags.

``true``/``yes``/``on``/``1`` and ``false``/``no``/``off``/``0``, in any case, surrounding
blanks ignored. The empty (or blank) string is *not* a boolean word: where a value is
validated as a boolean (task parameters, ``engine_insecure``) it is an error; where a Jinja
result is tested (``when:``, the ``bool`` filter) it is false, as Jinja's own tests have it.
"""

from __future__ import annotations

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def parse_bool(value: object) -> bool | None:
    """``value`` as a bool when it is one or a boolean word; None for anything else (``""`` too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None
