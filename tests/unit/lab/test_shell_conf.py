"""Shell-style conf files read as the oVirt tools source them."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.shell_conf import (
    ShellConfError,
    conf_dir_files,
    read_shell_conf,
    read_shell_confs,
)


def conf(tmp_path: Path, text: str, name: str = "10-setup-database.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_quotes_escapes_comments_and_export(tmp_path: Path) -> None:
    path = conf(tmp_path, "\n".join([
        "# written by engine-setup",
        "",
        'ENGINE_DB_HOST="127.0.80.2"',
        "ENGINE_DB_PORT=5432   # unquoted, with a comment",
        r'ENGINE_DB_PASSWORD="a\"b\$c\\d\e#f g"',
        "ENGINE_DB_USER='lit$eral \"x\"'",
        "export ENGINE_DB_DATABASE=eng'ine'\"db\"",
        "EMPTY=",
        "  INDENTED=yes",
    ]) + "\n")
    assert read_shell_conf(path) == {
        "ENGINE_DB_HOST": "127.0.80.2", "ENGINE_DB_PORT": "5432",
        "ENGINE_DB_PASSWORD": 'a"b$c\\d\\e#f g', "ENGINE_DB_USER": 'lit$eral "x"',
        "ENGINE_DB_DATABASE": "enginedb", "EMPTY": "", "INDENTED": "yes"}


def test_variables_expand_from_earlier_lines_and_files(tmp_path: Path) -> None:
    first = conf(tmp_path, 'HOST="db.example"\nPORT=5432\n', "10-a.conf")
    second = conf(tmp_path, 'URL="jdbc:postgresql://${HOST}:$PORT/x?$1${MISSING}"\n'
                            "SINGLE='${HOST}'\nLONE=cost$\n", "20-b.conf")
    values = read_shell_confs([first, second])
    assert values["URL"] == "jdbc:postgresql://db.example:5432/x?$1"
    assert values["SINGLE"] == "${HOST}"
    assert values["LONE"] == "cost$"


def test_later_files_win_in_sorted_order(tmp_path: Path) -> None:
    conf(tmp_path, 'PASSWORD="old"\nUSER="engine"\n', "10-setup-database.conf")
    conf(tmp_path, 'PASSWORD="new"\n', "20-rotated.conf")
    conf(tmp_path, 'PASSWORD="ignored"\n', "30-not-a-conf.conf.rpmsave")
    files = conf_dir_files(tmp_path)
    assert [p.name for p in files] == ["10-setup-database.conf", "20-rotated.conf"]
    assert read_shell_confs(files) == {"PASSWORD": "new", "USER": "engine"}
    assert conf_dir_files(tmp_path / "absent") == []


@pytest.mark.parametrize(("text", "message", "column"), [
    ('KEY="secret\n', "unterminated double quote", 12),
    ("KEY='secret\n", "unterminated single quote", 12),
    ("KEY=secret value\n", "unquoted whitespace in the value; quote it: KEY=\"...\"", 11),
    ("KEY=$(cat /etc/shadow)\n", "command substitution is not supported", 5),
    ("KEY=`id`\n", "command substitution is not supported", 5),
    ("KEY=${bad-name}\n", "expected ${NAME}", 5),
    ("KEY=secret\\\n", "a backslash at the end of the line (continuation lines are not "
                       "supported)", 11),
    ("  not an assignment\n", "expected KEY=value (a shell variable assignment)", 3),
])
def test_errors_say_where_and_never_show_the_value(tmp_path: Path, text: str, message: str,
                                                   column: int) -> None:
    path = conf(tmp_path, "# first line\n" + text)
    with pytest.raises(ShellConfError) as caught:
        read_shell_conf(path)
    assert str(caught.value) == f"{path}:2:{column}: {message}"
    assert "secret" not in str(caught.value).removeprefix(str(path))


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ShellConfError, match=r"missing\.conf: cannot read: No such file"):
        read_shell_conf(tmp_path / "missing.conf")
