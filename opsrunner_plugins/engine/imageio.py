"""A small ovirt-imageio client: resumable upload of a file to a transfer URL, and read-back
(:func:`upload_checked` does both and compares the sha256).

The upload sends ``PUT`` requests of up to :data:`CHUNK` bytes with ``Content-Range``; after a
broken connection it reconnects and goes on from the last offset the server confirmed (a 2xx
answer), up to ``retries`` times in a row. An HTTP error answer is not retried (it quotes the
daemon's text). ``sha256`` reads the image back (``GET`` with ``Range``) and hashes it. Both
stop at their ``deadline`` (a ``time.monotonic()`` value): no request starts after it, and no
socket wait outlasts it.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from opsrunner import TaskFailed

CHUNK = 8 * 1024 * 1024
READ_BLOCK = 1024 * 1024
_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class ImageioError(TaskFailed):
    """The image daemon refused a request, or the connection broke too often."""


class ImageioClient:
    """Talks to one transfer URL (``https://engine:54323/images/<ticket>``).

    :param ca_file: CA to verify the daemon's certificate (the engine's CA); None with
        ``insecure`` skips verification.
    :param retries: reconnections allowed in a row after a broken connection.
    :param log: receives a line per reconnection.
    """

    def __init__(self, url: str, *, ca_file: str | None, insecure: bool = False,
                 timeout: float = 60.0, retries: int = 3,
                 log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ImageioError(f"transfer URL {url!r} is not an http(s) URL")
        self.url = url
        self._parts = parts
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._context = _tls_context(ca_file, insecure) if parts.scheme == "https" else None
        self._timeout = timeout
        self._retries = retries
        self._log = log or (lambda _line: None)
        self._sleep = sleep
        self._connection: http.client.HTTPConnection | None = None
        self._deadline: float | None = None

    def upload(self, path: Path, size: int, progress: Callable[[int], None] | None = None,
               *, deadline: float | None = None) -> int:
        """Write the first ``size`` bytes of ``path`` to the image; the reconnections needed."""
        done = reconnects = failures = 0
        self._deadline = deadline
        with open(path, "rb") as source:
            while done < size:
                self._in_time(f"{done} of {size} bytes written")
                length = min(CHUNK, size - done)
                source.seek(done)
                data = source.read(length)
                last = done + length >= size
                try:
                    self._put(data, done, size, flush=last)
                except (OSError, http.client.HTTPException) as exc:
                    failures += 1
                    self._retry_or_raise(exc, failures, done)
                    reconnects += 1
                    continue
                failures = 0
                done += length
                if progress is not None:
                    progress(done)
        return reconnects

    def sha256(self, size: int, *, deadline: float | None = None) -> str:
        """The sha256 of the image's first ``size`` bytes, read back from the daemon."""
        failures = 0
        self._deadline = deadline
        while True:
            digest, done = hashlib.sha256(), 0
            try:
                response = self._request("GET", None, {"Range": f"bytes=0-{size - 1}"})
                self._expect(response, (200, 206), "read back")
                while done < size:
                    self._in_time(f"{done} of {size} bytes read back")
                    block = response.read(min(READ_BLOCK, size - done))
                    if not block:
                        raise http.client.IncompleteRead(b"", size - done)
                    digest.update(block)
                    done += len(block)
                return digest.hexdigest()
            except (OSError, http.client.HTTPException) as exc:
                failures += 1
                self._retry_or_raise(exc, failures, done)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _put(self, data: bytes, offset: int, size: int, *, flush: bool) -> None:
        headers = {"Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{size}",
                   "Content-Type": "application/octet-stream"}
        query = "flush=y" if flush else "flush=n"
        response = self._request("PUT", data, headers, query)
        self._expect(response, (200, 201, 204), f"write at offset {offset}")
        response.read()

    def _request(self, method: str, body: bytes | None, headers: dict[str, str],
                 query: str | None = None) -> http.client.HTTPResponse:
        if self._connection is None:
            host, port = self._parts.hostname or "", self._parts.port
            if self._context is not None:
                self._connection = http.client.HTTPSConnection(
                    host, port, timeout=self._timeout, context=self._context)
            else:
                self._connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        if self._deadline is not None:  # a socket wait ends with the deadline at the latest
            left = max(0.1, min(self._timeout, self._deadline - time.monotonic()))
            self._connection.timeout = left
            if self._connection.sock is not None:
                self._connection.sock.settimeout(left)
        target = self._path + (("&" if "?" in self._path else "?") + query if query else "")
        self._connection.request(method, target, body=body, headers=headers)
        return self._connection.getresponse()

    def _expect(self, response: http.client.HTTPResponse, statuses: tuple[int, ...],
                what: str) -> None:
        if response.status in statuses:
            return
        text = response.read(2000).decode(errors="replace").strip()
        self.close()
        raise ImageioError(f"image daemon at {self._parts.netloc}: {what} refused: "
                           f"HTTP {response.status} {response.reason}" +
                           (f": {text}" if text else ""))

    def _in_time(self, state: str) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.close()
            raise ImageioError(f"image daemon at {self._parts.netloc}: time is up, {state}")

    def _retry_or_raise(self, exc: Exception, failures: int, offset: int) -> None:
        self.close()
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise ImageioError(f"image daemon at {self._parts.netloc}: TLS verification "
                               f"failed: {exc.verify_message} (is engine_ca_file the "
                               "engine's CA?)") from exc
        if failures > self._retries:
            raise ImageioError(f"image daemon at {self._parts.netloc}: connection broken "
                               f"{failures} times in a row at offset {offset}: {exc}") from exc
        delay = _RETRY_DELAYS[min(failures, len(_RETRY_DELAYS)) - 1]
        self._log(f"image transfer: connection broken at offset {offset} ({exc}); "
                  f"resuming in {delay:g}s (attempt {failures}/{self._retries})")
        if self._deadline is not None:
            delay = max(0.0, min(delay, self._deadline - time.monotonic()))
        self._sleep(delay)


def upload_checked(url: str, path: Path, sha256: str, size: int, *, ca_file: str | None,
                   insecure: bool, log: Callable[[str], None], deadline: float | None) -> int:
    """Upload ``path`` (``size`` bytes) to ``url``, then read it back; the reconnections needed.

    ImageioError when the image read back does not have the ``sha256`` of the file.
    """
    client = ImageioClient(url, ca_file=ca_file, insecure=insecure, log=log)
    try:
        log(f"uploading {path.name} ({size} bytes) to {url.split('/images/')[0]}")
        reconnects = client.upload(path, size, deadline=deadline)
        held = client.sha256(size, deadline=deadline)
    finally:
        client.close()
    if held != sha256:
        raise ImageioError(f"the uploaded image differs from {path}: sha256 {held} read back, "
                           f"{sha256} expected")
    return reconnects


def _tls_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def file_sha256(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of a local file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source:
        while block := source.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
