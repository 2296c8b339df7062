"""The ``cert_replace`` task: install a third-party CA's Apache certificate on the engine
(the OLVM Administration Guide, "Administration Tasks", section "Replacing the Oracle Linux
Virtualization Manager Apache SSL Certificate" ("Oracle Linux Virtualization Manager Apache
SSL証明書の置換"): the guide's twelve steps), validated on the control node first."""

from __future__ import annotations

import hashlib
import os
import posixpath
import shlex
from typing import TYPE_CHECKING

from opsrunner import Registry, Result, Task, hookimpl
from opsrunner_plugins import _remote
from opsrunner_plugins.cert_replace.files import PkiGuard, copy_file, keep_backup, with_settings, write_file

if TYPE_CHECKING:  # cryptography is imported when a workflow runs the task, not at load
    from opsrunner_plugins.cert_replace.certs import CertInputs

ANCHORS = "/etc/pki/ca-trust/source/anchors"
PKI = "/etc/pki/ovirt-engine"
APACHE_CA = f"{PKI}/apache-ca.pem"
CERT = f"{PKI}/certs/apache.cer"
KEY = f"{PKI}/keys/apache.key.nopass"
TRUSTSTORE_CONF = "/etc/ovirt-engine/engine.conf.d/99-custom-truststore.conf"
WSPROXY_CONF = "/etc/ovirt-engine/ovirt-websocket-proxy.conf.d/10-setup.conf"
TRUSTSTORE = {"ENGINE_HTTPS_PKI_TRUST_STORE": '"/etc/pki/java/cacerts"',
              "ENGINE_HTTPS_PKI_TRUST_STORE_PASSWORD": '""'}
WSPROXY = {"SSL_CERTIFICATE": CERT, "SSL_KEY": KEY}


def cert_replace(task: Task, *, ca_chain: str, cert: str, key: str, min_days: int = 30,
                 engine_fqdn: str | None = None) -> Result:
    """Replace the engine's Apache certificate by a third-party CA's.

    :param ca_chain: control-node PEM file: the CA chain, last intermediate first, root last.
    :param cert: control-node PEM file: the new Apache certificate.
    :param key: control-node PEM file: its unencrypted private key (never logged).
    :param min_days: refuse a certificate that expires within this many days (a warning below 30).
    :param engine_fqdn: the name the certificate must cover; default: the ``engine_fqdn`` var.

    Everything is validated before the host is touched; then the twelve steps of the OLVM
    Administration Guide, "Administration Tasks", section "Replacing the Oracle Linux
    Virtualization Manager Apache SSL Certificate" ("Oracle Linux Virtualization Manager Apache
    SSL証明書の置換") run, each only when needed (the same certificate twice changes nothing).
    ``/etc/pki`` and ``/etc/pki/ovirt-engine`` must be 0755 and keep mode and owner. If httpd
    does not start with the new files, apache.cer, apache.key.nopass and apache-ca.pem are put
    back from their backups, httpd is restarted and the task fails with httpd's error.
    data: ``fingerprint`` (sha256 hex), ``steps`` (what changed), ``engine_ca_file`` (the
    absolute control-node path of the CA chain, validated here: later steps' engine session
    and later runs verify the engine with it). Unless the inventory's ``engine_ca_file`` of
    the host already is that file, the result's note names the one inventory change to make.
    """
    fqdn = engine_fqdn or str(task.vars.get("engine_fqdn") or "")
    if not fqdn:
        task.fail("engine_fqdn is not set: give the engine's FQDN (parameter or host variable)")
    from opsrunner_plugins.cert_replace.certs import label, read_inputs, validate

    inputs = read_inputs(ca_chain, cert, key)
    for warning in validate(inputs, fqdn, min_days):
        task.log(warning)
    guard = PkiGuard(task)
    anchor = f"{ANCHORS}/{posixpath.basename(ca_chain)}"
    plan = _plan(task, inputs, anchor)
    ca_file = os.path.abspath(os.path.expanduser(ca_chain))
    data = {"fingerprint": inputs.fingerprint, "steps": plan, "engine_ca_file": ca_file}
    if not plan:
        return Result(msg=f"the Apache certificate is already {label(inputs.cert)!r} "
                          f"(sha256 {inputs.fingerprint[:16]}...)", data=data,
                      note=inventory_note(task, ca_file))
    if task.check:
        return Result(changed=True, msg=f"would: {'; '.join(plan)}", data=data)
    _apply(task, inputs, anchor, plan, guard)
    expiry = inputs.cert.not_valid_after_utc.strftime("%Y-%m-%d")
    done = (f"Apache certificate now {label(inputs.cert)!r}, valid until {expiry}; the "
            f"previous one is in {CERT}.bck")
    return Result(changed=True, msg=f"replaced the Apache certificate: {'; '.join(plan)}",
                  data=data, note="; ".join(filter(None, (done, inventory_note(task, ca_file)))))


