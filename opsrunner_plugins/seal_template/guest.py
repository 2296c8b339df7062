"""Sealing an Oracle Linux guest over SSH (the guest's steps of the OLVM Administration Guide,
"Administration Tasks", section "Sealing an Oracle Linux Virtual Machine for Use as a Template"
("テンプレートとして使用するためのOracle Linux仮想マシンのシール")).

:func:`guest_release` reads which release the guest runs, :func:`survey` lists what the seal
would touch (one command), :func:`apply` changes it and :func:`power_off` ends the session the
way the guide does. Paths in a :class:`SealPlan` are the guest's real paths; commands map them
through the host's sysroot.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

from opsrunner import Task

RHEL_LIKE_IDS = frozenset({"ol", "rhel", "centos", "rocky", "almalinux"})
_SYSTEM_RELEASE = re.compile(
    r"^(?P<name>Oracle Linux|Red Hat Enterprise Linux|CentOS|Rocky Linux|AlmaLinux)\b.*?"
    r"\brelease (?P<major>\d+)")
UNCONFIGURED = "/.unconfigured"
HOSTNAME_FILE = "/etc/hostname"
NETWORK_FILE = "/etc/sysconfig/network"
OL6_HOSTNAME = "localhost.localdomain"
# The lines that tie a network profile to one machine: its MAC and its profile UUID, in the
# ifcfg files of OL 6-8 (every interface but lo) and the NetworkManager keyfiles of OL 9.
IFCFG_FILES = "/etc/sysconfig/network-scripts/ifcfg-*"
KEYFILES = "/etc/NetworkManager/system-connections/*.nmconnection"
HW_LINE = r"^[[:space:]]*(HWADDR|UUID)="
KEYFILE_LINE = r"^[[:space:]]*(uuid|mac-address)="
HISTORY_FILE = "/root/.bash_history"
# What the installer and first boot leave in /root (virt-sysprep's "logfiles" list).
ROOT_LOGS = ("/root/anaconda-ks.cfg", "/root/anaconda-post.log", "/root/initial-setup-ks.cfg",
             "/root/install.log", "/root/install.log.syslog", "/root/original-ks.cfg")
# Login records emptied rather than removed (login and last expect them).
KEPT_LOGS = ("wtmp", "btmp", "lastlog")


@dataclass(frozen=True)
class GuestRelease:
    """The guest's distribution: os-release ``ID`` (or the name), pretty name, major version."""

    id: str
    name: str
    major: int


@dataclass
class SealPlan:
    """What sealing changes in one guest (real paths; empty lists: nothing to do there)."""

    release: GuestRelease
    unconfigured: bool = False           # /.unconfigured exists already
    host_keys: list[str] = field(default_factory=list)
    hostname_file: bool = False          # OL 7+: /etc/hostname exists
    network_hostname: str | None = None  # OL 6: HOSTNAME= of /etc/sysconfig/network (None: none)
    udev_rules: list[str] = field(default_factory=list)
    hw_lines: dict[str, list[str]] = field(default_factory=dict)  # profile -> its MAC/UUID lines
    logs: list[str] = field(default_factory=list)
    history: bool = False                # root's shell history is not empty

    def leftovers(self) -> list[str]:
        """The seal's essential steps still to do (logs aside: a running guest may write
        new ones at any time)."""
        return replace(self, logs=[]).steps()

    def steps(self) -> list[str]:
        """The changes, in the guide's order, each naming its file(s)."""
        out = [] if self.unconfigured else [f"create {UNCONFIGURED}"]
        out += [f"remove {path}" for path in self.host_keys]
        if self.release.major <= 6:
            if self.network_hostname != OL6_HOSTNAME:
                out.append(f"set HOSTNAME={OL6_HOSTNAME} in {NETWORK_FILE}")
        elif self.hostname_file:
            out.append(f"remove {HOSTNAME_FILE}")
        out += [f"remove {path}" for path in self.udev_rules]
        out += [f"remove {', '.join(sorted({line.split('=')[0].strip() for line in lines}))} "
                f"from {path}" for path, lines in sorted(self.hw_lines.items())]
        kept = {f"/var/log/{name}" for name in KEPT_LOGS}
        out += [f"{'empty' if path in kept else 'remove'} {path}" for path in self.logs]
        if self.history:
            out.append(f"clear {HISTORY_FILE}")
        return out

    def files(self) -> list[str]:
        """Every file the steps touch."""
        touched = [] if self.unconfigured else [UNCONFIGURED]
        touched += self.host_keys
        if self.release.major <= 6:
            touched += [NETWORK_FILE] if self.network_hostname != OL6_HOSTNAME else []
        elif self.hostname_file:
            touched.append(HOSTNAME_FILE)
        touched += self.udev_rules + sorted(self.hw_lines) + self.logs
        return touched + ([HISTORY_FILE] if self.history else [])


