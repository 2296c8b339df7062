"""Tasks that manage files on a host: ``copy``, ``template`` and ``file``.

Absolute paths are mapped into the host's sysroot. Content is compared by sha256 before
anything is written; an overwritten file is backed up first. Mode and owner change only
when asked for.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path
from typing import Literal

from opsrunner import Registry, Result, Task, TemplateError, hookimpl, render_text
from opsrunner_plugins import _remote


def copy(task: Task, *, dest: str, src: str | None = None, content: str | None = None,
         mode: str | int | None = None, owner: str | None = None, group: str | None = None,
         backup: bool = True) -> Result:
    """Put a file from the control node (or given content) on the host.

    :param dest: absolute path of the file on the host (not a directory).
    :param src: file on the control node, relative to the current directory.
    :param content: the file's text instead of ``src`` (give exactly one of them).
    :param mode: quoted four-digit octal string like "0640"; unset keeps an existing
        file's mode (new: 0644).
    :param owner: user name or uid; unset keeps the owner.
    :param group: group name or gid; unset keeps the group.
    :param backup: copy an overwritten file to ``<dest>.<YYYYmmddHHMMSS>.bak`` first;
        its path (in the frame of dest) is returned as data["backup"].
    """
    if (src is None) == (content is None):
        task.fail("give exactly one of src (a file on the control node) or content")
    data = content.encode() if content is not None else _read_control_file(task, src or "")
    return ensure_content(task, dest, data, mode=mode, owner=owner, group=group, backup=backup)


def template(task: Task, *, dest: str, src: str, mode: str | int | None = None,
             owner: str | None = None, group: str | None = None, backup: bool = True) -> Result:
    """Render a Jinja2 template from the control node with the host's variables onto the host.

    :param dest: absolute path of the rendered file on the host.
    :param src: the template on the control node, relative to the current directory;
        rendered sandboxed with StrictUndefined (an undefined variable fails the task).
    :param mode: quoted four-digit octal string like "0640"; unset keeps an existing
        file's mode (new: 0644).
    :param owner: user name or uid; unset keeps the owner.
    :param group: group name or gid; unset keeps the group.
    :param backup: copy an overwritten file to ``<dest>.<YYYYmmddHHMMSS>.bak`` first.
    """
    source = _read_control_file(task, src)
    try:
        text = render_text(source.decode(), task.vars)
    except UnicodeDecodeError as exc:
        return Result(failed=True, msg=f"template {src} is not UTF-8 text: {exc}")
    except TemplateError as exc:
        return Result(failed=True, msg=f"template {src}: {exc}")
    return ensure_content(task, dest, text.encode(), mode=mode, owner=owner, group=group,
                          backup=backup)


def ensure_content(task: Task, dest: str, data: bytes, *, mode: str | int | None,
                   owner: str | None, group: str | None, backup: bool) -> Result:
    """Make the file at ``dest`` hold ``data`` with the given attributes (copy, template)."""
    _remote.require_absolute("dest", dest)
    attrs = _remote.Attrs(_remote.parse_mode(mode), owner, group)
    path = task.path(dest)
    facts, folder_exists = _remote.probe(task, path)
    if facts is not None and facts.kind != "file":
        task.fail(f"dest {dest} is a {facts.kind}, not a regular file; give the file's full path")
    if facts is None and not folder_exists:
        task.fail(f"cannot create {dest}: directory {_parent(dest)} does not exist")
    new_content = facts is None or facts.sha256 != hashlib.sha256(data).hexdigest()
    changes = ["create file"] if facts is None else ["replace content"] if new_content else []
    changes += attrs.differences(facts)
    result = Result(changed=bool(changes), msg=_remote.change_message(dest, changes, task.check))
    if task.check or not changes:
        return result
    if new_content:
        if facts is not None and backup:
            result.data["backup"] = _remote.shown_path(task, _remote.backup(task, path), dest)
        try:
            task.put(data, path, mode=attrs.mode)
        except OSError as exc:
            task.fail(f"cannot write {dest}: {exc}")
        if facts is None and attrs.owner is None and attrs.group is None:
            return result  # a new file: put gave it the mode (given, else 0644); nothing else
        facts = _remote.file_facts(task, path)
    attrs.apply(task, path, facts)
    return result


def file(task: Task, *, path: str,
         state: Literal["file", "directory", "absent", "link", "touch"] = "file",
         mode: str | int | None = None, owner: str | None = None, group: str | None = None,
         src: str | None = None, recurse: bool = False) -> Result:
    """Ensure a path is a file, directory or link, or is absent; set its mode and owner.

    :param path: absolute path on the host.
    :param state: file: must exist (fails if missing), attributes are fixed;
        directory: created with parents if missing; absent: removed (recursively);
        link: a symbolic link to ``src`` (a different link is replaced, anything else fails);
        touch: an empty file is created if missing (an existing file is left as it is).
    :param mode: quoted four-digit octal string like "0750"; not for links.
    :param owner: user name or uid.
    :param group: group name or gid.
    :param src: the link target for state=link, written as given (not mapped).
    :param recurse: directory only: set owner and group on everything below it too
        (mode applies to the directory itself only).
    """
    _remote.require_absolute("path", path)
    if (src is not None) != (state == "link"):
        task.fail("src (the link target) is required with state=link and only allowed there")
    if recurse and state != "directory":
        task.fail("recurse applies to state=directory only")
    if state == "link" and mode is not None:
        task.fail("mode does not apply to symbolic links")
    if state == "absent" and (mode or owner or group):
        task.fail("mode, owner and group do not apply to state=absent")
    attrs = _remote.Attrs(_remote.parse_mode(mode), owner, group)
    host_path = task.path(path)
    facts = _remote.file_facts(task, host_path)
    if state == "absent":
        return _absent(task, path, host_path, facts is not None)
    wanted = "file" if state == "touch" else state
    if facts is not None and facts.kind != wanted:
        task.fail(f"{path} is a {facts.kind}, not a {wanted}")
    changes: list[str] = []
    if facts is None:
        if state == "file":
            task.fail(f"{path} does not exist (state=file only checks an existing file; "
                      "use state=touch, copy or template to create one)")
        if state != "directory" and not _remote.exists(task, _parent(host_path), directory=True):
            task.fail(f"cannot create {path}: directory {_parent(path)} does not exist")
        changes.append(f"create {wanted}" + (f" -> {src}" if src else ""))
    elif state == "link" and facts.target != src:
        changes.append(f"link {facts.target} -> {src}")
    changes += attrs.differences(facts)
    if recurse and (owner or group) and facts is not None:
        count = _remote.tree_mismatches(task, host_path, owner, group)
        if count and not any(c.startswith(("owner", "group")) for c in changes):
            changes.append(f"owner/group of {count} entries below")
    result = Result(changed=bool(changes), msg=_remote.change_message(path, changes, task.check))
    if task.check or not changes:
        return result
    _create(task, host_path, state, facts, attrs, src)
    if recurse and (owner or group):
        _remote.chown_tree(task, host_path, owner, group)
    return result


def _create(task: Task, host_path: str, state: str, facts: _remote.FileFacts | None,
            attrs: _remote.Attrs, src: str | None) -> None:
    quoted = shlex.quote(host_path)
    if state == "directory" and facts is None:
        task.run(f"mkdir -p -- {quoted}", check_rc=True)
    elif state == "touch" and facts is None:
        task.put(b"", host_path, mode=attrs.mode)
    elif state == "link" and (facts is None or facts.target != src):
        task.run(f"ln -sfn -- {shlex.quote(src or '')} {quoted}", check_rc=True)
    attrs.apply(task, host_path, _remote.file_facts(task, host_path))


def _absent(task: Task, path: str, host_path: str, present: bool) -> Result:
    if path.rstrip("/") == "":
        task.fail("refusing to remove /")
    if not present:
        return Result(msg=f"{path} is already absent")
    if not task.check:
        task.run(f"rm -rf -- {shlex.quote(host_path)}", check_rc=True)
    return Result(changed=True, msg=f"{'would remove' if task.check else 'removed'} {path}")


def _read_control_file(task: Task, src: str) -> bytes:
    try:
        return Path(src).read_bytes()
    except OSError as exc:
        task.fail(f"cannot read {src} on the control node: {exc.strerror or exc}")


def _parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] or "/"


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(copy, name="copy", idempotent=True)
    registry.add_task(template, name="template", idempotent=True)
    registry.add_task(file, name="file", idempotent=True)
