"""inventory/: the example estate, as a SimpleInventory folder and as an Ansible YAML file,
validates the OLVM workflows and resolves to the same hosts and variables."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "inventory" / "example"
ANSIBLE = ROOT / "inventory" / "example-ansible.yml"
FORMS = {"folder": FOLDER, "ansible": ANSIBLE}
SECRET_ENV = "OLVM_ADMIN_PASSWORD"
# workflow -> the -e variables it needs (files on the control node, the archive to restore)
WORKFLOWS = {
    "maintenance.yml": [], "vacuum.yml": [], "backup.yml": [], "hsts.yml": [],
    "qemu-ga-iso.yml": [], "seal-template.yml": [], "unseal-template.yml": [],
    "restore.yml": ["backup_file=/var/lib/ovirt-engine-backup/engine.backup"],
    "cert-replace.yml": ["ca_chain=ca-chain.pem", "cert=apache.cer", "key=apache.key"],
}
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-a-real-password")


def _resolved(cli: Cli, inventory: Path, limit: str = "all") -> dict[str, dict[str, object]]:
    code, out, err = cli("inventory", "-i", str(inventory), "--limit", limit, "--output", "json")
    assert code == 0, err
    resolved: dict[str, dict[str, object]] = json.loads(out)
    return resolved


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
def test_the_example_validates_the_workflows(cli: Cli, form: str, workflow: str) -> None:
    extra = [arg for var in WORKFLOWS[workflow] for arg in ("-e", var)]
    code, out, err = cli("validate", "-i", str(FORMS[form]), str(ROOT / "workflows" / workflow),
                         *extra)
    assert code == 0, out + err
    assert ": ok (" in out


def test_both_forms_resolve_the_same_estate(cli: Cli) -> None:
    folder, ansible = _resolved(cli, FOLDER), _resolved(cli, ANSIBLE)
    assert list(folder) == ["engine", "kvm1", "kvm2", "kvm3", "ol8-vm1"]
    # The folder pins its own known_hosts; the Ansible form has no such setting (the default).
    assert {host["known_hosts"] for host in folder.values()} == {str(FOLDER / "known_hosts")}
    assert {host["known_hosts"] for host in ansible.values()} == {None}
    for hosts in (folder, ansible):
        for host in hosts.values():
            del host["known_hosts"]
    assert folder == ansible
    engine = folder["engine"]
    assert engine["sudo"] is True and engine["username"] == "opsrunner"
    assert engine["vars"] == {"engine_url": "https://engine.example.com/ovirt-engine/api",
                              "engine_user": "admin@internal", "engine_password": "********",
                              "engine_ca_file": "/etc/opsrunner/engine-ca.pem",
                              "engine_fqdn": "engine.example.com"}


@pytest.mark.parametrize("limit", ["olvm", "engines", "kvm_hosts", "guests", "kvm* & !kvm2"])
def test_both_forms_group_the_hosts_alike(cli: Cli, limit: str) -> None:
    assert list(_resolved(cli, FOLDER, limit)) == list(_resolved(cli, ANSIBLE, limit))


def test_without_the_secret_both_forms_name_its_variable(cli: Cli,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV)
    for inventory in FORMS.values():
        code, _, err = cli("inventory", "-i", str(inventory))
        assert code == 1
        assert SECRET_ENV in err
        assert "Traceback" not in err
