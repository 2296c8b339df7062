from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from opsrunner.errors import InventoryError, Location, WorkflowError
from opsrunner.yamlsrc import Place, Positions, load_yaml, parse_yaml


def parse(text: str) -> tuple[Any, Positions]:
    return parse_yaml(textwrap.dedent(text), "f.yml")


def error_of(text: str, kind: str = "YAML file") -> str:
    with pytest.raises(WorkflowError) as info:
        parse_yaml(textwrap.dedent(text), "f.yml", kind=kind)
    return str(info.value)


def test_values_are_plain_python_and_positions_follow_key_paths() -> None:
    data, pos = parse_yaml(textwrap.dedent("""\
        name: demo
        steps:
          - name: one
            with: {cmd: ls, rc: [0, 2]}
          - name: two
        """), "f.yml")
    assert data == {"name": "demo", "steps": [{"name": "one", "with": {"cmd": "ls", "rc": [0, 2]}},
                                              {"name": "two"}]}
    assert type(data) is dict and type(data["steps"]) is list
    assert pos.key(("name",)) == Location("f.yml", 1, 1)
    assert pos.value(("name",)) == Location("f.yml", 1, 7)
    assert pos.key(("steps", 1)) == Location("f.yml", 5, 5)
    assert pos.value(("steps", 0)) == Location("f.yml", 3, 5)
    assert pos.key(("steps", 0, "with", "cmd")) == Location("f.yml", 4, 12)
    assert pos.value(("steps", 0, "with", "cmd")) == Location("f.yml", 4, 17)
    assert pos.value(("steps", 0, "with", "rc", 1)) == Location("f.yml", 4, 29)
    assert pos.value(()) == Location("f.yml", 1, 1)


def test_unknown_path_falls_back_to_the_nearest_ancestor() -> None:
    _, pos = parse("a:\n  b: 1\n")
    assert pos.value(("a", "missing", 3)) == Location("f.yml", 2, 3)
    assert pos.key(("a", "missing")) == Location("f.yml", 1, 1)


def test_place_walks_key_paths_to_keys_values_and_items() -> None:
    data, pos = parse("""\
        top:
          key: value
          items:
            - one
            - {two: 2}
        """)
    top = Place(pos).child("top")
    assert Place(pos).value == Place(pos).key == Location("f.yml", 1, 1)
    assert top.child("key").key == Location("f.yml", 2, 3)
    assert top.child("key").value == Location("f.yml", 2, 8)
    items = top.child("items")
    assert data["top"]["items"] == ["one", {"two": 2}]
    assert items.child(0).key == items.child(0).value == Location("f.yml", 4, 7)
    assert items.child(1).value == Location("f.yml", 5, 7)
    assert items.child(1).child("two").value == Location("f.yml", 5, 13)
    assert top.child("zz").value == Location("f.yml", 2, 3)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n"])
def test_empty_document_is_none_when_allowed(text: str) -> None:
    data, pos = parse_yaml(text, "f.yml", empty_ok=True)
    assert data is None
    assert pos.file == "f.yml"


def test_empty_file_is_none_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    assert load_yaml(path, empty_ok=True)[0] is None


def test_duplicate_key_is_refused_at_the_second_key() -> None:
    message = error_of("""\
        name: a
        steps:
          - name: x
            name: y
        """)
    assert message == "f.yml:4:5: duplicate key 'name' (first at line 3, column 5)"


def test_syntax_error_has_the_parser_position_and_problem() -> None:
    message = error_of("a: 1\nb: [1, 2\nc: 3\n")
    assert message.startswith("f.yml:3:2: YAML syntax error: ")
    assert "while parsing a flow sequence started at line 2, column 4" in message


def test_tab_indentation_is_a_syntax_error_at_the_tab() -> None:
    assert error_of("a:\n\tb: 1\n") == ("f.yml:2:1: YAML syntax error: found character '\\t' "
                                        "that cannot start any token "
                                        "(while scanning for the next token)")


