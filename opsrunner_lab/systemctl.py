"""The lab's ``systemctl``: the real command's interface over the lab's service units.

Supports start, stop, restart, try-restart, reload-or-restart, status, is-active,
is-enabled, enable/disable (``--now``), daemon-reload, with systemd's exit codes: is-active
0 active / 3 inactive; status 0 / 3 inactive / 4 no such unit; is-enabled 0 / 1; a unit
that does not exist 5 for start/stop/restart; a start that fails 1 with systemd's message.
Run as ``python -m opsrunner_lab.systemctl --lab DIR --host NAME ARGS``; the lab puts a
``systemctl`` script first on each host's PATH that does this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from opsrunner_lab.daemon import LabServerError, log_tail
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.unit import Unit
from opsrunner_lab.units import canonical, host_units

EXIT_NOT_FOUND = 5


class Systemctl:
    """One host's units and their enabled state."""

    def __init__(self, layout: LabLayout, host: str) -> None:
        self.layout = layout
        self.host = host
        self.units = host_units(layout, host)
        self._enabled_file = layout.run_dir(host) / "enabled.json"

    def enabled(self) -> dict[str, bool]:
        try:
            data: dict[str, bool] = json.loads(self._enabled_file.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        return {name: data.get(name, True) for name in self.units}

    def set_enabled(self, name: str, value: bool) -> None:
        state = self.enabled()
        state[name] = value
        self._enabled_file.parent.mkdir(parents=True, exist_ok=True)
        self._enabled_file.write_text(json.dumps(state, indent=1) + "\n")

    def unit(self, name: str) -> Unit | None:
        return self.units.get(canonical(name))

    def run(self, verb: str, names: list[str], now: bool = False) -> int:
        if verb == "daemon-reload":
            return 0
        if verb in ("is-active", "status", "is-enabled") and not names:
            print("Too few arguments.", file=sys.stderr)
            return 1
        if verb == "is-active":
            return self._is_active(names)
        if verb == "is-enabled":
            return self._is_enabled(names)
        if verb == "status":
            return self._status(names)
        if verb in ("enable", "disable"):
            return self._enable(names, verb == "enable", now)
        if verb in ("start", "stop", "restart", "try-restart", "reload-or-restart", "reload"):
            return self._change(verb, names)
        print(f"Unknown command verb {verb}.", file=sys.stderr)
        return 1

    def _missing(self, verb: str, name: str) -> int:
        action = {"stop": "stop", "start": "start"}.get(verb, verb)
        print(f"Failed to {action} {canonical(name)}.service: Unit {canonical(name)}.service "
              f"not found.", file=sys.stderr)
        return EXIT_NOT_FOUND

    def _change(self, verb: str, names: list[str]) -> int:
        units = []
        for name in names:
            unit = self.unit(name)
            if unit is None:
                return self._missing(verb, name)
            units.append(unit)
        code = 0
        for unit in units:
            try:
                if verb == "stop":
                    unit.stop()
                elif verb == "start":
                    unit.start()
                elif verb == "try-restart" and not unit.is_active():
                    continue
                else:
                    unit.stop()
                    unit.start()
            except LabServerError as exc:
                print(f"Job for {unit.name}.service failed because the control process exited "
                      f"with error code.\nSee \"systemctl status {unit.name}.service\" and "
                      f"\"journalctl -xeu {unit.name}.service\" for details.", file=sys.stderr)
                print(str(exc), file=sys.stderr)
                code = 1
        return code

    def _is_active(self, names: list[str]) -> int:
        code = 0
        for name in names:
            unit = self.unit(name)
            active = unit is not None and unit.is_active()
            print("active" if active else "inactive")
            if not active:
                code = 3
        return code

    def _is_enabled(self, names: list[str]) -> int:
        code = 0
        state = self.enabled()
        for name in names:
            unit = self.unit(name)
            if unit is None:
                print(f"Failed to get unit file state for {canonical(name)}.service: No such "
                      f"file or directory", file=sys.stderr)
                code = 1
                continue
            print("enabled" if state[unit.name] else "disabled")
            if not state[unit.name]:
                code = 1
        return code

    def _enable(self, names: list[str], value: bool, now: bool) -> int:
        for name in names:
            unit = self.unit(name)
            if unit is None:
                print(f"Failed to {'enable' if value else 'disable'} unit: Unit file "
                      f"{canonical(name)}.service does not exist.", file=sys.stderr)
                return 1
            self.set_enabled(unit.name, value)
            if now:
                code = self._change("start" if value else "stop", [unit.name])
                if code:
                    return code
        return 0

    def _status(self, names: list[str]) -> int:
        code = 0
        state = self.enabled()
        for name in names:
            unit = self.unit(name)
            if unit is None:
                print(f"Unit {canonical(name)}.service could not be found.", file=sys.stderr)
                code = max(code, 4)
                continue
            pid = unit.daemon.pid()
            enabled = "enabled" if state[unit.name] else "disabled"
            print(f"{'●' if pid else '○'} {unit.name}.service - {unit.description or unit.name}")
            print(f"     Loaded: loaded (/usr/lib/systemd/system/{unit.name}.service; {enabled}; "
                  f"vendor preset: disabled)")
            if pid:
                since = time.strftime("%a %Y-%m-%d %H:%M:%S UTC",
                                      time.gmtime(unit.daemon.pidfile.stat().st_mtime))
                print(f"     Active: active (running) since {since}")
                print(f"   Main PID: {pid} ({unit.name})")
            else:
                print("     Active: inactive (dead)")
                code = max(code, 3)
            tail = log_tail(unit.daemon.logfile, 10)
            if tail and tail != "(no log)":
                print()
                print(tail)
        return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="systemctl")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--now", action="store_true")
    parser.add_argument("--no-pager", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("verb")
    parser.add_argument("units", nargs="*")
    args = parser.parse_intermixed_args(argv)
    from pathlib import Path

    ctl = Systemctl(LabLayout.load(Path(args.lab)), args.host)
    if args.quiet:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            return ctl.run(args.verb, args.units, args.now)
    return ctl.run(args.verb, args.units, args.now)


if __name__ == "__main__":
    sys.exit(main())
