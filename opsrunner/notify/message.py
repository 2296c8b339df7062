"""The run-finished message: a subject and a plain-text body (and an HTML alternative) made
from a :class:`~opsrunner.report.RunReport`.

The subject reads ``[opsrunner] vacuum: OK (2 ok, 1 deferred) in window sunday-night``. The
body gives the run id, the workflow, the window (opens, closes), the start and duration, each
host's status with its failed and deferred steps (messages, estimates: "predicted overrun:
step X on host Y would take ~N min, the window closes at HH:MM: it waits for the next
window"), failed checks, notes, and for a run that did not end ok how to resume it
(``opsrunner run --resume RUN_ID``). Every text taken from the report passes the run's
:class:`~opsrunner.secrets.Redactor` before it is written, in the subject, the text and the
HTML alike.
"""

from __future__ import annotations

import html
import math
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsrunner.notify.settings import EmailSettings
from opsrunner.report import HostReport, RunReport, StepRecord
from opsrunner.secrets import Redactor

SUBJECT_PREFIX = "[opsrunner]"
_STATUS_ORDER = ("ok", "failed", "deferred", "skipped")
_OUTPUT_LINES = 5  # last lines of a failed step's output shown
_COLORS = {"ok": "#1a7f37", "failed": "#cf222e", "deferred": "#9a6700", "skipped": "#57606a"}


def unfinished(report: RunReport) -> bool:
    """The run stopped short: a host failed, an interrupt, or a halt (``--resume`` finishes
    it). Deferred hosts alone do not count: they wait for the next window."""
    return (report.interrupted or bool(report.halted)
            or any(host.status == "failed" for host in report.hosts.values()))


def has_deferred(report: RunReport) -> bool:
    """A host or a step was deferred to the next maintenance window."""
    return any(host.status == "deferred" or any(s.status == "deferred" for s in host.steps)
               for host in report.hosts.values())


def has_problems(report: RunReport) -> bool:
    """What ``when: problems`` sends for: a run that did not end ok (a host failed, an
    interrupt, a halt), or one that deferred a host or a step to the next window."""
    return not report.ok or unfinished(report) or has_deferred(report)


def outcome(report: RunReport) -> str:
    """``INTERRUPTED``, ``HALTED``, ``FAILED`` (a host failed) or ``OK`` (deferred hosts
    included: the host counts tell them)."""
    if report.interrupted:
        return "INTERRUPTED"
    if report.halted:
        return "HALTED"
    return "FAILED" if unfinished(report) else "OK"


def host_counts(report: RunReport) -> str:
    """``2 ok, 1 deferred``: hosts by status (ok, failed, deferred, skipped, then others)."""
    counts = Counter(host.status for host in report.hosts.values())
    order = [*_STATUS_ORDER, *sorted(set(counts) - set(_STATUS_ORDER))]
    return ", ".join(f"{counts[s]} {s}" for s in order if counts[s]) or "no hosts"


@dataclass(frozen=True)
class Composed:
    """A composed, redacted message: ``html`` is None unless asked for."""

    subject: str
    text: str
    html: str | None = None


@dataclass
class _Host:
    name: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)
    output: dict[int, list[str]] = field(default_factory=dict)  # detail index -> output lines


@dataclass
class _Content:
    title: str
    facts: list[tuple[str, str]]
    hosts: list[_Host]
    notes: list[str]
    advice: list[str]
    footer: str


def compose(report: RunReport, redactor: Redactor | None = None, *, html: bool = False,
            control_host: str | None = None) -> Composed:
    """The subject and body of the notification for ``report``, redacted with ``redactor``.

    :param html: also make the HTML alternative.
    :param control_host: the name in the footer (default: this machine's host name).
    """
    content = _content(report, redactor or Redactor(), control_host or socket.gethostname())
    return Composed(subject=f"{SUBJECT_PREFIX} {content.title}", text=_render_text(content),
                    html=_render_html(content) if html else None)


