"""The ``copy``, ``template`` and ``file`` tasks on a local host with a sysroot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.registry import Registry
from opsrunner.testing import MakeTask, tree_state
from opsrunner_plugins import files
from opsrunner_plugins.files import copy, file, template

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners")


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    path = tmp_path / "etc"
    path.mkdir()
    return path


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o7777


# copy -----------------------------------------------------------------------------------

def test_copy_creates_then_reports_unchanged(make_task: MakeTask, etc: Path) -> None:
    first = copy(make_task(), dest="/etc/app.conf", content="a=1\n")
    assert first.changed and first.msg == "changed /etc/app.conf: create file"
    assert (etc / "app.conf").read_text() == "a=1\n" and mode_of(etc / "app.conf") == 0o644
    second = copy(make_task(), dest="/etc/app.conf", content="a=1\n")
    assert not second.changed and second.msg == "/etc/app.conf is up to date"
    assert "backup" not in second.data


def test_copy_of_a_new_file_asks_the_host_once_then_writes(make_task: MakeTask,
                                                         etc: Path) -> None:
    task = make_task()
    commands: list[str] = []
    real = task.run

    def counting(command: str, **kwargs: object) -> object:
        commands.append(command)
        return real(command, **kwargs)  # type: ignore[arg-type]

    task.run = counting  # type: ignore[method-assign,assignment]
    assert copy(task, dest="/etc/new.conf", content="x=1\n", mode="0600").changed
    assert len(commands) == 1 and mode_of(etc / "new.conf") == 0o600
    with pytest.raises(TaskFailed, match="directory /etc/nowhere does not exist"):
        copy(task, dest="/etc/nowhere/new.conf", content="x=1\n")
    assert len(commands) == 2


@root_only
def test_copy_backs_up_and_keeps_mode_and_owner(make_task: MakeTask, etc: Path) -> None:
    target = etc / "app.conf"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    os.chown(target, 1234, 4321)
    res = copy(make_task(), dest="/etc/app.conf", content="new\n")
    assert res.changed and res.msg == "changed /etc/app.conf: replace content"
    assert re.fullmatch(r"/etc/app\.conf\.\d{14}\.bak", res.data["backup"])
    backup = etc.parent / res.data["backup"].lstrip("/")
    assert backup.read_text() == "old\n" and mode_of(backup) == 0o600
    assert target.read_text() == "new\n" and mode_of(target) == 0o600
    assert (target.stat().st_uid, target.stat().st_gid) == (1234, 4321)


def test_two_backups_in_one_second_keep_both_contents(make_task: MakeTask, etc: Path) -> None:
    (etc / "a").write_text("v1")
    b1 = copy(make_task(), dest="/etc/a", content="v2").data["backup"]
    b2 = copy(make_task(), dest="/etc/a", content="v3").data["backup"]
    assert b1 != b2
    root = etc.parent
    assert {(root / b1[1:]).read_text(), (root / b2[1:]).read_text()} == {"v1", "v2"}


def test_copy_without_backup_writes_none(make_task: MakeTask, etc: Path) -> None:
    (etc / "a").write_text("old")
    res = copy(make_task(), dest="/etc/a", content="new", backup=False)
    assert res.changed and "backup" not in res.data
    assert sorted(p.name for p in etc.iterdir()) == ["a"]


def test_copy_fixes_only_the_mode_without_backup(make_task: MakeTask, etc: Path) -> None:
    (etc / "a").write_text("same")
    os.chmod(etc / "a", 0o644)
    res = copy(make_task(), dest="/etc/a", content="same", mode="0640")
    assert res.msg == "changed /etc/a: mode 0644 -> 0640" and "backup" not in res.data
    assert mode_of(etc / "a") == 0o640
    assert not copy(make_task(), dest="/etc/a", content="same", mode="0640").changed


@root_only
def test_copy_sets_owner_and_group_when_given(make_task: MakeTask, etc: Path) -> None:
    res = copy(make_task(), dest="/etc/a", content="x", owner="1234", group="4321", mode="0600")
    assert res.msg == "changed /etc/a: create file, mode 0600, owner 1234, group 4321"
    st = (etc / "a").stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 4321, 0o600)
    again = copy(make_task(), dest="/etc/a", content="x", owner="1234", group="4321",
                 mode="0600")
    assert not again.changed


def test_copy_check_mode_changes_nothing(make_task: MakeTask, etc: Path) -> None:
    (etc / "a").write_text("old")
    before = tree_state(etc.parent)
    res = copy(make_task(check=True), dest="/etc/a", content="new", mode="0600")
    assert res.changed and res.msg == "would change /etc/a: replace content, mode 0644 -> 0600"
    new = copy(make_task(check=True), dest="/etc/b", content="new")
    assert new.msg == "would change /etc/b: create file"
    assert tree_state(etc.parent) == before


def test_copy_src_is_read_on_the_control_node(make_task: MakeTask, etc: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    control = tmp_path / "control"
    control.mkdir()
    (control / "engine.conf").write_bytes(b"\x00binary\xff")
    monkeypatch.chdir(control)
    assert copy(make_task(), dest="/etc/engine.conf", src="engine.conf").changed
    assert (etc / "engine.conf").read_bytes() == b"\x00binary\xff"
    with pytest.raises(TaskFailed, match=r"cannot read missing.conf on the control node"):
        copy(make_task(), dest="/etc/x", src="missing.conf")


@pytest.mark.parametrize("kwargs", [{}, {"src": "a", "content": "b"}])
def test_copy_needs_exactly_one_source(make_task: MakeTask, kwargs: dict[str, str]) -> None:
    with pytest.raises(TaskFailed, match=r"give exactly one of src"):
        copy(make_task(), dest="/etc/a", **kwargs)  # type: ignore[arg-type]


def test_copy_rejects_bad_input_before_changing(make_task: MakeTask, etc: Path) -> None:
    with pytest.raises(TaskFailed, match=r"directory /nope does not exist"):
        copy(make_task(), dest="/nope/a", content="x")
    with pytest.raises(TaskFailed, match=r"dest /etc is a directory, not a regular file"):
        copy(make_task(), dest="/etc", content="x")
    with pytest.raises(TaskFailed, match=r"^dest must be an absolute path, got 'etc/a'$"):
        copy(make_task(), dest="etc/a", content="x")
    with pytest.raises(TaskFailed, match=r"mode must be a quoted four-digit octal .* got '416'"):
        copy(make_task(), dest="/etc/a", content="x", mode="416")
    assert list(etc.iterdir()) == []


def test_copy_quotes_odd_paths(make_task: MakeTask, etc: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "it's a \"file\" $(touch pwned) `touch pwned`; touch pwned"
    (etc / name).write_text("old")
    res = copy(make_task(), dest=f"/etc/{name}", content="new", mode="0600")
    assert res.changed and (etc / name).read_text() == "new"
    assert copy(make_task(), dest=f"/etc/{name}", content="new").msg.endswith("is up to date")
    assert not (tmp_path / "pwned").exists()


# template -------------------------------------------------------------------------------

def test_template_renders_host_vars(make_task: MakeTask, etc: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "proxy.conf.j2").write_text("PROXY_PORT={{ port }}\n{% if tls %}SSL=1\n{% endif %}")
    monkeypatch.chdir(tmp_path)
    task_vars = {"port": 6100, "tls": True}
    res = template(make_task(vars=task_vars), dest="/etc/proxy.conf", src="proxy.conf.j2")
    assert res.changed and (etc / "proxy.conf").read_text() == "PROXY_PORT=6100\nSSL=1\n"
    again = template(make_task(vars=task_vars), dest="/etc/proxy.conf", src="proxy.conf.j2")
    assert not again.changed


def test_template_undefined_variable_fails(make_task: MakeTask, etc: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.j2").write_text("X={{ missing }}\n")
    monkeypatch.chdir(tmp_path)
    res = template(make_task(), dest="/etc/t", src="t.j2")
    assert res.failed and res.msg == "template t.j2: undefined variable: 'missing' is undefined"
    assert not (etc / "t").exists()


# file -----------------------------------------------------------------------------------

def test_directory_is_created_with_parents_then_ok(make_task: MakeTask, tmp_path: Path) -> None:
    res = file(make_task(), path="/var/lib/app/backups", state="directory", mode="0750")
    assert res.msg == "changed /var/lib/app/backups: create directory, mode 0750"
    assert mode_of(tmp_path / "var/lib/app/backups") == 0o750
    again = file(make_task(), path="/var/lib/app/backups", state="directory", mode="0750")
    assert not again.changed


def test_check_mode_creates_nothing(make_task: MakeTask, tmp_path: Path) -> None:
    (tmp_path / "gone").mkdir()
    before = tree_state(tmp_path)
    for kwargs in ({"path": "/d", "state": "directory"}, {"path": "/gone", "state": "absent"},
                   {"path": "/l", "state": "link", "src": "/x"}, {"path": "/t", "state": "touch"},
                   {"path": "/gone", "state": "directory", "mode": "0700"}):
        assert file(make_task(check=True), **kwargs).changed  # type: ignore[arg-type]
    assert tree_state(tmp_path) == before


@root_only
def test_state_file_fixes_attributes_only(make_task: MakeTask, etc: Path) -> None:
    target = etc / "a"
    target.write_text("keep")
    os.chmod(target, 0o644)
    os.chown(target, 1234, 1234)
    res = file(make_task(), path="/etc/a", mode="0600")
    assert res.msg == "changed /etc/a: mode 0644 -> 0600"
    assert (target.read_text(), target.stat().st_uid, mode_of(target)) == ("keep", 1234, 0o600)
    res = file(make_task(), path="/etc/a", group="4321")
    assert res.msg == "changed /etc/a: group 1234 -> 4321"  # no name for gid 1234
    assert (target.stat().st_uid, target.stat().st_gid) == (1234, 4321)


def test_state_file_fails_when_missing(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match=r"^/etc/missing does not exist"):
        file(make_task(), path="/etc/missing")


def test_absent_removes_a_tree_then_ok(make_task: MakeTask, tmp_path: Path) -> None:
    (tmp_path / "old/sub").mkdir(parents=True)
    (tmp_path / "old/sub/f").write_text("x")
    assert file(make_task(), path="/old", state="absent").msg == "removed /old"
    assert not (tmp_path / "old").exists() and tmp_path.exists()
    assert file(make_task(), path="/old", state="absent").msg == "/old is already absent"
    with pytest.raises(TaskFailed, match=r"refusing to remove /"):
        file(make_task(), path="/", state="absent")


def test_link_created_replaced_and_kept(make_task: MakeTask, tmp_path: Path) -> None:
    res = file(make_task(), path="/current", state="link", src="/opt/v1")
    assert res.msg == "changed /current: create link -> /opt/v1"
    assert os.readlink(tmp_path / "current") == "/opt/v1"
    assert not file(make_task(), path="/current", state="link", src="/opt/v1").changed
    res = file(make_task(), path="/current", state="link", src="/opt/v2")
    assert res.msg == "changed /current: link /opt/v1 -> /opt/v2"
    assert os.readlink(tmp_path / "current") == "/opt/v2"


def test_link_never_replaces_a_real_file(make_task: MakeTask, etc: Path) -> None:
    (etc / "a").write_text("data")
    with pytest.raises(TaskFailed, match=r"^/etc/a is a file, not a link$"):
        file(make_task(), path="/etc/a", state="link", src="/x")
    assert (etc / "a").read_text() == "data"


def test_touch_creates_once_and_keeps_content(make_task: MakeTask, etc: Path) -> None:
    assert file(make_task(), path="/etc/t", state="touch", mode="0600").changed
    assert (etc / "t").read_bytes() == b"" and mode_of(etc / "t") == 0o600
    (etc / "t").write_text("later")
    mtime = (etc / "t").stat().st_mtime_ns
    assert not file(make_task(), path="/etc/t", state="touch").changed
    assert (etc / "t").read_text() == "later" and (etc / "t").stat().st_mtime_ns == mtime


@root_only
def test_recurse_sets_owner_on_the_tree(make_task: MakeTask, tmp_path: Path) -> None:
    tree = tmp_path / "data"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub/f").write_text("x")
    os.chmod(tree / "sub/f", 0o600)
    res = file(make_task(), path="/data", state="directory", owner="1234", recurse=True)
    assert res.changed
    assert {p.stat().st_uid for p in [tree, *tree.rglob("*")]} == {1234}
    assert mode_of(tree / "sub/f") == 0o600
    os.chown(tree / "sub/f", 0, 0)
    res = file(make_task(), path="/data", state="directory", owner="1234", recurse=True)
    assert res.msg == "changed /data: owner/group of 1 entries below"
    assert not file(make_task(), path="/data", state="directory", owner="1234",
                    recurse=True).changed


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"state": "link"}, "src (the link target) is required with state=link"),
    ({"state": "file", "src": "/x"}, "src (the link target) is required"),
    ({"state": "file", "recurse": True}, "recurse applies to state=directory only"),
    ({"state": "link", "src": "/x", "mode": "0644"}, "mode does not apply to symbolic links"),
    ({"state": "absent", "mode": "0644"}, "mode, owner and group do not apply to state=absent"),
])
def test_file_rejects_contradictions(make_task: MakeTask, kwargs: dict[str, object],
                                     message: str) -> None:
    with pytest.raises(TaskFailed, match=re.escape(message)):
        file(make_task(), path="/p", **kwargs)  # type: ignore[arg-type]


def test_registered_names() -> None:
    registry = Registry()
    files.opsrunner_register_tasks(registry)
    assert sorted(registry.tasks) == ["copy", "file", "template"]
    assert registry.task("file").params["state"].default == "file"
