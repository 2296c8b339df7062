"""Run a workflow's ``verify:`` check files (pytest + testinfra) against its hosts.

Host keys are checked exactly as the SSH connection checks them: testinfra's ``ssh``
backend runs OpenSSH with a generated ssh_config that sets ``StrictHostKeyChecking yes``
and the host's known_hosts file (testinfra's paramiko backend never checks host keys, so
it is not used). One pytest process runs per group of hosts sharing connection kind and
sudo; results come back through JUnit XML and are mapped to hosts by test id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsrunner.host import Host
from opsrunner.report import CheckRecord
from opsrunner.secrets import Redactor
from opsrunner.verify.junit_read import read_cases
from opsrunner.verify.pytest_plugin import EVIDENCE_PREFIX, LOCAL_HOST_ENV, PARAMS_ENV, VARS_ENV

if TYPE_CHECKING:
    from opsrunner.hoststate import HostState


def run_checks(files: Sequence[Path | str], hosts: Sequence[Host], *,
               host_vars: Mapping[str, Mapping[str, Any]] | None = None,
               redactor: Redactor | None = None,
               params: Mapping[str, Mapping[str, Any]] | None = None,
               ) -> dict[str, list[CheckRecord]]:
    """Run ``files`` on ``hosts``; return each host's check records (never raises for failures).

    ``files`` are check files or pytest node ids (``path/file.py::test_name``), all in one
    folder. ``host_vars`` maps a host name to what its checks see as ``hostvars`` (the runner
    passes each host's template context: inventory data, workflow vars, ``-e`` vars, registered
    results); a host without an entry gets its inventory data. ``params`` maps a node id
    (``/abs/file.py::test_name``) to what that test sees as ``params`` (a compliance
    control's thresholds). Each record's ``evidence`` is what
    its check recorded (see :mod:`opsrunner.verify.pytest_plugin`), with secrets masked.
    """
    redactor = redactor or Redactor(())
    results: dict[str, list[CheckRecord]] = {h.name: [] for h in hosts}
    workdir = Path(tempfile.mkdtemp(prefix="opsrunner-verify-"))
    try:
        vars_file = workdir / "vars.json"
        seen = host_vars or {}
        _write_private(vars_file, json.dumps(
            {h.name: {**(seen.get(h.name) or h.data), "inventory_hostname": h.name,
                      "sysroot": h.sysroot} for h in hosts}, default=str))
        params_file = workdir / "params.json"
        _write_private(params_file, json.dumps({k: dict(v) for k, v in (params or {}).items()},
                                              default=str))
        for group in _groups(hosts, results):
            _run_group(files, group, workdir, vars_file, params_file, results, redactor)
    finally:
        _close_masters(workdir, hosts)
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def checks_context(hs: HostState, inventory: Mapping[str, Host] | None = None) -> dict[str, Any]:
    """What a host's checks see as ``hostvars``: its template context (rendered workflow vars
    included), or its inventory data if the workflow vars cannot be rendered.

    With ``inventory``, a host without ``engine_url`` gets the ``engine_*`` settings its engine
    tasks would use (its ``engine_host`` or the inventory's one engine, with the run's
    ``-e engine_*`` extra vars over them), so checks of any host can read the engine API.
    """
    from opsrunner.engine.settings import URL_VAR, settings_for
    from opsrunner.errors import UsageError

    try:
        context = hs.context()
    except UsageError:
        context = dict(hs.host.data)
    if inventory is not None and URL_VAR not in context:
        try:
            found = settings_for(hs.host, context, inventory, hs.extra_vars)
        except UsageError:
            return context
        context.update({"engine_url": found.url, "engine_user": found.user,
                        "engine_password": found.password, "engine_ca_file": found.ca_file or "",
                        "engine_insecure": found.insecure})
    return context


def _groups(hosts: Sequence[Host], results: dict[str, list[CheckRecord]]) -> list[list[Host]]:
    groups: dict[tuple[str, bool], list[Host]] = {}
    out: list[list[Host]] = []
    for h in hosts:
        if h.connection == "local":
            out.append([h])
        elif h.connection != "ssh" or not h.ssh_key:
            results[h.name].append(CheckRecord(
                "verify", "", "error",
                f"verification needs an ssh connection with key authentication "
                f"(host {h.name}: connection {h.connection!r}, ssh_key {'set' if h.ssh_key else 'unset'})"))
        else:
            groups.setdefault(("ssh", h.sudo), []).append(h)
    return out + list(groups.values())


def ssh_config(hosts: Sequence[Host], control_dir: Path) -> str:
    """An ssh_config that pins each host's address, key and known_hosts, strictly checked."""
    lines: list[str] = []
    for h in hosts:
        known = h.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        lines += [f"Host {h.name}", f"  HostName {h.hostname}", f"  Port {h.port}",
                  f'  IdentityFile "{h.ssh_key}"', "  IdentitiesOnly yes",
                  f'  UserKnownHostsFile "{known}"', "  GlobalKnownHostsFile /dev/null",
                  "  StrictHostKeyChecking yes", "  BatchMode yes",
                  "  PasswordAuthentication no", f'  ControlPath "{control_dir}/%C"',
                  "  LogLevel ERROR"]
        if h.username:
            lines.append(f"  User {h.username}")
    return "\n".join(lines) + "\n"