def build_message(report: RunReport, settings: EmailSettings,
                  redactor: Redactor | None = None, *,
                  control_host: str | None = None) -> EmailMessage:
    """The e-mail for ``report``: headers from ``settings`` (From, To), ``Auto-Submitted:
    auto-generated``, ``X-Opsrunner-Run-Id``, the text body and, with ``html``, an HTML
    alternative."""
    composed = compose(report, redactor, html=settings.html, control_host=control_host)
    message = EmailMessage()
    message["Subject"] = composed.subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("opsrunner", domain=settings.sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Opsrunner-Run-Id"] = _one_line((redactor or Redactor()).text(report.run_id))
    message.set_content(composed.text)
    if composed.html is not None:
        message.add_alternative(composed.html, subtype="html")
    return message


# -- the content ---------------------------------------------------------------------------

def _content(report: RunReport, redactor: Redactor, control_host: str) -> _Content:
    r = redactor.text
    window = report.window or {}
    zone = _zone(window.get("timezone"))
    closes = _parse_time(window.get("closes"))
    title = _one_line(r(f"{report.workflow}{' (check mode)' if report.check else ''}: "
                        f"{outcome(report)} ({host_counts(report)}){_window_part(window)}"))
    facts = [("Run", report.run_id), ("Workflow", f"{report.workflow} ({report.workflow_file})")]
    if report.parent:
        facts.append(("Resumes", report.parent))
    if report.check:
        facts.append(("Mode", "check mode: nothing was changed"))
    if window:
        facts.append(("Window", _window_fact(window)))
    if report.started > 0:
        started = datetime.fromtimestamp(report.started, zone).astimezone(zone)
        facts.append(("Started", started.strftime("%Y-%m-%d %H:%M:%S %z")))
    facts.append(("Duration", _duration(report.duration)))
    if report.interrupted:
        facts.append(("Interrupted", "the run was interrupted (Ctrl-C or SIGTERM)"))
    if report.halted:
        facts.append(("Halted", report.halted))
    hosts = [_host(name, host, closes) for name, host in report.hosts.items()]
    advice: list[str] = []
    if unfinished(report) and not report.check:
        advice.append("To finish this run (hosts and steps that finished are not run again): "
                      f"opsrunner run --resume {report.run_id}")
    notes = list(report.notes)
    return _Content(
        title=title,
        facts=[(label, _one_line(r(value))) for label, value in facts],
        hosts=[_redact_host(h, r) for h in hosts],
        notes=[r(n) for n in notes], advice=[r(a) for a in advice],
        footer=r(f"Sent by opsrunner on {control_host}."))


def _host(name: str, host: HostReport, closes: datetime | None) -> _Host:
    steps = host.steps
    deferred = sum(1 for s in steps if s.status == "deferred")
    summary = f"{_count(len(steps) - deferred, 'step')}, {host.changed} changed"
    if deferred:
        summary += f", {deferred} deferred"
    if host.verify:
        bad = sum(1 for c in host.verify if c.status in ("failed", "error"))
        summary += (f", {bad} of {_count(len(host.verify), 'check')} failed" if bad
                    else f", {_count(len(host.verify), 'check')} passed")
    result = _Host(name=name, status=host.status, summary=summary)
    for step in steps:
        label = f"always-step {step.name!r}" if step.always else f"step {step.name!r}"
        if step.status == "failed":
            rc = f" (rc {step.rc})" if step.rc not in (None, 0) else ""
            ignored = " (ignored: on_error continue)" if step.ignored else ""
            result.details.append(f"{label} failed{rc}{ignored}: {step.msg or 'no message'}")
            lines = _last_lines(step.stderr or step.stdout)
            if lines:
                result.output[len(result.details) - 1] = lines
        elif step.status == "deferred":
            result.details.append(_overrun(step, name, closes))
        if step.note:
            result.details.append(f"note from {label}: {step.note}")
    for check in host.verify:
        if check.status in ("failed", "error"):
            first = (check.message.strip().splitlines() or ["no message"])[0]
            result.details.append(f"check {check.name!r} ({check.file}) {check.status}: {first}")
    if host.status == "deferred" and not any(s.status == "deferred" for s in steps):
        result.details.append("its next step waits for the next maintenance window")
    return result


def _overrun(step: StepRecord, host: str, closes: datetime | None) -> str:
    """The line of a deferred step."""
    took = ("would not end in time" if step.estimate is None
            else f"would take ~{_minutes(step.estimate)} min")
    until = f"the window closes at {closes:%H:%M}" if closes else "the window closes before"
    line = (f"predicted overrun: step {step.name} on host {host} {took}, {until}: "
            "it waits for the next window")
    if step.msg and step.msg not in line:
        line += f" ({step.msg})"
    return line


def _redact_host(host: _Host, r: Any) -> _Host:
    return _Host(name=r(host.name), status=r(host.status), summary=r(host.summary),
                 details=[_one_line(r(d)) for d in host.details],
                 output={i: [r(line) for line in lines] for i, lines in host.output.items()})


def _window_part(window: dict[str, Any]) -> str:
    if not window.get("name"):
        return ""
    where = "outside window" if window.get("outside_reason") else "in window"
    return f" {where} {window['name']}"


def _window_fact(window: dict[str, Any]) -> str:
    opens, closes = _parse_time(window.get("opens")), _parse_time(window.get("closes"))
    text = str(window.get("name") or "unnamed")
    if opens and closes:
        end = f"{closes:%H:%M}" if closes.date() == opens.date() else f"{closes:%Y-%m-%d %H:%M}"
        text += f", opens {opens:%Y-%m-%d %H:%M}, closes {end}"
    elif closes:
        text += f", closes {closes:%Y-%m-%d %H:%M}"
    zone = window.get("timezone")
    known = opens or closes
    offset = known.strftime("%z") if known else ""
    if zone or offset:
        text += f" ({', '.join(x for x in (str(zone or ''), offset) if x)})"
    if window.get("outside_reason"):
        text += f"; the run ran outside it: {window['outside_reason']}"
    return text


# -- rendering -------------------------------------------------------------------------------

def _render_text(content: _Content) -> str:
    width = max(len(label) for label, _ in content.facts) + 1
    lines = [content.title, ""]
    lines += [f"{label + ':':<{width}} {value}" for label, value in content.facts]
    lines += ["", "Hosts:"]
    if not content.hosts:
        lines.append("  (no host was selected)")
    name_width = max((len(h.name) for h in content.hosts), default=0)
    status_width = max((len(h.status) for h in content.hosts), default=0)
    for host in content.hosts:
        lines.append(f"  {host.name:<{name_width}}  {host.status:<{status_width}}  {host.summary}")
        for index, detail in enumerate(host.details):
            lines.append(f"    - {detail}")
            lines += [f"        | {line}" for line in host.output.get(index, [])]
    if content.notes:
        lines += ["", "Notes:"]
        lines += [f"  - {_one_line(note)}" for note in content.notes]
    if content.advice:
        lines.append("")
        lines += content.advice
    lines += ["", "-- ", content.footer]
    return "\n".join(lines) + "\n"


def _render_html(content: _Content) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             f"<title>{e(content.title)}</title></head>",
             "<body style=\"font-family: sans-serif\">", f"<h2>{e(content.title)}</h2>",
             "<table>"]
    parts += [f"<tr><th align=\"left\">{e(label)}</th><td>{e(value)}</td></tr>"
              for label, value in content.facts]
    parts += ["</table>", "<h3>Hosts</h3>",
              "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">",
              "<tr><th>Host</th><th>Status</th><th>Steps</th><th>Details</th></tr>"]
    for host in content.hosts:
        color = _COLORS.get(host.status, "#000000")
        items = []
        for index, detail in enumerate(host.details):
            output = host.output.get(index)
            pre = f"<pre>{e(chr(10).join(output))}</pre>" if output else ""
            items.append(f"<li>{e(detail)}{pre}</li>")
        details = f"<ul>{''.join(items)}</ul>" if items else ""
        parts.append(f"<tr><td>{e(host.name)}</td>"
                     f"<td style=\"color: {color}\"><b>{e(host.status)}</b></td>"
                     f"<td>{e(host.summary)}</td><td>{details}</td></tr>")
    parts.append("</table>")
    if content.notes:
        parts += ["<h3>Notes</h3>", "<ul>", *(f"<li>{e(n)}</li>" for n in content.notes), "</ul>"]
    parts += [f"<p>{e(a)}</p>" for a in content.advice]
    parts += [f"<p><small>{e(content.footer)}</small></p>", "</body></html>"]
    return "\n".join(parts) + "\n"


# -- small helpers ---------------------------------------------------------------------------

def _zone(name: Any) -> tzinfo | None:
    """The window's zone, or None (the control node's local time)."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60 - 1e-9))


def _duration(seconds: float) -> str:
    """``0.4s``, ``42s``, ``3m 05s``, ``1h 02m 03s``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _last_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return [line for line in lines if line][-_OUTPUT_LINES:]


def _one_line(text: str) -> str:
    return " ".join(text.split())
