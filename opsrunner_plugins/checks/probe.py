"""Wait for a TCP port or an HTTP(S) URL to answer (or to stop answering).

Standard library only. ``wait_for`` runs it in-process on the control node, or sends this
file's source to ``python3 -`` on the host, so that loopback means the host's loopback.
OLVM hosts may have Python 3.6: keep this file valid Python 3.6 (no ``__future__``
annotations, no ``X | Y`` at runtime: annotations stay in quotes).
"""

import json
import socket
import ssl
import time
import urllib.error
import urllib.request


def probe_port(host: "str", port: "int", timeout: "float") -> "tuple[bool, bool, str]":
    """(answered, wanted, detail) for one TCP connection attempt."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, True, "connection accepted"
    except OSError as exc:
        return False, False, str(exc) or type(exc).__name__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer instead of following it."""

    def redirect_request(self, *args: "object", **kwargs: "object") -> None:
        return None


def probe_url(url: "str", timeout: "float", cadata: "str | None",
              status: "list[int] | None") -> "tuple[bool, bool, str]":
    """(answered, wanted, detail) for one GET; wanted: status in ``status`` (None: any)."""
    context = ssl.create_default_context(cadata=cadata) if cadata else ssl.create_default_context()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context),
                                         _NoRedirect())
    try:
        with opener.open(url, timeout=timeout) as response:
            code = int(response.status)
    except urllib.error.HTTPError as exc:
        code = int(exc.code)
        exc.close()
    except urllib.error.URLError as exc:
        return False, False, str(exc.reason)
    except (OSError, ValueError) as exc:
        return False, False, str(exc) or type(exc).__name__
    return True, status is None or code in status, f"HTTP {code}"


def wait(host: "str", port: "int | None", url: "str | None", cadata: "str | None",
         status: "list[int] | None", state: "str", timeout: "float", delay: "float",
         sleep: "float") -> "dict[str, object]":
    """Probe until the wanted state or the timeout; return {"ok", "detail", "elapsed"}.

    Probes ``url`` when given, else ``host``:``port``. state "started": it answers as
    wanted; "stopped": it does not answer. The timeout counts from the start, delay included.
    """
    start = time.monotonic()
    deadline = start + timeout
    time.sleep(max(0.0, min(delay, timeout)))
    while True:
        attempt = max(0.1, min(5.0, deadline - time.monotonic()))
        if url:
            answered, wanted, detail = probe_url(url, attempt, cadata, status)
        else:
            answered, wanted, detail = probe_port(host, int(port or 0), attempt)
        ok = wanted if state == "started" else not answered
        now = time.monotonic()
        if ok or now >= deadline:
            return {"ok": ok, "detail": detail, "elapsed": round(now - start, 3)}
        time.sleep(max(0.0, min(sleep, deadline - now)))


def script(arguments: "dict[str, object]") -> "str":
    """Python source that runs :func:`wait` with ``arguments`` and prints its JSON result."""
    with open(__file__, encoding="utf-8") as fh:
        source = fh.read()
    call = f"\nprint(json.dumps(wait(**json.loads({json.dumps(arguments)!r}))))\n"
    return source + call
