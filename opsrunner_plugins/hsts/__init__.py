"""The ``hsts`` task: HTTP Strict Transport Security on every engine port (the OLVM Administration
Guide, "Administration Tasks", section "Enabling HTTP Strict Transport Security" ("HTTP Strict
Transport Securityの有効化")).

The guide's four places: an httpd conf for port 443 (the header and the rewrite of http to
https) and the structural patches of the Python files of ovirt-imageio (54323),
ovirt-provider-ovn (35357) and ovirt-websocket-proxy (6100); then the restart of each service
whose file changed.
"""

from __future__ import annotations

import shlex

from opsrunner import Registry, Result, Task, hookimpl
from opsrunner_plugins._remote import require_absolute
from opsrunner_plugins.hsts.files import Planned, read_text, restore, write_all
from opsrunner_plugins.hsts.patches import HeaderlistAppend, ImageioHeaders, SendResponseHeader
from opsrunner_plugins.hsts.pypatch import PatchMismatch, PyPatch

HTTPD_CONF = "/etc/httpd/conf.d/ovirt-enable-strict-transport-security.conf"
IMAGEIO_HTTP = "/usr/lib64/python3.6/site-packages/ovirt_imageio/_internal/http.py"
OVN_SERVER = "/usr/lib64/python3.6/http/server.py"
WEBOB_RESPONSE = "/usr/lib/python3.6/site-packages/webob/response.py"
HTTPD_MAX_AGE = 63072000
MAX_AGE = 31536000


def httpd_conf(max_age: int) -> str:
    """The guide's httpd conf for port 443, with ``max_age``."""
    return ("LoadModule headers_module modules/mod_headers.so\n"
            f'Header always set Strict-Transport-Security "max-age={max_age}; '
            'includeSubDomains"\n'
            "<IfModule mod_rewrite.c>\n"
            "    RewriteEngine On\n"
            "    RewriteCond %{HTTPS} off\n"
            "    RewriteRule (.*) https://%{HTTP_HOST}%{REQUEST_URI}\n"
            "</IfModule>\n")


def hsts(task: Task, *, remove: bool = False, httpd_max_age: int = HTTPD_MAX_AGE,
         max_age: int = MAX_AGE, httpd_conf_path: str = HTTPD_CONF,
         imageio_http: str = IMAGEIO_HTTP, ovn_server: str = OVN_SERVER,
         webob_response: str = WEBOB_RESPONSE, python: str = "python3",
         restart: bool = True) -> Result:
    """Enable HSTS on ports 443, 54323, 35357 and 6100 of the engine (or, with ``remove``, undo it).

    :param remove: delete the httpd conf and take the patches out of the Python files.
    :param httpd_max_age: the max-age of port 443 (the guide's 63072000, with includeSubDomains).
    :param max_age: the max-age of the three Python services (the guide's 31536000).
    :param httpd_conf_path, imageio_http, ovn_server, webob_response: the files (the guide's
        paths).
    :param python: the host's interpreter that must compile each patched file before it is
        installed.
    :param restart: restart the service of each changed file (httpd, ovirt-imageio,
        ovirt-provider-ovn, ovirt-websocket-proxy).

    Every file is read and checked first: a Python file that does not have the place the OLVM
    Administration Guide, "Administration Tasks", section "Enabling HTTP Strict Transport
    Security" ("HTTP Strict Transport Securityの有効化") patches (another package version) fails
    the task with nothing changed. The same max-age twice changes nothing; another max-age
    updates the value. Each changed file is backed up beside itself (``.<timestamp>.bak``). If a
    service does not come back after its restart, every changed file is restored, the services
    restarted again, and the task fails.
    data["files"] maps each file to what was done; data["restarted"] lists the services.
    """
    for name, value in (("httpd_max_age", httpd_max_age), ("max_age", max_age)):
        if value <= 0:
            task.fail(f"{name} must be a positive number of seconds, got {value}")
    paths = {"httpd_conf_path": httpd_conf_path, "imageio_http": imageio_http,
             "ovn_server": ovn_server, "webob_response": webob_response}
    for name, path in paths.items():
        require_absolute(name, path)
    plans = [_plan_conf(task, httpd_conf_path, None if remove else httpd_max_age)]
    for shown, service, patch in ((imageio_http, "ovirt-imageio", ImageioHeaders()),
                                  (ovn_server, "ovirt-provider-ovn", SendResponseHeader()),
                                  (webob_response, "ovirt-websocket-proxy", HeaderlistAppend())):
        plans.append(_plan_python(task, shown, service, patch, None if remove else max_age))
    changed = [p for p in plans if p.changed]
    services = list(dict.fromkeys(p.service for p in changed)) if restart else []
    data = {"files": {p.shown: p.action for p in plans}, "restarted": services}
    if task.check or not changed:
        msg = "; ".join(f"{p.shown}: {'would be ' if task.check and p.changed else ''}{p.action}"
                        for p in plans)
        return Result(changed=bool(changed), msg=msg, data=data)
    write_all(task, plans, python)
    for service in services:
        _restart(task, service, plans, services)
    msg = "; ".join(f"{p.shown}: {p.action}" for p in plans)
    if services:
        msg += f"; restarted {', '.join(services)}"
    return Result(changed=True, msg=msg, data=data,
                  note=f"HSTS {'removed' if remove else 'enabled'}: "
                       f"{len(changed)} file(s) changed")


