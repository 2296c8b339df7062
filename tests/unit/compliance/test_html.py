"""The HTML report: one self-contained page, every section, everything escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from opsrunner.compliance.html import to_html, write_html
from opsrunner.compliance.model import ControlResult
from tests.unit.compliance.sample import (
    BASELINE_RUN,
    EXPIRED_JUSTIFICATION,
    HOSTS,
    IN_FORCE_JUSTIFICATION,
    PKI_ERROR,
    RUN_ID,
    SSH_RUN,
    TLS_MESSAGE,
    passing_report,
    sample_profile,
    sample_report,
)

VOID = {"meta", "input", "br", "hr", "img", "link", "col", "wbr"}


class _Page(HTMLParser):
    """Checks that tags nest; collects the matrix cells' classes and texts by row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self.in_matrix = False
        self.cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table" and found.get("class") == "matrix":
            self.in_matrix = True
        elif self.in_matrix and tag == "tr":
            self.rows.append([])
        elif self.in_matrix and tag in ("td", "th"):
            self.cell = (found.get("class") or "", [])

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()
        if tag == "table":
            self.in_matrix = False
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append((self.cell[0], "".join(self.cell[1])))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[1].append(data)


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert page.stack == []
    return page


def test_the_page_references_nothing_outside_itself(tmp_path):
    path = tmp_path / "report.html"
    write_html(sample_report(), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<link\b", text, re.I)
    assert not re.search(r"<script\b", text, re.I)  # complete without JS
    assert not re.search(r"\bsrc\s*=\s*[\"']?(?!data:)", text, re.I)
    assert not re.search(r"@import|@font-face", text, re.I)
    assert not re.search(r"url\(\s*[\"']?(?!data:)", text, re.I)
    assert not re.search(r"\bhref\s*=\s*[\"']?(?!#)", text, re.I)
    assert not re.search(r"\b(?:https?|ftp|file):", text, re.I)
    assert not re.search(r"<(?:iframe|object|embed|base|form)\b", text, re.I)
    assert "Content-Security-Policy" in text and "default-src &#x27;none&#x27;" in text
    assert "@media print" in text


def test_the_header_and_the_summary_by_impact_band(tmp_path):
    text = to_html(sample_report())
    assert "<h1>OLVM 4.5 baseline (Oracle Linux Virtualization Manager)</h1>" in text
    for fact in (RUN_ID, "2026-03-02T08:15:00Z", "inventories/prod/hosts.yaml",
                 "engine, kvm01, kvm02, guest01"):
        assert f"<dd>{fact}</dd>" in text
    assert '<span class="verdict FAIL">FAIL</span>' in text
    summary = text[text.index('id="summary"'):text.index('id="matrix"')]
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"
                      r"<td>(\d+)</td></tr>", summary)
    assert rows == [("critical", "2", "0", "0", "0"), ("high", "1", "0", "1", "0"),
                    ("medium", "0", "0", "1", "0"), ("low", "0", "0", "0", "1")]
    assert '<span class="verdict PASS">PASS</span>' in to_html(passing_report())


def test_the_matrix_says_each_status_in_words_failures_first():
    text = to_html(sample_report())
    for cid in sample_profile().controls:
        assert cid in text
    for host in HOSTS:
        assert host in text
    page = _page(text)
    header, *rows = page.rows
    assert [t for _, t in header] == ["control", "impact", "title", *HOSTS]
    assert [r[0][1] for r in rows] == ["OLVM-PKI-003", "OLVM-TLS-001", "OLVM-SSH-002",
                                       "OLVM-NTP-005", "OLVM-DB-004", "OLVM-GA-006"]
    ssh = rows[2]
    assert [t for _, t in ssh[3:]] == ["-", "waived", "failed", "passed"]
    assert [c for c, _ in ssh[3:]] == ["st na", "st waived", "st failed", "st passed"]
    assert [t for _, t in rows[0][3:]] == ["passed", "passed", "error", "-"]
    assert rows[0][1][1] == "0.8 critical"
    assert re.findall(r'<tr class="(\w+)"><th scope="row">', text) == [
        "failing", "failing", "failing", "ok", "ok", "ok"]
    assert '<input type="checkbox" id="only-failing">' in text
    assert "#only-failing:checked ~ table.matrix tbody tr:not(.failing)" in text


