"""Schedules: systemd timers (and crontab lines) that start ``opsrunner run`` in a window.

:mod:`~opsrunner.schedule.oncalendar` turns a window's recurrence into systemd ``OnCalendar=``
expressions, :mod:`~opsrunner.schedule.cron` into crontab lines, and
:mod:`~opsrunner.schedule.units` writes and reads the service and timer unit files.

A schedule only decides when ``opsrunner run --window NAME`` starts. The run checks its window
itself: a start outside an opening, past its start deadline or in a blackout is refused
(exit 3, nothing changed). So a calendar that systemd or cron cannot say exactly is written
as a superset of the openings, never a subset, and the extra firings are harmless.
"""