def _run_group(files: Sequence[Path | str], group: list[Host], workdir: Path, vars_file: Path,
               params_file: Path, results: dict[str, list[CheckRecord]],
               redactor: Redactor) -> None:
    first = group[0]
    tag = f"{first.connection}-{first.name}"
    junit = workdir / f"{tag}.xml"
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    env = {**os.environ, VARS_ENV: str(vars_file), PARAMS_ENV: str(params_file)}
    rootdir = Path(str(files[0]).partition("::")[0]).parent
    args = [sys.executable, "-m", "pytest", "-p", "opsrunner.verify.pytest_plugin",
            "-p", "no:cacheprovider", "-c", str(ini), "--rootdir", str(rootdir),
            f"--junitxml={junit}", "-q", "--no-header", "-rN"]
    if first.connection == "local":
        env[LOCAL_HOST_ENV] = first.name
        args.append("--hosts=local://")
    else:
        config = workdir / "ssh_config"
        config.write_text(ssh_config(group, workdir), encoding="utf-8")
        args += [f"--ssh-config={config}", "--hosts=" + ",".join(f"ssh://{h.name}" for h in group)]
        if first.sudo:
            args.append("--sudo")
    args += [str(f) for f in files]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    names = [h.name for h in group]
    if not junit.exists():
        tail = redactor.text((proc.stdout + proc.stderr).strip()[-2000:])
        for name in names:
            results[name].append(CheckRecord("verify", "", "error",
                                             f"pytest exited {proc.returncode}: {tail}"))
        return
    for case in read_cases(junit):
        found = {name.removeprefix(EVIDENCE_PREFIX): redactor.text(value)
                 for name, value in case.properties if name.startswith(EVIDENCE_PREFIX)}
        record = CheckRecord(case.name, case.file, case.status, redactor.text(case.message),
                             case.time, found)
        for name in _owners(case.name, names, first.connection == "local"):
            results[name].append(record)


def _owners(test_id: str, names: list[str], local: bool) -> list[str]:
    """Hosts a test case belongs to: the one in its ``[ssh://NAME...]`` id, else all."""
    if local:
        return names
    marker = test_id.find("[ssh://")
    if marker < 0:
        return names
    rest = test_id[marker + len("[ssh://"):]
    matching = [n for n in names if rest.startswith(n) and rest[len(n):len(n) + 1] in ("]", "-")]
    return [max(matching, key=len)] if matching else names


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _close_masters(workdir: Path, hosts: Sequence[Host]) -> None:
    """Stop the OpenSSH control masters testinfra left running (ControlPersist)."""
    config = workdir / "ssh_config"
    if not config.exists():
        return
    for h in hosts:
        if h.connection == "ssh":
            subprocess.run(["ssh", "-F", str(config), "-O", "exit", h.name],
                           capture_output=True, check=False, timeout=10)
