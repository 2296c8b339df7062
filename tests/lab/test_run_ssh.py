"""Workflows end to end through real sshd hosts: strategies, failures, host keys, secrets, checks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from sshd_lab import SshdLab


def inventory(lab: SshdLab, folder: Path, **defaults: Any) -> Path:
    """node1..N with a sysroot each under folder/roots."""
    folder.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for index, server in enumerate(lab.hosts):
        root = folder / "roots" / f"node{index + 1}"
        (root / "etc").mkdir(parents=True, exist_ok=True)
        hosts[f"node{index + 1}"] = {"hostname": server.address, "port": server.port,
                                     "groups": ["odd" if index % 2 == 0 else "even"],
                                     "data": {"sysroot": str(root)}}
    inv = folder / "inventory"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (inv / "groups.yaml").write_text(yaml.safe_dump({"odd": {}, "even": {}}))
    (inv / "defaults.yaml").write_text(yaml.safe_dump(
        {"username": "root", "ssh_key": str(lab.key), "known_hosts": str(lab.known_hosts),
         **defaults}))
    return inv


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None
        ) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", *args, "--output",
                           "json", "--state-dir", str(tmp_path / "state")],
                          capture_output=True, text=True, env=env, timeout=300)
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, doc, proc.stderr


def statuses(doc: dict[str, Any], host: str) -> list[str]:
    return [s["status"] for s in doc["hosts"][host]["steps"]]


def test_parallel_over_three_sshd_hosts_with_forks_3(sshd_hosts, tmp_path):
    inv = inventory(sshd_hosts, tmp_path)
    wf = write(tmp_path / "wf.yml", """
        name: three hosts
        steps:
          - name: facts
            task: command
            with: {cmd: "hostname; id -un", read_only: true}
            register: facts
          - name: managed file
            task: copy
            with: {dest: /etc/managed.conf, content: "owner={{ facts.stdout_lines[1] }}\\n", mode: "0600"}
    """)
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv), "--forks", "3")
    assert code == 0, err
    for name in ("node1", "node2", "node3"):
        assert statuses(doc, name) == ["ok", "changed"]
        target = tmp_path / "roots" / name / "etc" / "managed.conf"
        assert target.read_text() == "owner=root\n"
        assert target.stat().st_mode & 0o777 == 0o600
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv), "--forks", "3")
    assert code == 0 and statuses(doc, "node2") == ["ok", "ok"]


def test_limit_and_check_mode_change_nothing(sshd_hosts, tmp_path):
    inv = inventory(sshd_hosts, tmp_path)
    wf = write(tmp_path / "wf.yml", """
        name: check
        steps:
          - {name: write, task: copy, with: {dest: /etc/x.conf, content: "x\\n"}}
    """)
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv), "--check", "--limit", "odd")
    assert code == 0, err
    assert sorted(doc["hosts"]) == ["node1", "node3"]
    assert statuses(doc, "node1") == ["changed"]
    assert not list((tmp_path / "roots").rglob("x.conf"))


def test_rolling_failure_always_steps_and_exit_2(sshd_hosts, tmp_path):
    inv = inventory(sshd_hosts, tmp_path)
    wf = write(tmp_path / "wf.yml", f"""
        name: rolling
        strategy: rolling
        batch: 1
        max_fail_percentage: 0
        steps:
          - name: stop service
            task: command
            with: {{cmd: "touch {tmp_path}/stopped-{{{{ host.name }}}}"}}
          - {{name: break on node2, task: command, with: {{cmd: "test {{{{ host.name }}}} != node2"}}}}
        always:
          - name: start service again
            task: command
            with: {{cmd: "touch {tmp_path}/started-{{{{ host.name }}}}"}}
    """)
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv))
    assert code == 2, err
    assert [doc["hosts"][n]["status"] for n in ("node1", "node2", "node3")] == \
        ["ok", "failed", "skipped"]
    assert (tmp_path / "started-node2").exists()  # the always-step ran after the failure
    assert not (tmp_path / "stopped-node3").exists()


def test_retries_and_timeout_over_ssh(sshd_hosts, tmp_path):
    inv = inventory(sshd_hosts, tmp_path)
    counter = tmp_path / "count"
    wf = write(tmp_path / "wf.yml", f"""
        name: retry and timeout
        hosts: node1
        steps:
          - name: flaky
            task: command
            with: {{cmd: "echo x >> {counter}; test $(wc -l < {counter}) -ge 2"}}
            retries: 3
            delay: 0.1
          - {{name: hangs, task: command, with: {{cmd: "sleep 60"}}, timeout: 2}}
    """)
    started = time.monotonic()
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv))
    assert time.monotonic() - started < 40
    assert code == 2, err
    assert statuses(doc, "node1") == ["changed", "failed"]
    assert "timed out" in doc["hosts"]["node1"]["steps"][1]["msg"]
    assert counter.read_text().count("x") == 2


def test_changed_host_key_is_refused(throwaway_sshd, tmp_path):
    inv = inventory(throwaway_sshd, tmp_path)
    throwaway_sshd.hosts[0].rotate_host_keys()
    wf = write(tmp_path / "wf.yml", """
        name: key
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    for extra in ([], ["--accept-new-host-keys"]):
        code, doc, err = run(tmp_path, str(wf), "-i", str(inv), *extra)
        assert code == 2, err
        msg = doc["hosts"]["node1"]["steps"][0]["msg"]
        assert "host key" in msg and "changed" in msg.lower()


