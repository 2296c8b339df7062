"""The structural HSTS edits (_pypatch, _hsts_patches) on the real vendor sources and on
sources that do not look as expected."""

from __future__ import annotations

import http.server
import importlib.util
from pathlib import Path

import pytest

from opsrunner_plugins.hsts.patches import HeaderlistAppend, ImageioHeaders, SendResponseHeader
from opsrunner_plugins.hsts.pypatch import PatchMismatch, PyPatch


def _source(package: str, file: str) -> str:
    """A file of an installed package, read without importing the package."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return (Path(next(iter(spec.submodule_search_locations))) / file).read_text()


IMAGEIO = _source("ovirt_imageio", "_internal/http.py")
SERVER = Path(http.server.__file__).read_text()
WEBOB = _source("webob", "response.py")
CASES = [(ImageioHeaders(), IMAGEIO), (SendResponseHeader(), SERVER), (HeaderlistAppend(), WEBOB)]
IDS = ["imageio", "ovn", "webob"]


def added_lines(before: str, after: str) -> list[str]:
    old = before.splitlines()
    return [line for line in after.splitlines() if line not in old]


def test_imageio_default_headers_become_the_seeds() -> None:
    patched = ImageioHeaders().apply(IMAGEIO, 31536000)
    assert added_lines(IMAGEIO, patched) == [
        '        self.headers = Headers({"content-length": 0, '
        '"Strict-Transport-Security": "max-age=31536000"})']
    assert len(patched.splitlines()) == len(IMAGEIO.splitlines())


def test_ovn_send_response_sends_the_header_right_after_date() -> None:
    patched = SendResponseHeader().apply(SERVER, 31536000)
    lines = patched.splitlines()
    date = lines.index("        self.send_header('Date', self.date_time_string())")
    assert lines[date + 1:date + 3] == [
        "        # Oracle Bug-33308887: added below header for security scans",
        '        self.send_header("Strict-Transport-Security", "max-age=31536000")']


def test_webob_appends_the_header_after_the_headerlist_is_initialised() -> None:
    patched = HeaderlistAppend().apply(WEBOB, 31536000)
    lines = patched.splitlines()
    end = lines.index("            self._headerlist = headerlist")
    assert lines[end + 1] == ("        self._headerlist.append(('Strict-Transport-Security', "
                              "'max-age=31536000'))")


@pytest.mark.parametrize(("patch", "source"), CASES, ids=IDS)
def test_apply_is_idempotent_updates_and_removes(patch: PyPatch, source: str) -> None:
    patched = patch.apply(source, 31536000)
    compile(patched, "patched", "exec")
    assert patch.max_age(source) is None
    assert patch.max_age(patched) == 31536000
    assert patch.apply(patched, 31536000) == patched
    updated = patch.apply(patched, 600)
    assert patch.max_age(updated) == 600
    assert added_lines(patched, updated) == [
        line.replace("31536000", "600") for line in added_lines(source, patched)
        if "31536000" in line]
    assert patch.remove(updated) == source
    assert patch.remove(source) == source


def test_a_value_written_with_other_quotes_keeps_them_when_updated() -> None:
    source = SERVER.replace("        self.send_header('Date', self.date_time_string())\n",
                            "        self.send_header('Date', self.date_time_string())\n"
                            "        self.send_header('Strict-Transport-Security', "
                            "'max-age=5; preload')\n")
    assert SendResponseHeader().max_age(source) == 5
    assert "self.send_header('Strict-Transport-Security', 'max-age=7')" in \
        SendResponseHeader().apply(source, 7)


def test_edits_keep_non_ascii_text_on_the_line_intact() -> None:
    source = ('class Response:\n    def __init__(self, con):\n'
                '        self.headers = Headers({"content-length": 0})  # é ü\n')
    patched = ImageioHeaders().apply(source, 1)
    assert patched.splitlines()[2] == ('        self.headers = Headers({"content-length": 0, '
                                       '"Strict-Transport-Security": "max-age=1"})  # é ü')
    assert ImageioHeaders().remove(patched) == source


@pytest.mark.parametrize(("patch", "source", "message"), [
    (ImageioHeaders(), "x = 1\n", "no top-level class Response"),
    (ImageioHeaders(), "class Response:\n    pass\n", "class Response has no method __init__"),
    (ImageioHeaders(), IMAGEIO.replace('Headers({"content-length": 0})',
                                       'Headers({"content-length": 0, "server": "x"})'),
     "the default headers of Response.__init__ are ['content-length', 'server'], expected "
     "content-length (and Strict-Transport-Security)"),
    (ImageioHeaders(), IMAGEIO.replace('Headers({"content-length": 0})', "Headers()"),
     r"Response.__init__ does not set self.headers = Headers({...}) exactly once"),
    (SendResponseHeader(), SERVER.replace("self.send_header('Date', self.date_time_string())",
                                          "pass"),
     "BaseHTTPRequestHandler.send_response does not send the Date header exactly once"),
    (HeaderlistAppend(), WEBOB.replace("if headerlist is None:", "if not headerlist:"),
     "Response.__init__ does not initialise self._headerlist in `if headerlist is None:` "
     "exactly once"),
    (HeaderlistAppend(), "def f(:\n", "not valid Python (line 1: invalid syntax)"),
], ids=["no-class", "no-method", "other-headers", "no-dict", "no-date", "no-if", "syntax"])
def test_a_source_that_does_not_look_as_expected_is_refused(patch: PyPatch, source: str,
                                                            message: str) -> None:
    with pytest.raises(PatchMismatch) as refused:
        patch.apply(source, 31536000)
    assert str(refused.value) == message


def test_two_hsts_statements_are_refused() -> None:
    once = HeaderlistAppend().apply(WEBOB, 1)
    line = "        self._headerlist.append(('Strict-Transport-Security', 'max-age=1'))\n"
    twice = once.replace(line, line + line)
    with pytest.raises(PatchMismatch, match="appends Strict-Transport-Security 2 times"):
        HeaderlistAppend().remove(twice)