def test_control_character_is_located() -> None:
    assert error_of("é: x\x07\n") == "f.yml:1:5: YAML syntax error: character 0x07 is not allowed"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n", "---\n"])
def test_empty_document_is_an_error(text: str) -> None:
    assert error_of(text, kind="workflow").endswith("empty workflow")


def test_second_document_is_refused() -> None:
    assert error_of("a: 1\n---\nb: 2\n", kind="workflow") == (
        "f.yml:2:1: a workflow holds a single YAML document; found a second one")


def test_unsupported_tags_are_refused() -> None:
    assert error_of("a: !vault abc\n") == "f.yml:1:4: unsupported YAML tag '!vault'"
    assert error_of("a: !!python/object:os.system x\n").startswith(
        "f.yml:1:4: unsupported YAML tag 'tag:yaml.org,2002:python/object")
    assert error_of("a: !!set {x, y}\n") == (
        "f.yml:1:4: unsupported YAML tag 'tag:yaml.org,2002:set'")


def test_complex_key_is_refused() -> None:
    assert error_of("? [1, 2]\n: x\n") == (
        "f.yml:1:3: a mapping key must be a plain value, not a mapping or list")


def test_aliases_and_merge_keys_resolve_and_explicit_keys_win() -> None:
    data, pos = parse("""\
        base: &base {retries: 1, delay: 5}
        step:
          <<: *base
          delay: 9
        """)
    assert data["step"] == {"retries": 1, "delay": 9}
    assert pos.value(("step", "delay")) == Location("f.yml", 4, 10)
    assert pos.value(("step", "retries")) == Location("f.yml", 1, 23)


def test_recursive_alias_is_refused() -> None:
    assert error_of("a: &x [1, *x]\n") == (
        "f.yml:1:4: recursive alias (a value that contains itself)")


def test_alias_expansion_bomb_is_refused() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 8)]
    assert "document too large" in error_of("\n".join(lines) + "\n")


def test_load_yaml_reads_a_file_and_strips_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_bytes("\ufeffname: ok\n".encode())
    data, pos = load_yaml(path)
    assert data == {"name": "ok"}
    assert pos.value(("name",)) == Location(str(path), 1, 7)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(WorkflowError) as info:
        load_yaml(path, kind="workflow")
    assert str(info.value) == f"{path}: cannot read workflow: No such file or directory"


def test_non_utf8_file_is_located_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_bytes(b"name: ok\nhosts: caf\xe9\n")
    with pytest.raises(WorkflowError) as info:
        load_yaml(path, kind="workflow")
    assert str(info.value) == f"{path}:2:11: workflow is not valid UTF-8 (byte 0xe9)"


def test_error_class_is_chosen_by_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("a: 1\na: 2\n")
    with pytest.raises(InventoryError) as info:
        load_yaml(path, error=InventoryError)
    assert info.value.location == Location(str(path), 2, 1)


def test_inventory_file_duplicate_key_names_both_positions(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("a:\nb:\na:\n")
    with pytest.raises(InventoryError) as info:
        load_yaml(path, kind="inventory file", error=InventoryError, empty_ok=True)
    assert str(info.value) == f"{path}:3:1: duplicate key 'a' (first at line 1, column 1)"


def test_second_document_names_the_kind() -> None:
    with pytest.raises(WorkflowError) as info:
        parse_yaml("a: 1\n---\nb: 2\n", "f.yml", kind="inventory file")
    assert str(info.value) == ("f.yml:2:1: an inventory file holds a single YAML document; "
                               "found a second one")


def test_a_date_that_does_not_exist_is_a_located_error_not_a_crash():
    import pytest

    from opsrunner.errors import WorkflowError
    from opsrunner.yamlsrc import parse_yaml

    with pytest.raises(WorkflowError) as info:
        parse_yaml("name: n\nfreeze: 2026-13-01\n", "wf.yml")
    assert str(info.value.location) == "wf.yml:2:9"
    assert "2026-13-01 is not a date (month must be in 1..12); expected YYYY-MM-DD" in \
        str(info.value)