def test_unknown_host_key_needs_accept_new(throwaway_sshd, tmp_path):
    inv = inventory(throwaway_sshd, tmp_path)
    throwaway_sshd.known_hosts.write_text("")
    wf = write(tmp_path / "wf.yml", """
        name: key
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv))
    assert code == 2
    assert "not known" in doc["hosts"]["node1"]["steps"][0]["msg"]
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv), "--accept-new-host-keys")
    assert code == 0, err
    assert throwaway_sshd.hosts[0].address in throwaway_sshd.known_hosts.read_text()


def test_secrets_absent_from_journal_output_and_process_list(sshd_hosts, tmp_path):
    secret_file = tmp_path / "db.secret"
    secret_file.write_text("Pa55-very-secret-xyz\n")
    secret_file.chmod(0o600)
    inv = inventory(sshd_hosts, tmp_path)
    (inv / "groups.yaml").write_text(yaml.safe_dump(
        {"odd": {"data": {"db_password": {"secret_file": str(secret_file)}}}, "even": {}}))
    wf = write(tmp_path / "wf.yml", """
        name: secret
        hosts: node1
        steps:
          - name: use the secret
            task: command
            with:
              cmd: 'sleep 2; echo "len=$(printf %s "$DB_PASSWORD" | wc -c) value=$DB_PASSWORD"'
              env: {DB_PASSWORD: "{{ db_password }}"}
    """)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                       text=True).stdout)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, doc, err = run(tmp_path, str(wf), "-i", str(inv))
    finally:
        done.set()
        watcher.join()
    assert code == 0, err
    out = doc["hosts"]["node1"]["steps"][0]["stdout"]
    assert "len=20 value=********" in out
    assert any("sleep 2" in snapshot for snapshot in seen)  # we did look while it ran
    assert not any("Pa55-very-secret-xyz" in snapshot for snapshot in seen)
    journal = next((tmp_path / "state" / "runs").glob("*.jsonl")).read_text()
    assert "Pa55-very-secret-xyz" not in journal and "Pa55-very-secret-xyz" not in err


def test_verify_checks_pass_and_fail_through_strict_ssh(sshd_hosts, tmp_path):
    inv = inventory(sshd_hosts, tmp_path)
    write(tmp_path / "checks" / "conf.py", """
        def test_conf_written(host, host_path, hostvars):
            f = host.file(host_path("/etc/app.conf"))
            assert f.is_file and f.content_string == "level=" + hostvars["level"] + "\\n"

        def test_only_node1_is_special(host, hostvars):
            assert hostvars["inventory_hostname"] != "node2"

        def test_checks_see_registered_results(hostvars):
            # after `opsrunner run`; `opsrunner verify` alone has no registered results
            if "conf" in hostvars:
                assert hostvars["conf"]["changed"] is True
    """)
    wf = write(tmp_path / "wf.yml", """
        name: verified
        vars: {level: "3"}
        steps:
          - {name: conf, task: copy, with: {dest: /etc/app.conf, content: "level={{ level }}\\n"},
             register: conf}
        verify: [checks/conf.py]
    """)
    code, doc, err = run(tmp_path, str(wf), "-i", str(inv))  # checks see the workflow vars
    assert code == 2, err
    assert doc["hosts"]["node1"]["status"] == "ok"
    assert doc["hosts"]["node2"]["status"] == "failed"
    checks = {c["name"]: c["status"] for c in doc["hosts"]["node2"]["verify"]}
    assert checks == {"test_conf_written[ssh://node2]": "passed",
                      "test_only_node1_is_special[ssh://node2]": "failed",
                      "test_checks_see_registered_results[ssh://node2]": "passed"}
    # `opsrunner verify` alone, and host keys are enforced for the checks too
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "verify", str(wf), "-i",
                           str(inv), "--limit", "node1", "--output", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    defaults = yaml.safe_load((inv / "defaults.yaml").read_text())
    (inv / "defaults.yaml").write_text(yaml.safe_dump({**defaults, "known_hosts": str(empty)}))
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "verify", str(wf), "-i",
                           str(inv), "--limit", "node1", "--output", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    checks = {c["name"]: c for c in json.loads(proc.stdout)["hosts"]["node1"]["verify"]}
    conf = checks["test_conf_written[ssh://node1]"]
    assert conf["status"] in ("failed", "error")
    assert "Host key verification failed" in conf["message"]
