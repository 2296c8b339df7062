"""The ``lineinfile`` task and its pure editing functions."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.registry import Registry
from opsrunner.testing import MakeTask, tree_state
from opsrunner_plugins import config
from opsrunner_plugins.config import edit, lineinfile, shell_quote, unquote

CONF = "/etc/ovirt-engine/engine.conf.d/99-custom.conf"
ORIGINAL = (
    "# managed by hand\n"
    "ENGINE_HEAP_MIN=1g\n"
    "ENGINE_HEAP_MAX=2g\n"
    "#ENGINE_HEAP_MAX=8g\n"
    "  ENGINE_PERM_MIN=256m   \n"
    "ENGINE_HEAP_MAX=\"4g\"\n"
    "\n"
    "OTHER=x"
)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / CONF.lstrip("/")
    path.parent.mkdir(parents=True)
    path.write_text(ORIGINAL)
    return path


def test_replaces_last_active_line_and_drops_duplicates(make_task: MakeTask, conf: Path) -> None:
    res = lineinfile(make_task(), path=CONF, key="ENGINE_HEAP_MAX", value="6g")
    assert res.changed and res.msg == f"changed {CONF}: set ENGINE_HEAP_MAX"
    assert res.data["previous"] == "4g"
    assert conf.read_text() == ORIGINAL.replace("ENGINE_HEAP_MAX=2g\n", "").replace(
        'ENGINE_HEAP_MAX="4g"', "ENGINE_HEAP_MAX=6g")
    again = lineinfile(make_task(), path=CONF, key="ENGINE_HEAP_MAX", value="6g")
    assert not again.changed and again.data["previous"] == "6g"


def test_appends_a_missing_key_keeping_no_final_newline(make_task: MakeTask, conf: Path) -> None:
    lineinfile(make_task(), path=CONF, key="NEW_KEY_NAME", value="v")
    assert conf.read_text() == ORIGINAL + "\nNEW_KEY_NAME=v"
    conf.write_text("A=1\n")
    lineinfile(make_task(), path=CONF, key="B", value="2")
    assert conf.read_text() == "A=1\nB=2\n"


def test_absent_removes_every_active_definition(make_task: MakeTask, conf: Path) -> None:
    res = lineinfile(make_task(), path=CONF, key="ENGINE_HEAP_MAX", state="absent")
    assert res.msg == f"changed {CONF}: remove ENGINE_HEAP_MAX"
    assert conf.read_text() == ORIGINAL.replace("ENGINE_HEAP_MAX=2g\n", "").replace(
        'ENGINE_HEAP_MAX="4g"\n', "")
    assert "#ENGINE_HEAP_MAX=8g\n" in conf.read_text()
    assert not lineinfile(make_task(), path=CONF, key="ENGINE_HEAP_MAX", state="absent").changed


def test_other_bytes_stay_identical(make_task: MakeTask, conf: Path) -> None:
    raw = b"# caf\xc3\xa9 \xff\r\nA=1\r\n\tB = 2 # note\nC=3\n"
    conf.write_bytes(raw)
    lineinfile(make_task(), path=CONF, key="A", value="9")
    assert conf.read_bytes() == raw.replace(b"A=1\r\n", b"A=9\r\n")
    lineinfile(make_task(), path=CONF, key="B", value="7")
    assert conf.read_bytes() == raw.replace(b"A=1\r\n", b"A=9\r\n").replace(
        b"\tB = 2 # note\n", b"B=7\n")


def test_quote_escapes_for_the_shell(make_task: MakeTask, conf: Path) -> None:
    value = 'a "b" $HOME `id` \\n'
    res = lineinfile(make_task(), path=CONF, key="OTHER", value=value, quote=True)
    assert res.changed
    assert conf.read_text().endswith('OTHER="a \\"b\\" \\$HOME \\`id\\` \\\\n"')
    assert not lineinfile(make_task(), path=CONF, key="OTHER", value=value, quote=True).changed
    shell = subprocess.run(["sh", "-c", '. "$1"; printf %s "$OTHER"', "sh", str(conf)],
                           capture_output=True, text=True, check=True)
    assert shell.stdout == value
    again = lineinfile(make_task(), path=CONF, key="OTHER", value="x")
    assert again.data["previous"] == value


def test_secret_previous_value_is_masked(make_task: MakeTask, conf: Path) -> None:
    conf.write_text("ENGINE_DB_PASSWORD=\"hunter2\"\n")
    res = lineinfile(make_task(), path=CONF, key="ENGINE_DB_PASSWORD", value="new-secret")
    assert res.data["previous"] == "********"
    assert "hunter2" not in res.msg and "new-secret" not in res.msg
    fresh = lineinfile(make_task(), path=CONF, key="SSO_SECRET_NAME", value="s")
    assert fresh.data["previous"] is None


def test_creates_the_file_with_the_given_mode(make_task: MakeTask, tmp_path: Path) -> None:
    path = "/etc/ovirt-engine/engine.conf.d/10-secret.conf"
    (tmp_path / "etc/ovirt-engine/engine.conf.d").mkdir(parents=True)
    res = lineinfile(make_task(), path=path, key="PASSWORD", value="x", quote=True, mode="0600")
    assert res.msg == f"changed {path}: create file, set PASSWORD, mode 0600"
    target = tmp_path / path.lstrip("/")
    assert target.read_text() == 'PASSWORD="x"\n'
    assert target.stat().st_mode & 0o7777 == 0o600
    assert "backup" not in res.data


def test_create_false_fails_on_a_missing_file(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match=r"^/etc/x\.conf does not exist \(create=false\)$"):
        lineinfile(make_task(), path="/etc/x.conf", key="A", value="1", create=False)


def test_backup_keeps_content_mode_and_owner(make_task: MakeTask, conf: Path) -> None:
    os.chmod(conf, 0o640)
    res = lineinfile(make_task(), path=CONF, key="OTHER", value="y")
    assert re.fullmatch(re.escape(CONF) + r"\.\d{14}\.bak", res.data["backup"])
    backup = Path(str(conf.parents[3]) + res.data["backup"])
    assert backup.read_text() == ORIGINAL and backup.stat().st_mode & 0o7777 == 0o640
    assert conf.stat().st_mode & 0o7777 == 0o640


def test_mode_only_change_writes_no_backup(make_task: MakeTask, conf: Path) -> None:
    lineinfile(make_task(), path=CONF, key="OTHER", value="y")
    before = sorted(p.name for p in conf.parent.iterdir())
    res = lineinfile(make_task(), path=CONF, key="OTHER", value="y", mode="0600")
    assert res.msg == f"changed {CONF}: mode 0644 -> 0600" and "backup" not in res.data
    assert sorted(p.name for p in conf.parent.iterdir()) == before


def test_check_mode_changes_nothing(make_task: MakeTask, conf: Path, tmp_path: Path) -> None:
    before = tree_state(tmp_path)
    res = lineinfile(make_task(check=True), path=CONF, key="ENGINE_HEAP_MAX", value="1g",
                     mode="0600")
    assert res.msg == f"would change {CONF}: set ENGINE_HEAP_MAX, mode 0644 -> 0600"
    new = lineinfile(make_task(check=True), path="/etc/ovirt-engine/new.conf", key="A",
                     value="1")
    assert new.changed
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"key": "A"}, "value is required with state=present"),
    ({"key": "A", "value": "1", "state": "absent"}, "value is not allowed with state=absent"),
    ({"key": "A B", "value": "1"}, "key 'A B' is not a variable name"),
    ({"key": "A", "value": "1\nB=2"}, "the value of A must be a single line"),
])
def test_bad_parameters_fail(make_task: MakeTask, conf: Path, kwargs: dict[str, str],
                             message: str) -> None:
    with pytest.raises(TaskFailed, match=re.escape(message)):
        lineinfile(make_task(), path=CONF, **kwargs)  # type: ignore[arg-type]
    assert conf.read_text() == ORIGINAL


def test_edit_with_a_space_separator() -> None:
    text = "Listen 80\n#Listen 81\nListenBacklog 5\n"
    assert edit(text, "Listen", " ", "Listen 8080") == (
        "Listen 8080\n#Listen 81\nListenBacklog 5\n", "80")


def test_quote_round_trip() -> None:
    for value in ["", "plain", 'q"uote', "back\\slash", "$(id)", "`id`", "it's"]:
        assert unquote(shell_quote(value)) == value
    assert unquote("'single $x'") == "single $x"


def test_registered_as_lineinfile() -> None:
    registry = Registry()
    config.opsrunner_register_tasks(registry)
    assert registry.task("lineinfile").params["separator"].default == "="