def inventory_note(task: Task, ca_file: str) -> str:
    """What to change so that later runs trust the engine: "" when the inventory's
    ``engine_ca_file`` of the host already is ``ca_file``."""
    current = task.host.data.get("engine_ca_file")
    if isinstance(current, str) and current and \
            os.path.abspath(os.path.expanduser(current)) == ca_file:
        return ""
    return (f"NEXT: set engine_ca_file: {ca_file} in the inventory (vars of host "
            f"{task.host.name}; the CA chain validated on the control node): later engine "
            f"workflows verify the engine's TLS with it, and fail until then unless run with "
            f"-e engine_ca_file={shlex.quote(ca_file)}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _differs(task: Task, path: str, data: bytes) -> bool:
    facts = _remote.file_facts(task, task.path(path))
    return facts is None or facts.kind != "file" or facts.sha256 != _sha(data)


def _conf_text(task: Task, path: str) -> str:
    return task.get(task.path(path)).decode() if _remote.exists(task, task.path(path)) else ""


def _plan(task: Task, inputs: CertInputs, anchor: str) -> list[str]:
    """The steps that would change something, in the guide's order."""
    plan = []
    if _differs(task, anchor, inputs.ca_pem):
        plan.append(f"trust anchor {anchor} + update-ca-trust export")
    if _differs(task, APACHE_CA, inputs.ca_pem):
        plan.append(f"{APACHE_CA} replaced by the CA file")
    if _differs(task, KEY, inputs.key_pem) or _differs(task, CERT, inputs.cert_pem):
        plan.append("apache.cer/apache.key.nopass backed up to .bck and replaced; "
                    "httpd and ovirt-engine restarted")
    truststore = _conf_text(task, TRUSTSTORE_CONF)
    if with_settings(truststore, TRUSTSTORE) != truststore:
        plan.append(f"{TRUSTSTORE_CONF} set")
    wsproxy = _conf_text(task, WSPROXY_CONF)
    if with_settings(wsproxy, WSPROXY) != wsproxy:
        plan.append(f"{WSPROXY_CONF} backed up to .bck and set")
    if plan:
        plan.append("ovirt-provider-ovn and ovirt-engine restarted")
    return plan


def _restart(task: Task, service: str) -> str | None:
    """Restart ``service``; None when it runs afterwards, else its error."""
    res = task.run(f"systemctl restart {shlex.quote(service)}")
    if res.rc == 0 and task.run(f"systemctl is-active {shlex.quote(service)}").rc == 0:
        return None
    lines = [line for line in (res.stderr or res.stdout).splitlines() if line.strip()]
    return " | ".join(lines[-4:]) or f"{service} is not active after the restart"


def _apply(task: Task, inputs: CertInputs, anchor: str, plan: list[str],
           guard: PkiGuard) -> None:
    path = task.path
    if plan[0].startswith("trust anchor"):  # 1
        write_file(task, path(anchor), inputs.ca_pem)
        task.run("update-ca-trust export", check_rc=True)
        guard.check("update-ca-trust export")
    ca_before = _remote.file_facts(task, path(APACHE_CA))
    ca_content = task.get(path(APACHE_CA)) if ca_before and ca_before.kind == "file" else b""
    if _differs(task, APACHE_CA, inputs.ca_pem):  # 2, 3
        task.run(f"rm -f -- {shlex.quote(path(APACHE_CA))}", check_rc=True)
        write_file(task, path(APACHE_CA), inputs.ca_pem)
        guard.check(f"replacing {APACHE_CA}")
    if _differs(task, KEY, inputs.key_pem) or _differs(task, CERT, inputs.cert_pem):
        keep_backup(task, path(CERT), path(CERT) + ".bck")  # 4
        keep_backup(task, path(KEY), path(KEY) + ".bck")
        write_file(task, path(KEY), inputs.key_pem, mode=0o600)  # 5
        write_file(task, path(CERT), inputs.cert_pem)  # 6
        guard.check("installing the key and certificate")
        error = _restart(task, "httpd")  # 7
        if error is not None:
            _roll_back(task, ca_before, ca_content, error)
        task.log("httpd runs with the new certificate; restarting ovirt-engine")
        _must_restart(task, "ovirt-engine")
    truststore = _conf_text(task, TRUSTSTORE_CONF)  # 8
    if with_settings(truststore, TRUSTSTORE) != truststore:
        write_file(task, path(TRUSTSTORE_CONF), with_settings(truststore, TRUSTSTORE).encode())
    wsproxy = _conf_text(task, WSPROXY_CONF)
    if with_settings(wsproxy, WSPROXY) != wsproxy:
        keep_backup(task, path(WSPROXY_CONF), path(WSPROXY_CONF) + ".bck")  # 9
        write_file(task, path(WSPROXY_CONF), with_settings(wsproxy, WSPROXY).encode())  # 10
    _must_restart(task, "ovirt-provider-ovn")  # 11
    _must_restart(task, "ovirt-engine")  # 12
    guard.check("the restarts")


def _must_restart(task: Task, service: str) -> None:
    error = _restart(task, service)
    if error is not None:
        task.fail(f"{service} failed to restart: {error}")


def _roll_back(task: Task, ca_before: _remote.FileFacts | None, ca_content: bytes,
               error: str) -> None:
    """Put the previous certificate, key and apache-ca.pem back, restart httpd, fail."""
    path = task.path
    copy_file(task, path(CERT) + ".bck", path(CERT))
    copy_file(task, path(KEY) + ".bck", path(KEY))
    if ca_before is not None and ca_before.kind == "link" and ca_before.target:
        task.run(f"rm -f -- {shlex.quote(path(APACHE_CA))} && ln -s -- "
                 f"{shlex.quote(ca_before.target)} {shlex.quote(path(APACHE_CA))}", check_rc=True)
    elif ca_before is not None and ca_before.kind == "file":
        write_file(task, path(APACHE_CA), ca_content)
    again = _restart(task, "httpd")
    state = "httpd runs again with the previous certificate" if again is None \
        else f"httpd still fails: {again}"
    task.fail(f"httpd failed to start with the new certificate: {error}; rolled back "
              f"apache.cer, apache.key.nopass (from the .bck files) and apache-ca.pem; {state}. "
              f"The CA stays in {ANCHORS} (harmless: remove it and run update-ca-trust if unwanted)")


ROLLBACK_RESERVE = 180.0
"""Seconds a failed replacement needs to put the old certificate and CA back and restart the
services that use them (httpd, ovirt-imageio, the websocket proxy)."""

@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(cert_replace, name="cert_replace", idempotent=True,
                      reserve=ROLLBACK_RESERVE)