def identity_line(path: str) -> str:
    """The ERE of the MAC/UUID lines of the network profile ``path`` (ifcfg or keyfile)."""
    return KEYFILE_LINE if path.endswith(".nmconnection") else HW_LINE


def identity_lines(path: str, text: str) -> list[str]:
    """The lines of profile ``path``'s ``text`` that sealing removes (stripped)."""
    pattern = re.compile(identity_line(path).replace("[[:space:]]", r"\s"))
    return [line.strip() for line in text.splitlines() if pattern.match(line)]


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release (quotes removed, comments skipped)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return values


def release_of(os_release: str | None, system_release: str | None) -> GuestRelease:
    """The guest's release from ``/etc/os-release`` or, without it (OL 6), ``/etc/system-release``.

    :raises ValueError: the guest is not Oracle Linux nor RHEL-like, or its version is unclear.
    """
    if os_release:
        values = parse_os_release(os_release)
        os_id, like = values.get("ID", ""), values.get("ID_LIKE", "").split()
        name = values.get("PRETTY_NAME") or values.get("NAME") or os_id or "unknown"
        if os_id not in RHEL_LIKE_IDS and "rhel" not in like:
            raise ValueError(f"the guest runs {name} (ID={os_id or '?'}); only Oracle Linux "
                             "or a RHEL-like system can be sealed this way")
        major = values.get("VERSION_ID", "").split(".")[0]
        if not major.isdigit():
            raise ValueError(f"the guest's /etc/os-release has no numeric VERSION_ID ({name})")
        return GuestRelease(os_id, name, int(major))
    found = _SYSTEM_RELEASE.match((system_release or "").strip())
    if found is None:
        shown = (system_release or "").strip() or "neither /etc/os-release nor /etc/system-release"
        raise ValueError(f"the guest runs {shown!r}; only Oracle Linux or a RHEL-like system "
                         "can be sealed this way")
    os_id = {"Oracle Linux": "ol", "Red Hat Enterprise Linux": "rhel"}.get(
        found["name"], found["name"].split()[0].lower())
    return GuestRelease(os_id, (system_release or "").strip(), int(found["major"]))


def guest_release(task: Task) -> GuestRelease:
    """Read the guest's release; fails the task for a guest that cannot be sealed."""
    files = [shlex.quote(task.path(p)) for p in ("/etc/os-release", "/etc/system-release")]
    res = task.run(f"cat {files[0]} 2>/dev/null; echo '@@@'; cat {files[1]} 2>/dev/null; true",
                   check_rc=True)
    os_release, _, system_release = res.stdout.partition("@@@\n")
    try:
        return release_of(os_release.strip() or None, system_release.strip() or None)
    except ValueError as exc:
        task.fail(f"refusing to seal: {exc}; nothing was changed")


def _survey_script(root: str, clear_logs: bool) -> str:
    kept = " -o ".join(f"-name {name}" for name in KEPT_LOGS)
    logs = (f'find "$R/var/log" -type f \\( ! -empty -o ! \\( {kept} \\) \\) -print '
            '| sed "s|^|log |"; '
            f'for f in {" ".join(ROOT_LOGS)}; do [ -e "$R$f" ] && echo "log $R$f"; done; ')
    return (
        f"R={shlex.quote(root.rstrip('/'))}; "
        f'[ -e "$R{UNCONFIGURED}" ] && echo unconfigured; '
        'for f in "$R"/etc/ssh/ssh_host_*; do [ -e "$f" ] || [ -L "$f" ] && echo "key $f"; '
        "done; "
        f'[ -e "$R{HOSTNAME_FILE}" ] || [ -L "$R{HOSTNAME_FILE}" ] && echo hostname; '
        f"grep -m1 '^HOSTNAME=' \"$R{NETWORK_FILE}\" 2>/dev/null | sed 's/^/network /'; "
        'for f in "$R"/etc/udev/rules.d/70-*; do [ -e "$f" ] || [ -L "$f" ] && echo "udev $f"; '
        "done; "
        f'for f in "$R"{IFCFG_FILES} "$R"{KEYFILES}; do case "$f" in */ifcfg-lo) continue;; '
        f"*.nmconnection) p='{KEYFILE_LINE}';; *) p='{HW_LINE}';; esac; "
        '[ -f "$f" ] && grep -E "$p" "$f" | sed "s|^|hw $f |"; done; '
        + (logs if clear_logs else "")
        + f'[ -s "$R{HISTORY_FILE}" ] && echo history; true'
    )


