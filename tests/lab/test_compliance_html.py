"""The HTML compliance report in a real browser: headless Chromium renders it offline.

Chromium takes a screenshot (a real PNG of the window's size, with the status colours of
the inline CSS, which the page's Content-Security-Policy must let through) and dumps the
DOM (the verdict, every control and host, the evidence, the waivers and the drift are in
the rendered text).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest

from opsrunner.compliance.html import write_html

TIMEOUT = 60.0
WIDTH, HEIGHT = 1280, 1600
FAILED_RED = (0xB3, 0x26, 0x1E)
"""The background of a ``failed`` cell (``--failed`` in the page's CSS)."""
SAMPLE = Path(__file__).parents[1] / "unit" / "compliance" / "sample.py"


def _sample() -> ModuleType:
    """tests/unit/compliance/sample.py, loaded by path (tests/lab is not a package)."""
    spec = importlib.util.spec_from_file_location("compliance_sample", SAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed (Debian package chromium): `make deps` installs it")
    return found


def _run_chromium(tmp_path: Path, name: str, *args: str) -> str:
    """Run headless Chromium with a fresh profile; its standard output. After
    :data:`TIMEOUT` seconds it is killed with every process it started (its own session)."""
    command = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-background-networking", "--disable-extensions",
               f"--user-data-dir={tmp_path / f'profile-{name}'}",
               f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=2000", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the browser and its helpers (own session)
        out, err = process.communicate()
        pytest.fail(f"chromium {name} did not finish in {TIMEOUT:.0f} s: {err[-2000:]}")
    assert process.returncode == 0, f"chromium {name} exited {process.returncode}: {err[-2000:]}"
    return out


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[8:16] == b"\x00\x00\x00\x0dIHDR", "the PNG does not start with its IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, step: int) -> None:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up, corner = prior[i], prior[i - step] if i >= step else 0
        add = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
        line[i] = (line[i] + add) & 0xFF


def _colours(data: bytes) -> set[tuple[int, int, int]]:
    """Every RGB colour of an 8-bit, non-interlaced RGB or RGBA PNG."""
    width, height = _png_size(data)
    depth, colour_type, interlace = data[24], data[25], data[28]
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), data[24:29]
    step = 3 if colour_type == 2 else 4
    chunks, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        if data[offset + 4:offset + 8] == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    found: set[tuple[int, int, int]] = set()
    prior = bytes(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(raw[start], line, prior, step)
        found.update(zip(line[0::step], line[1::step], line[2::step], strict=True))
        prior = bytes(line)
    return found


class _Text(HTMLParser):
    """The text of a document, outside <style> and <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _text(dom: str) -> str:
    parser = _Text()
    parser.feed(dom)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def page(tmp_path: Path) -> tuple[Path, ModuleType]:
    sample = _sample()
    path = tmp_path / "compliance report.html"
    write_html(sample.sample_report(), path)
    return path, sample


def test_chromium_renders_a_screenshot_of_the_window_size_with_the_page_colours(tmp_path, page):
    path, _ = page
    png = tmp_path / "report.png"
    _run_chromium(tmp_path, "screenshot", f"--screenshot={png}", path.as_uri())
    data = png.read_bytes()
    assert _png_size(data) == (WIDTH, HEIGHT)
    colours = _colours(data)
    assert FAILED_RED in colours, "the inline CSS did not apply (status colours missing)"
    assert len(colours) > 50


def test_the_rendered_page_says_everything_an_auditor_needs(tmp_path, page):
    path, sample = page
    dom = _run_chromium(tmp_path, "dom", "--dump-dom", path.as_uri())
    assert dom.lstrip().lower().startswith("<!doctype html>"), dom[:200]
    text = _text(dom)
    assert "Verdict: FAIL" in text
    report = sample.sample_report()
    for cid in report.profile.controls:
        assert cid in text
    for host in report.hosts:
        assert host in text
    for message in (sample.TLS_MESSAGE, sample.SSH_MESSAGE, sample.PKI_ERROR):
        assert message in text
    assert sample.IN_FORCE_JUSTIFICATION in text and sample.EXPIRED_JUSTIFICATION in text
    assert "in force" in text and "expired" in text
    assert f"Changes since run {sample.BASELINE_RUN}" in text
    assert f"newly failing OLVM-SSH-002 kvm02 passed failed run {sample.SSH_RUN}" in text
    assert "chrony.server ntp1.example.com pool.ntp.org outside opsrunner" in text
