"""A lab guest's power state is its engine VM's: powered off, its sshd is down.

The engine simulator calls :class:`LabGuestPower` when a VM starts (the guest's sshd and its
enabled services start, as at boot) and when it goes down (sshd, its open sessions and the
guest's services stop, after the transition's delay, as a real power-off ends everything).
A powered-off guest is marked by the file ``run/powered-off`` in its host folder: ``lab
status`` reports it as "VM down" (not an error) and ``lab up`` leaves its sshd stopped, so the
lab keeps agreeing with the engine.
"""

from __future__ import annotations

import logging
import threading

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.layout import LabHost, LabLayout
from opsrunner_lab.processes import child_pids, terminate_all
from opsrunner_lab.sshd import sshd_daemon, sshd_of
from opsrunner_lab.units import host_units

POWERED_OFF = "powered-off"
_log = logging.getLogger(__name__)


def lab_guest(layout: LabLayout, vm_name: str) -> LabHost | None:
    """The guest named ``vm_name`` if ``lab up`` set up its sshd, else None (the VMs the lab
    simulates without a guest host)."""
    guest = next((h for h in layout.hosts() if h.role == "guest" and h.name == vm_name), None)
    if guest is None or not sshd_of(layout, guest).config_path.exists():
        return None
    return guest


def powered_off(layout: LabLayout, guest: str) -> bool:
    """Whether ``guest``'s VM was powered off (by the engine or from within the guest)."""
    return (layout.run_dir(guest) / POWERED_OFF).exists()


class LabGuestPower:
    """Starts and stops the sshd of the guest named like a VM (other VMs, and guests whose sshd
    ``lab up`` never set up, are left alone)."""

    def __init__(self, layout: LabLayout) -> None:
        self.layout = layout
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Timer] = {}

    def _guest(self, vm_name: str) -> LabHost | None:
        return lab_guest(self.layout, vm_name)

    def power_on(self, vm_name: str) -> None:
        """The VM started: its guest's sshd starts (a pending power-off is cancelled)."""
        guest = self._guest(vm_name)
        if guest is None:
            return
        with self._lock:  # never beside a stop of the same sshd (its pid file is shared)
            pending = self._pending.pop(vm_name, None)
            if pending is not None:
                pending.cancel()
            (self.layout.run_dir(guest.name) / POWERED_OFF).unlink(missing_ok=True)
            try:
                sshd_daemon(self.layout, guest).start()
                self._boot_services(guest)
            except LabServerError as error:  # the VM is up in the engine all the same
                _log.error("guest %s: sshd did not start: %s", guest.name, error)

    def power_off(self, vm_name: str, delay: float = 0.0) -> None:
        """The VM goes down in ``delay`` seconds: then its guest's sshd and sessions stop."""
        guest = self._guest(vm_name)
        if guest is None:
            return
        with self._lock:
            marker = self.layout.run_dir(guest.name) / POWERED_OFF
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            timer = threading.Timer(delay, self._stop_sshd, args=(guest,))
            timer.daemon = True
            previous = self._pending.pop(vm_name, None)
            if previous is not None:
                previous.cancel()
            self._pending[vm_name] = timer
            timer.start()

    def _stop_sshd(self, guest: LabHost) -> None:
        with self._lock:
            if self._pending.get(guest.name) is not threading.current_thread():
                return  # cancelled (the VM started again) after the timer fired
            del self._pending[guest.name]
            daemon = sshd_daemon(self.layout, guest)
            pid = daemon.pid()
            sessions = child_pids(pid) if pid is not None else []
            daemon.stop()
            for unit in host_units(self.layout, guest.name).values():  # every service dies
                unit.stop()
        terminate_all(sessions)

    def _boot_services(self, guest: LabHost) -> None:
        """The guest's enabled services start with it, as at boot."""
        from opsrunner_lab.systemctl import Systemctl

        systemctl = Systemctl(self.layout, guest.name)
        for name, enabled in systemctl.enabled().items():
            if enabled:
                systemctl.units[name].start()