def parse_survey(output: str, root: str, release: GuestRelease) -> SealPlan:
    """The plan from :func:`survey`'s output lines (``kind [path] [rest]``)."""
    prefix = "" if root in ("", "/") else root.rstrip("/")

    def real(path: str) -> str:
        return path[len(prefix):] if prefix and path.startswith(prefix + "/") else path

    plan = SealPlan(release)
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "unconfigured":
            plan.unconfigured = True
        elif kind == "key":
            plan.host_keys.append(real(rest))
        elif kind == "hostname":
            plan.hostname_file = True
        elif kind == "network":
            plan.network_hostname = rest.partition("=")[2].strip().strip("\"'")
        elif kind == "udev":
            plan.udev_rules.append(real(rest))
        elif kind == "hw":
            path, _, text = rest.partition(" ")
            plan.hw_lines.setdefault(real(path), []).append(text)
        elif kind == "log":
            plan.logs.append(real(rest))
        elif kind == "history":
            plan.history = True
    plan.logs.sort()
    return plan


def survey(task: Task, release: GuestRelease, clear_logs: bool) -> SealPlan:
    """What sealing the guest would change (reads only)."""
    root = task.path("/")
    res = task.run(_survey_script(root, clear_logs), check_rc=True)
    return parse_survey(res.stdout, root, release)


def apply_script(plan: SealPlan, root: str) -> str:
    """The shell commands that carry out ``plan`` (``root`` is the guest's sysroot)."""
    prefix = "" if root in ("", "/") else root.rstrip("/")

    def at(path: str) -> str:
        return shlex.quote(prefix + path)

    commands = [] if plan.unconfigured else [f"touch {at(UNCONFIGURED)}"]
    if plan.host_keys:
        commands.append("rm -rf -- " + " ".join(at(p) for p in plan.host_keys))
    if plan.release.major <= 6 and plan.network_hostname != OL6_HOSTNAME:
        network = at(NETWORK_FILE)
        if plan.network_hostname is None:
            commands.append(f"echo HOSTNAME={OL6_HOSTNAME} >> {network}")
        else:
            commands.append(f"sed -i 's/^HOSTNAME=.*/HOSTNAME={OL6_HOSTNAME}/' {network}")
    elif plan.release.major > 6 and plan.hostname_file:
        commands.append(f"rm -f -- {at(HOSTNAME_FILE)}")
    if plan.udev_rules:
        commands.append("rm -rf -- " + " ".join(at(p) for p in plan.udev_rules))
    for path in sorted(plan.hw_lines):  # sed -i keeps the file's mode, owner and context
        commands.append(f"sed -i -E '/{identity_line(path)}/d' -- {at(path)}")
    kept = {f"/var/log/{name}" for name in KEPT_LOGS}
    removed = [p for p in plan.logs if p not in kept]
    if removed:
        commands.append("rm -f -- " + " ".join(at(p) for p in removed))
    commands += [f": > {at(p)}" for p in plan.logs if p in kept]
    if plan.history:
        commands.append(f": > {at(HISTORY_FILE)}")
    return " && ".join([*commands, "sync"])


def apply(task: Task, plan: SealPlan) -> None:
    """Carry out ``plan``; fails the task quoting the command's error."""
    if plan.steps():
        task.run(apply_script(plan, task.path("/")), check_rc=True)


def guest_macs(task: Task) -> set[str]:
    """The guest's MAC addresses (lower case): its NICs in ``/sys/class/net`` and the MAC
    lines of its network profiles (ifcfg ``HWADDR=``, keyfile ``mac-address=``); empty when it
    shows none, e.g. after an earlier seal."""
    root = shlex.quote(task.path("/").rstrip("/"))
    res = task.run(f"R={root}; cat \"$R\"/sys/class/net/*/address 2>/dev/null; "
                   f'grep -hE "^[[:space:]]*HWADDR=" "$R"{IFCFG_FILES} 2>/dev/null; '
                   f'grep -hE "^[[:space:]]*mac-address=" "$R"{KEYFILES} 2>/dev/null; true')
    found = set()
    for line in res.stdout.splitlines():
        value = line.strip().partition("=")[2] if "=" in line else line.strip()
        value = value.strip("\"';").lower()
        if re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", value) and value != "00:00:00:00:00:00":
            found.add(value)
    return found


def power_off(task: Task) -> None:
    """``history -c`` and ``poweroff``, as the guide's last steps. The poweroff runs a second
    later in a session of its own, its standard streams away from the SSH channel, so the
    command returns (and the channel closes) before the guest drops the connection."""
    task.run("history -c 2>/dev/null; "
             "setsid sh -c 'sleep 1; poweroff' </dev/null >/dev/null 2>&1 &",
             check_rc=True)
