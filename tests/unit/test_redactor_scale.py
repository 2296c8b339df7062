"""A Redactor of n secrets compiles its pattern once, not once per secret."""

from __future__ import annotations

import re

import pytest

from opsrunner import secrets
from opsrunner.secrets import MASK, Redactor


def test_many_secrets_compile_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(secrets.re, "compile", counting)
    redactor = Redactor(f"secret-{i:05d}" for i in range(10_000))
    assert compiled == []
    assert redactor.text("a secret-00042 b secret-09999") == f"a {MASK} b {MASK}"
    assert redactor.text("secret-00001") == MASK
    assert len(compiled) == 1
    redactor.add("another")
    assert redactor.text("another secret-00007") == f"{MASK} {MASK}"
    assert len(compiled) == 2
