"""The engine's SSO as the REST API uses it: password grant, bearer tokens, logout.

``POST /ovirt-engine/sso/oauth/token`` answers JSON: ``{access_token, scope, exp, token_type}``,
or HTTP 400 with ``{error_code, error}`` (the engine's form for the ``ovirt-app-api`` scope).
Tokens live in memory only (a restart of the engine drops them, as on the real engine) and
expire after ``ttl`` seconds without use; an expired token gets a 401 from the API, which makes
the SDK log in again. Passwords come from the lab's secret files, never from argv.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsrunner_lab.pki import write_pem

DEFAULT_TOKEN_TTL = 30 * 60.0  # the engine's default session timeout: 30 minutes
PROFILES = frozenset({"internal"})
API_SCOPE = "ovirt-app-api ovirt-ext=token-info:validate"
_FAILED = "Unable to log in. Verify your login information or contact the system administrator."


def ensure_admin_password(path: Path) -> str:
    """The admin password kept in ``path`` (mode 0600), generated when the file is missing."""
    if not path.exists():
        write_pem(path, (secrets.token_urlsafe(18) + "\n").encode(), 0o600)
    text = path.read_text()
    return text[:-1] if text.endswith("\n") else text


@dataclass
class Session:
    """One SSO session: ``login`` (``admin@internal``), its token and when it expires."""

    login: str
    token: str
    session_id: str
    expires: float


class SsoError(Exception):
    """A refused SSO request: ``code`` (``access_denied``...) and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def document(self) -> dict[str, str]:
        return {"error_code": self.code, "error": self.message}


class Sso:
    """Password checks and tokens.

    :param passwords: login (``user@profile``) -> password.
    :param ttl: seconds a token stays valid without use.
    :param clock: monotonic seconds.
    """

    def __init__(self, passwords: Mapping[str, str], ttl: float = DEFAULT_TOKEN_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._passwords = dict(passwords)
        self.ttl = ttl
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def authenticate(self, login: str, password: str) -> None:
        """Check a login; SsoError(access_denied) with the engine's message if refused."""
        user, _, profile = login.rpartition("@")
        if not user:
            raise SsoError("access_denied", "No profile found in credentials.")
        if profile not in PROFILES:
            raise SsoError("access_denied", "No valid profile found in credentials.")
        expected = self._passwords.get(login)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise SsoError("access_denied", f"Cannot authenticate user '{login}': {_FAILED}.")

    def login(self, form: Mapping[str, str]) -> Session:
        """A new session for a token request's form; SsoError as the engine refuses it."""
        grant = form.get("grant_type")
        if grant is None:
            raise SsoError("invalid_request", "Missing parameter: 'grant_type'")
        if grant != "password":
            raise SsoError("unsupported_grant_type", "The authorization grant type is not "
                                                     "supported by the authorization server.")
        for name in ("username", "password"):
            if name not in form:
                raise SsoError("invalid_request", f"Missing parameter: '{name}'")
        self.authenticate(form["username"], form["password"])
        session = Session(form["username"], secrets.token_urlsafe(64),
                          secrets.token_urlsafe(16), self._clock() + self.ttl)
        with self._lock:
            self._sessions[session.token] = session
        return session

    def token_document(self, session: Session) -> dict[str, str]:
        """The JSON answer of a successful token request."""
        expires_ms = int((time.time() + self.ttl) * 1000)
        return {"access_token": session.token, "scope": API_SCOPE, "exp": str(expires_ms),
                "token_type": "bearer"}

    def session(self, token: str) -> Session | None:
        """The live session of a bearer token (its idle time restarts), or None."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now >= session.expires:
                del self._sessions[token]
                return None
            session.expires = now + self.ttl
            return session

    def logout(self, token: str) -> Session | None:
        """Revoke a token; the session it ended, if any."""
        with self._lock:
            return self._sessions.pop(token, None)
