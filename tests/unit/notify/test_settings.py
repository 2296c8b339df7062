"""notify.yaml: the email section, its defaults, and every refusal with file:line:column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner.errors import UsageError
from opsrunner.notify.settings import (
    EMAIL_KEYS,
    EmailSettings,
    find_notify_file,
    is_loopback,
    load_notify,
)

PASSWORD = "Sm7p-pa55w0rd!"


def write(folder: Path, text: str, name: str = "notify.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(UsageError) as caught:
        load_notify(path)
    assert PASSWORD not in str(caught.value)
    return str(caught.value).splitlines()


@pytest.fixture
def smtp_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPSRUNNER_SMTP_PASSWORD", PASSWORD)
    return PASSWORD


FULL = """\
email:
  server: smtp.example.com
  port: 2587
  encryption: starttls
  user: opsrunner@example.com
  password: {secret_env: OPSRUNNER_SMTP_PASSWORD}
  from: opsrunner@example.com
  to: [olvm-admins@example.com, oncall@example.com]
  html: true
  when: always
  timeout: 2m
"""


class TestValid:
    def test_every_key(self, tmp_path: Path, smtp_password: str) -> None:
        settings = load_notify(write(tmp_path, FULL))
        assert settings.file == tmp_path / "notify.yaml"
        assert settings.email == EmailSettings(
            server="smtp.example.com", port=2587, sender="opsrunner@example.com",
            to=("olvm-admins@example.com", "oncall@example.com"), encryption="starttls",
            user="opsrunner@example.com", password=smtp_password, html=True, when="always",
            timeout=120.0)

    def test_the_password_is_not_in_the_repr(self, tmp_path: Path, smtp_password: str) -> None:
        settings = load_notify(write(tmp_path, FULL))
        assert settings.email.password == smtp_password
        assert smtp_password not in repr(settings)

    def test_defaults(self, tmp_path: Path) -> None:
        email = load_notify(write(tmp_path, """\
            email:
              server: smtp.example.com
              from: opsrunner@example.com
              to: olvm-admins@example.com
            """)).email
        assert (email.port, email.encryption, email.when, email.html, email.timeout) == (
            587, "starttls", "problems", False, 30.0)
        assert email.to == ("olvm-admins@example.com",)
        assert email.user is None and email.password is None and email.ca_file is None

    @pytest.mark.parametrize(("encryption", "port"), [("ssl", 465), ("starttls", 587)])
    def test_the_default_port_follows_the_encryption(self, tmp_path: Path, encryption: str,
                                                     port: int) -> None:
        email = load_notify(write(tmp_path, f"""\
            email: {{server: smtp.example.com, encryption: {encryption},
                    from: a@example.com, to: b@example.com}}
            """)).email
        assert email.port == port

    def test_none_to_this_machine(self, tmp_path: Path) -> None:
        email = load_notify(write(tmp_path, """\
            email: {server: 127.0.0.1, encryption: none, from: a@example.com, to: b@example.com}
            """)).email
        assert (email.encryption, email.port) == ("none", 25)

    def test_password_from_a_file_beside_the_settings(self, tmp_path: Path) -> None:
        secret = tmp_path / "secrets" / "smtp"
        secret.parent.mkdir()
        secret.write_text(PASSWORD + "\n")
        secret.chmod(0o600)
        email = load_notify(write(tmp_path, """\
            email:
              server: smtp.example.com
              user: opsrunner
              password: {secret_file: secrets/smtp}
              from: a@example.com
              to: b@example.com
            """)).email
        assert email.password == PASSWORD

    def test_ca_file_relative_to_the_settings(self, tmp_path: Path) -> None:
        from opsrunner_lab.pki import LabCA

        ca = LabCA(tmp_path / "pki").ensure()
        email = load_notify(write(tmp_path, """\
            email: {server: smtp.example.com, from: a@example.com, to: b@example.com,
                    ca_file: pki/ca.pem}
            """)).email
        assert email.ca_file == ca.cert_path

    @pytest.mark.parametrize(("value", "seconds"), [("45", 45.0), ("90s", 90.0), ("1.5", 1.5)])
    def test_timeout_forms(self, tmp_path: Path, value: str, seconds: float) -> None:
        email = load_notify(write(tmp_path, f"""\
            email: {{server: s.example.com, from: a@example.com, to: b@example.com,
                    timeout: {value}}}
            """)).email
        assert email.timeout == seconds


class TestRefused:
    def test_a_literal_password(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"""\
            email:
              server: smtp.example.com
              user: opsrunner
              password: {PASSWORD}
              from: a@example.com
              to: b@example.com
            """)
        (line,) = problems(path)
        assert line.startswith(f"{path}:4:13: 'password' must be a secret reference "
                               "{secret_env: NAME} or {secret_file: PATH}")
        assert "refused" in line

    def test_a_missing_secret_names_the_variable_not_a_value(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OPSRUNNER_SMTP_PASSWORD", raising=False)
        path = write(tmp_path, FULL)
        (line,) = problems(path)
        assert line == (f"{path}:6:13: email password: environment variable "
                        "OPSRUNNER_SMTP_PASSWORD is not set")

    def test_a_secret_file_readable_by_others(self, tmp_path: Path) -> None:
        secret = tmp_path / "smtp"
        secret.write_text(PASSWORD)
        secret.chmod(0o644)
        path = write(tmp_path, """\
            email: {server: s.example.com, user: u, password: {secret_file: smtp},
                    from: a@example.com, to: b@example.com}
            """)
        (line,) = problems(path)
        assert "readable by others" in line and line.startswith(f"{path}:1:")

    def test_user_without_password_and_password_without_user(self, tmp_path: Path,
                                                             smtp_password: str) -> None:
        path = write(tmp_path, """\
            email:
              server: s.example.com
              user: opsrunner
              from: a@example.com
              to: b@example.com
            """)
        assert problems(path) == [f"{path}:3:9: email: 'user' needs a 'password' "
                                  "({secret_env: NAME} or {secret_file: PATH})"]
        path = write(tmp_path, """\
            email:
              server: s.example.com
              password: {secret_env: OPSRUNNER_SMTP_PASSWORD}
              from: a@example.com
              to: b@example.com
            """)
        assert problems(path) == [f"{path}:3:13: email: 'password' is only used with 'user' "
                                  "(the login name)"]

    def test_unknown_keys_name_the_allowed_ones(self, tmp_path: Path) -> None:
        path = write(tmp_path, """\
            email:
              sever: smtp.example.com
              MAIL_FROM: a@example.com
              to: b@example.com
            extra: 1
            """)
        lines = problems(path)
        allowed = ", ".join(EMAIL_KEYS)
        assert lines == [
            f"{path}:1:1: email: missing required key 'server'",
            f"{path}:1:1: email: missing required key 'from'",
            f"{path}:2:3: unknown key 'sever' in email; did you mean 'server'? "
            f"(allowed: {allowed})",
            f"{path}:3:3: unknown key 'MAIL_FROM' in email; the engine notifier's MAIL_FROM is "
            f"'from' here (allowed: {allowed})",
            f"{path}:5:1: unknown key 'extra' in the notification settings (allowed: email)",
        ]

    def test_every_wrong_value_at_once(self, tmp_path: Path) -> None:
        path = write(tmp_path, """\
            email:
              server: smtp.example.com
              port: 70000
              encryption: tls
              from: not-an-address
              to: [ok@example.com, "Admins <a@example.com>"]
              ca_file: missing.pem
              html: maybe
              when: sometimes
              timeout: 0
            """)
        lines = problems(path)
        assert [line.split(": ", 1)[0] for line in lines] == [
            f"{path}:3:9", f"{path}:4:15", f"{path}:5:9", f"{path}:6:24", f"{path}:7:12",
            f"{path}:8:9", f"{path}:9:9", f"{path}:10:12"]
        text = "\n".join(lines)
        assert "'port' must be a port number from 1 to 65535, got int 70000" in text
        assert ("'encryption' must be one of 'starttls', 'ssl', 'none' (default 'starttls'), "
                "got str 'tls'; the engine notifier's tls is starttls here") in text
        assert "'from' must be an e-mail address (name@example.com)" in text
        assert f"ca_file {tmp_path / 'missing.pem'} does not exist" in text
        assert "'when' must be one of 'problems', 'always'" in text
        assert "'timeout' must be a duration above zero" in text

    def test_none_to_another_machine(self, tmp_path: Path) -> None:
        path = write(tmp_path, """\
            email:
              server: smtp.example.com
              encryption: none
              from: a@example.com
              to: b@example.com
            """)
        (line,) = problems(path)
        assert line.startswith(f"{path}:3:15: encryption: none (plain text) is only allowed to "
                               "a server on this machine")
        assert "'smtp.example.com'" in line

    def test_a_ca_file_without_certificates(self, tmp_path: Path) -> None:
        (tmp_path / "ca.pem").write_text("not a certificate\n")
        path = write(tmp_path, """\
            email: {server: s.example.com, from: a@example.com, to: b@example.com,
                    ca_file: ca.pem}
            """)
        (line,) = problems(path)
        assert "holds no usable CA certificate" in line

    def test_no_email_section(self, tmp_path: Path) -> None:
        path = write(tmp_path, "{}\n")
        assert problems(path) == [f"{path}:1:1: missing required key 'email' (allowed: email)"]
        path = write(tmp_path, "email: smtp.example.com\n")
        (line,) = problems(path)
        assert line.startswith(f"{path}:1:8: email must be a mapping with keys: server, port")

    def test_syntax_errors_and_empty_files(self, tmp_path: Path) -> None:
        path = write(tmp_path, "email:\n  server: [unclosed\n")
        (line,) = problems(path)
        assert line.startswith(f"{path}:") and "YAML syntax error" in line
        path = write(tmp_path, "")
        assert problems(path) == [f"{path}:1:1: empty notification settings file"]

    def test_a_missing_file(self, tmp_path: Path) -> None:
        (line,) = problems(tmp_path / "nope.yaml")
        assert "cannot read notification settings file" in line

    def test_the_error_points_at_the_first_problem(self, tmp_path: Path) -> None:
        path = write(tmp_path, "email: {server: s.example.com, html: 1, when: 2}\n")
        with pytest.raises(UsageError) as caught:
            load_notify(path)
        assert caught.value.location is not None
        assert (caught.value.location.line, caught.value.location.column) == (1, 1)
        assert str(caught.value).splitlines()[0].startswith(f"{path}:1:1: email: missing")


class TestFindNotifyFile:
    def test_the_option_wins_even_when_missing(self, tmp_path: Path) -> None:
        write(tmp_path, FULL)
        assert find_notify_file(str(tmp_path), "other.yaml") == Path("other.yaml")

    def test_in_the_inventory_folder(self, tmp_path: Path) -> None:
        assert find_notify_file(str(tmp_path), None) is None
        path = write(tmp_path, FULL)
        assert find_notify_file(str(tmp_path), None) == path

    def test_beside_an_inventory_file(self, tmp_path: Path) -> None:
        inventory = write(tmp_path, "all: {hosts: {}}\n", name="prod.yml")
        assert find_notify_file(str(inventory), None) is None
        path = write(tmp_path, FULL)
        assert find_notify_file(str(inventory), None) == path

    def test_no_inventory(self) -> None:
        assert find_notify_file(None, None) is None


@pytest.mark.parametrize(("server", "loopback"), [
    ("localhost", True), ("LOCALHOST.", True), ("mail.localhost", True), ("127.0.0.1", True),
    ("127.3.4.5", True), ("::1", True), ("[::1]", True), ("10.0.0.1", False),
    ("smtp.example.com", False), ("localhost.example.com", False), ("128.0.0.1", False)])
def test_is_loopback(server: str, loopback: bool) -> None:
    assert is_loopback(server) is loopback
