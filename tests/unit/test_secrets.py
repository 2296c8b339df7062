from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError, Location, UsageError
from opsrunner.secrets import (
    MASK,
    Redactor,
    is_secret_ref,
    read_secret,
    secret_from_env,
    secret_from_file,
)
from tests.unit.deadline import deadline


def secret_file(folder: Path, name: str, content: str, mode: int = 0o600) -> Path:
    file = folder / name
    file.write_text(content)
    file.chmod(mode)
    return file


class TestRedactor:
    def test_every_occurrence_is_masked(self) -> None:
        redactor = Redactor(["hunter2"])
        assert redactor.text("pw=hunter2 again hunter2.") == f"pw={MASK} again {MASK}."

    def test_text_without_secrets_is_unchanged(self) -> None:
        assert Redactor(["hunter2"]).text("nothing here") == "nothing here"
        assert Redactor().text("hunter2") == "hunter2"

    def test_longest_secret_wins(self) -> None:
        redactor = Redactor(["abc", "abcdef"])
        assert redactor.text("xabcdefx") == f"x{MASK}x"

    def test_overlapping_secrets_leave_no_fragment(self) -> None:
        redactor = Redactor(["abcd", "cdef"])
        assert redactor.text("<abcdef>") == f"<{MASK}>"

    def test_short_secrets_are_masked_and_empty_ignored(self) -> None:
        redactor = Redactor(["", "ab"])
        assert redactor.secrets == frozenset({"ab"})
        assert redactor.text("cab") == f"c{MASK}"

    def test_regex_characters_are_literal(self) -> None:
        redactor = Redactor(["a.b*c"])
        assert redactor.text("a.b*c aXbbc") == f"{MASK} aXbbc"

    def test_add_later(self) -> None:
        redactor = Redactor()
        redactor.add("s3cret")
        assert redactor.text("is s3cret") == f"is {MASK}"

    def test_add_from_many_threads(self) -> None:
        redactor = Redactor()
        secrets = [f"secret-{i:03d}" for i in range(200)]
        threads = [threading.Thread(target=redactor.add, args=(s,)) for s in secrets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert redactor.secrets == frozenset(secrets)
        assert redactor.text(" ".join(secrets)) == " ".join([MASK] * 200)

    def test_value_is_recursive(self) -> None:
        redactor = Redactor(["pw123"])
        value = {"a": ["x pw123", ("pw123", 5)], "pw123": {"n": None, "t": True}}
        assert redactor.value(value) == {"a": [f"x {MASK}", (MASK, 5)],
                                         MASK: {"n": None, "t": True}}


class TestReadSecret:
    def test_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPSRUNNER_TEST_PW", "from-env")
        assert read_secret({"secret_env": "OPSRUNNER_TEST_PW"}, Path("/"), "x") == "from-env"

    def test_env_missing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OPSRUNNER_TEST_PW", raising=False)
        with pytest.raises(UsageError) as caught:
            secret_from_env("OPSRUNNER_TEST_PW", "host 'a', field 'password_env'")
        assert str(caught.value) == ("host 'a', field 'password_env': "
                                     "environment variable OPSRUNNER_TEST_PW is not set")

    def test_env_empty(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPSRUNNER_TEST_PW", "")
        with pytest.raises(UsageError, match="OPSRUNNER_TEST_PW is empty"):
            secret_from_env("OPSRUNNER_TEST_PW", "w")

    def test_relative_file_strips_one_newline(self, tmp_path: Path) -> None:
        secret_file(tmp_path, "pw", "line\n\n")
        assert read_secret({"secret_file": "pw"}, tmp_path, "x") == "line\n"

    def test_crlf_counts_as_one_newline(self, tmp_path: Path) -> None:
        secret_file(tmp_path, "pw", "value\r\n")
        assert secret_from_file("pw", tmp_path, "x") == "value"

    def test_absolute_file(self, tmp_path: Path) -> None:
        file = secret_file(tmp_path, "pw", "abs")
        assert secret_from_file(str(file), Path("/nonexistent"), "x") == "abs"

    def test_world_readable_file_refused(self, tmp_path: Path) -> None:
        file = secret_file(tmp_path, "pw", "value", mode=0o644)
        where = Location("hosts.yaml", 3, 20)
        with pytest.raises(InventoryError) as caught:
            secret_from_file("pw", tmp_path, "host 'a', field 'password_file'", location=where,
                             error=InventoryError)
        assert str(caught.value) == (
            f"hosts.yaml:3:20: host 'a', field 'password_file': secret file {file} is readable "
            f"by others (mode 0644); run: chmod o-r {file}")
        assert "value" not in str(caught.value)

    def test_group_readable_file_accepted(self, tmp_path: Path) -> None:
        secret_file(tmp_path, "pw", "value", mode=0o640)
        assert secret_from_file("pw", tmp_path, "x") == "value"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError) as caught:
            secret_from_file("nope", tmp_path, "w")
        assert str(caught.value) == f"w: secret file {tmp_path / 'nope'} does not exist"

    def test_directory_is_unreadable(self, tmp_path: Path) -> None:
        (tmp_path / "dir").mkdir(mode=0o700)
        with pytest.raises(UsageError, match=r"secret file .*dir is not a regular file \(a folder\)"):
            secret_from_file("dir", tmp_path, "w")

    def test_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pw", 0o600)
        with deadline(), pytest.raises(UsageError) as caught:
            secret_from_file("pw", tmp_path, "w")
        assert str(caught.value) == f"w: secret file {tmp_path / 'pw'} is not a regular file (a FIFO)"

    def test_device_is_refused(self, tmp_path: Path) -> None:
        with deadline(), pytest.raises(UsageError) as caught:
            secret_from_file("/dev/zero", tmp_path, "w")
        assert str(caught.value) == ("w: secret file /dev/zero is not a regular file "
                                     "(a character device)")

    def test_a_huge_file_is_refused_with_the_limit(self, tmp_path: Path) -> None:
        file = secret_file(tmp_path, "pw", "x" * (65 * 1024))
        with pytest.raises(UsageError) as caught:
            secret_from_file("pw", tmp_path, "w")
        assert str(caught.value) == (f"w: secret file {file} is 65 KiB; secret files are "
                                     "limited to 64 KiB")

    def test_empty_file(self, tmp_path: Path) -> None:
        secret_file(tmp_path, "pw", "\n")
        with pytest.raises(UsageError, match="is empty"):
            secret_from_file("pw", tmp_path, "w")

    def test_binary_file(self, tmp_path: Path) -> None:
        file = tmp_path / "pw"
        file.write_bytes(b"\xff\xfe")
        file.chmod(0o600)
        with pytest.raises(UsageError, match="is not UTF-8 text"):
            secret_from_file("pw", tmp_path, "w")

    @pytest.mark.parametrize("spec", [{}, {"secret_env": "A", "secret_file": "b"}, {"env": "A"}])
    def test_malformed_reference(self, spec: dict[str, str]) -> None:
        with pytest.raises(UsageError, match="exactly one key, secret_env or secret_file"):
            read_secret(spec, Path("/"), "w")

    def test_reference_value_must_be_text(self) -> None:
        with pytest.raises(UsageError, match="w: secret_env must be a non-empty string"):
            read_secret({"secret_env": 5}, Path("/"), "w")

    def test_is_secret_ref(self) -> None:
        assert is_secret_ref({"secret_env": "A"})
        assert is_secret_ref({"secret_file": "a", "other": 1})
        assert not is_secret_ref({"env": "A"})
        assert not is_secret_ref("secret_env")
