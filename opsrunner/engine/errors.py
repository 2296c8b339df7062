"""Errors of engine API calls: SDK exceptions turned into task failures in the engine's words.

A refused operation reads ``<what>: <reason>: <detail> (HTTP <code>)``, e.g.
``deactivate host kvm1: Operation Failed: [Cannot switch Host kvm1 to Maintenance mode.
...] (HTTP 409)``. The SDK is imported only once an exception is being translated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opsrunner.errors import EngineError


def sdk_error_message(exc: Exception, what: str, url: str, user: str) -> str | None:
    """The message for an ovirtsdk4 exception raised while doing ``what``; None otherwise."""
    import ovirtsdk4 as sdk

    if not isinstance(exc, sdk.Error):
        return None
    text = str(exc).strip().rstrip(".")
    fault = getattr(exc, "fault", None)
    code = getattr(exc, "code", None)
    status = f" (HTTP {code})" if code else ""
    if fault is not None and (fault.reason or fault.detail):
        words = ": ".join(str(part) for part in (fault.reason, fault.detail) if part)
        return f"{what}: {words}{status}"
    if isinstance(exc, sdk.AuthError):
        if code:
            return f"{what}: the engine refused the request of {user}{status}"
        return f"engine login as {user} at {url} failed: {text}"
    if isinstance(exc, sdk.NotFoundError):
        return f"{what}: not found{status}"
    if isinstance(exc, sdk.ConnectionError):
        return f"{what}: cannot reach the engine at {url}: {_curl_words(text)}"
    if isinstance(exc, sdk.TimeoutError):
        return f"{what}: the engine at {url} did not answer in time: {_curl_words(text)}"
    if "SSL" in text or "certificate" in text:
        return (f"{what}: TLS with the engine at {url} failed: {_curl_words(text)} "
                "(is engine_ca_file the engine's CA?)")
    return f"{what}: {text}{status}"


def _curl_words(text: str) -> str:
    """``Error while sending HTTP request: (7, 'Failed ...')`` -> ``Failed ...``."""
    prefix = "Error while sending HTTP request: "
    if text.startswith(prefix):
        inner = text[len(prefix):].strip()
        if inner.startswith("(") and inner.endswith(")") and ", " in inner:
            return inner[1:-1].split(", ", 1)[1].strip("'\"")
        return inner
    return text


@contextlib.contextmanager
def engine_errors(what: str, url: str, user: str) -> Iterator[None]:
    """Turn an SDK exception raised inside the block into :class:`EngineError`."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        message = sdk_error_message(exc, what, url, user)
        if message is None:
            raise
        raise EngineError(message) from exc