def test_each_failure_shows_its_evidence_in_a_pre():
    text = to_html(sample_report())
    failures = text[text.index('id="failures"'):text.index('id="waivers"')]
    assert f"<pre>{TLS_MESSAGE}</pre>" in failures
    assert f"<pre>{PKI_ERROR}</pre>" in failures
    assert "<h3>OLVM-TLS-001: HSTS on every engine port</h3>" in failures
    assert "On <strong>engine</strong>: failed" in failures
    assert "On <strong>kvm02</strong>: could not run" in failures
    assert "<td>hsts.443</td><td>absent</td>" in failures
    assert "No control failed." in to_html(passing_report())


def test_the_waivers_in_force_and_expired():
    text = to_html(sample_report())
    waivers = text[text.index('id="waivers"'):text.index('id="notes"')]
    escaped = IN_FORCE_JUSTIFICATION.replace("'", "&#x27;")
    assert (f'<td class="nw">OLVM-SSH-002</td><td>kvm01</td><td>{escaped}</td>'
            f'<td class="nw">2026-06-30</td><td class="nw">in force</td><td>kvm01</td>'
            f"<td>waivers.yml:1:3</td>") in waivers
    assert (f'<td>{EXPIRED_JUSTIFICATION}</td><td class="nw">2026-02-28</td>'
            f'<td class="nw">expired</td><td>-</td>') in waivers
    assert "expired on 2026-02-28" in text[text.index('id="notes"'):]


def test_the_drift_or_why_there_is_none():
    text = to_html(sample_report())
    drift = text[text.index('id="drift"'):text.index('id="controls"')]
    assert f"Changes since run {BASELINE_RUN} accepted at 2026-02-15T08:31:07Z." in drift
    assert (f"<td>newly failing</td><td>OLVM-SSH-002</td><td>kvm02</td><td>passed</td>"
            f"<td>failed</td><td>run {SSH_RUN} (workflow sshd-hardening)</td>").replace(
        "<td>newly failing</td><td>OLVM-SSH-002</td>",
        '<td class="nw">newly failing</td><td class="nw">OLVM-SSH-002</td>') in drift
    assert ("<td>engine</td><td>chrony.server</td><td>ntp1.example.com</td>"
            "<td>pool.ntp.org</td><td>outside opsrunner</td>") in drift
    passing = to_html(passing_report())
    assert (f"No drift since run {BASELINE_RUN} accepted at 2026-02-15T08:31:07Z."
            in passing)
    assert "This run is now the accepted baseline." in passing
    report = sample_report()
    report.drift = None
    assert "No accepted baseline" in to_html(report)


def test_everything_is_escaped():
    report = sample_report()
    report.hosts.append('web"&<01>')
    report.results.append(ControlResult("OLVM-NTP-005", 'web"&<01>', "failed",
                                        "<script>alert('x')</script>\x1b[0m & more",
                                        {"<b>key": "</pre><img src=x>"}))
    report.notes.append("<iframe src=//evil.example/>")
    text = to_html(report)
    assert "<script" not in text and "<img" not in text and "<iframe" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;[0m &amp; more" in text
    assert "web&quot;&amp;&lt;01&gt;" in text
    assert "<td>&lt;b&gt;key</td><td>&lt;/pre&gt;&lt;img src=x&gt;</td>" in text
    assert "\x1b" not in text
    _page(text)


def test_write_html_writes_utf8(tmp_path: Path):
    report = sample_report()
    report.notes.append("Prüfung: überfällig")
    path = tmp_path / "r.html"
    write_html(report, path)
    assert "Prüfung: überfällig" in path.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in path.read_text(encoding="utf-8")