def _plan_conf(task: Task, shown: str, max_age: int | None) -> Planned:
    path = task.path(shown)
    text = read_text(task, path, shown)
    old = None if text is None else text.encode()
    new = None if max_age is None else httpd_conf(max_age).encode()
    if old == new:
        action = "up to date" if new is not None else "absent"
    elif new is None:
        action = "removed"
    else:
        action = "created" if old is None else f"rewritten (max-age={max_age})"
    return Planned(path, shown, "httpd", old, new, action)


def _plan_python(task: Task, shown: str, service: str, patch: PyPatch,
                 max_age: int | None) -> Planned:
    path = task.path(shown)
    text = read_text(task, path, shown)
    if text is None:
        task.fail(f"{shown} does not exist (the file of {service}); nothing was changed")
    try:
        was = patch.max_age(text)
        new = patch.remove(text) if max_age is None else patch.apply(text, max_age)
    except PatchMismatch as exc:
        task.fail(f"{shown} does not look as expected: {exc} (the OLVM Administration Guide's "
                  'section "Enabling HTTP Strict Transport Security" patches '
                  f"{patch.where}; is this another version of the package?); "
                  "nothing was changed")
    if max_age is None:
        action = "patch removed" if was is not None else "not patched"
    elif was is None:
        action = f"patched (max-age={max_age})"
    elif was == max_age:
        action = "up to date"
    else:
        action = f"max-age updated to {max_age}"
    return Planned(path, shown, service, text.encode(), new.encode(), action, python=True)


def _restart(task: Task, service: str, plans: list[Planned], services: list[str]) -> None:
    """Restart ``service``; if it does not come back, restore every file and fail."""
    unit = shlex.quote(service)
    res = task.run(f"systemctl restart {unit} && systemctl is-active {unit}")
    if res.rc == 0:
        return
    detail = (res.stderr or res.stdout).strip().splitlines()
    restore(task, plans)
    again = [s for s in services if task.run(f"systemctl restart {shlex.quote(s)}").rc != 0]
    task.fail(f"{service} did not start after the change "
              f"({detail[-1] if detail else f'exit status {res.rc}'}); every file was restored"
              + (f"; still failing after the restore: {', '.join(again)}" if again else
                 f" and {', '.join(services)} restarted"))


ROLLBACK_RESERVE = 120.0
"""Seconds a failed change needs to restore every file and restart the services again."""

@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(hsts, name="hsts", idempotent=True, reserve=ROLLBACK_RESERVE)
