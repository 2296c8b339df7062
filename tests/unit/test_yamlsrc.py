from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from opsrunner import yamlsrc
from opsrunner.errors import InventoryError, Location, WorkflowError
from opsrunner.yamlsrc import MAX_DEPTH, MAX_NODES, Place, Positions, load_yaml, parse_yaml
from tests.unit.deadline import deadline


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
    assert str(info.value) == (f"{path}:2:11: workflow is not valid UTF-8 (byte 0xe9 at "
                               "offset 19)")


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


# --- nesting bound, core-tag values, special files (issue 16, classes 5, 7 and 11) ---

@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_a_located_error_naming_the_limit(opener: str, closer: str) -> None:
    text = "steps: " + opener * 500 + "1" + closer * 500 + "\n"
    column = 8 + len(opener) * (MAX_DEPTH - 1)  # the root mapping is level 1
    assert error_of(text) == (f"f.yml:1:{column}: lists and mappings nested more than "
                              f"{MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})")


def test_nesting_up_to_the_limit_is_accepted() -> None:
    data, _ = parse("[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    depth = 0
    while isinstance(data, list):
        data, depth = (data[0] if data else None), depth + 1
    assert depth == MAX_DEPTH


def test_nesting_built_through_aliases_is_bounded_too() -> None:
    half = MAX_DEPTH // 2 + 1
    text = f"a: &a {'[' * half}{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    assert "nested more than 100 levels deep" in error_of(text)


def test_merge_keys_that_merge_themselves_or_nest_deeply_are_refused() -> None:
    assert error_of("a: &a {<<: *a}\n") == (
        "f.yml:1:4: recursive alias (a value that contains itself)")
    chain = ["m0: &m0 {k: 0}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}}}" for i in range(1, 150)]
    assert "merge keys (<<) nested more than 100 levels deep" in error_of("\n".join(chain))
    assert error_of("a: {<<: 1}\n") == (
        "f.yml:1:9: a merge key (<<) takes a mapping or a list of mappings")


def test_a_list_of_merged_mappings_gives_the_first_listed_precedence() -> None:
    data, pos = parse("""\
        x: &x {k: x, only_x: 1}
        y: &y {k: y, only_y: 2}
        z: {<<: [*x, *y], own: 3}
        """)
    assert data["z"] == {"k": "x", "only_x": 1, "only_y": 2, "own": 3}
    assert pos.value(("z", "k")) == Location("f.yml", 1, 11)


@pytest.mark.parametrize(("value", "message"), [
    ("!!int x", "'x' is not an integer (!!int)"),
    ("!!float x", "'x' is not a number (!!float)"),
    ("!!bool maybe", "'maybe' is not a boolean (!!bool takes: true, false, yes, no, on, off)"),
    ("!!timestamp soon", "soon is not a date; expected YYYY-MM-DD (or a date and time)"),
    ("!!timestamp 2026-02-30", "2026-02-30 is not a date (day is out of range for month); "
                               "expected YYYY-MM-DD (or a date and time)"),
    ("!!binary '!!!'", "!!binary takes base64 text (A-Z, a-z, 0-9, +, / and = padding)"),
    ("!!null x", "!!null takes no value (or ~, null), got 'x'"),
    (f"!!int {'9' * 5000}", f"'{'9' * 5000}' is not an integer (!!int)"),
    ("!!str [a]", "tag !!str applies to a plain value, not to a list"),
    ("!!int {a: 1}", "tag !!int applies to a plain value, not to a mapping"),
    ("!!map [1]", "tag !!map applies to a mapping only"),
    ("!!seq {a: 1}", "tag !!seq applies to a list only"),
    ("!!seq x", "tag !!seq applies to a list only"),
    ("!!set x", "unsupported YAML tag 'tag:yaml.org,2002:set'"),
])
def test_a_value_its_core_tag_refuses_is_a_located_error(value: str, message: str) -> None:
    assert error_of(f"name: n\nwith:\n  cmd: {value}\n") == f"f.yml:3:8: {message}"


@pytest.mark.parametrize(("value", "expected"), [
    ("!!int 0x2a", 42), ("!!float 1", 1.0), ("!!bool Yes", True), ("!!null ~", None),
    ("!!null", None), ("!!binary aGk=", b"hi"), ("!!str 12", "12"),
])
def test_valid_core_tag_values_still_load(value: str, expected: object) -> None:
    data, _ = parse(f"a: {value}\n")
    assert data == {"a": expected}


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "w.yml"
    os.mkfifo(fifo)
    with deadline(), pytest.raises(WorkflowError) as info:
        load_yaml(fifo, kind="workflow")
    assert str(info.value) == f"{fifo}: workflow is not a regular file (a FIFO)"


def test_a_device_is_refused_before_any_read() -> None:
    with deadline(), pytest.raises(InventoryError) as info:
        load_yaml("/dev/zero", kind="inventory file", error=InventoryError)
    assert str(info.value) == "/dev/zero: inventory file is not a regular file (a character device)"


def test_a_file_over_the_yaml_limit_is_refused_at_once(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as fh:
        fh.write(b"name: big\n")
        fh.truncate(50 * 2**20)
    with deadline(5), pytest.raises(WorkflowError) as info:
        load_yaml(big, kind="workflow")
    assert str(info.value) == f"{big}: workflow is 50 MiB; workflows are limited to 8 MiB"


def test_the_billion_laughs_in_a_file_is_refused(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
              for i in range(8)]
    path = tmp_path / "vars.yml"
    path.write_text("\n".join(lines) + "\n")
    with deadline(), pytest.raises(WorkflowError) as info:
        load_yaml(path)
    assert f"document too large (more than {MAX_NODES} values after aliases)" in str(info.value)
    assert str(info.value).startswith(f"{path}:")


# --- the libyaml fast path reads as the pure-Python loader does ---

needs_libyaml = pytest.mark.skipif(yamlsrc._CParser is None, reason="PyYAML without libyaml")
REPO = Path(__file__).resolve().parents[2]
SHIPPED_YAML = sorted(p for folder in ("workflows", "inventory", "profiles", "examples")
                      for p in (REPO / folder).rglob("*.y*ml"))


def pure_python(monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[Any, Positions]:
    with monkeypatch.context() as patch:
        patch.setattr(yamlsrc, "_CParser", None)
        return parse_yaml(text, "f.yml", empty_ok=True)


@needs_libyaml
@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_file_reads_the_same_with_libyaml(path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text()
    assert parse_yaml(text, "f.yml", empty_ok=True) == pure_python(monkeypatch, text)


@needs_libyaml
def test_a_large_inventory_reads_the_same_with_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"host{i}:\n  hostname: 10.0.{i // 250}.{i % 250}\n  port: {2200 + i}\n"
                   f"  groups: [kvm_hosts, 'rack {i % 4}']\n  data: {{rack: {i % 40}, r: \"é\"}}\n"
                   for i in range(2000))
    assert yamlsrc._libyaml_agrees(text)
    assert parse_yaml(text, "f.yml") == pure_python(monkeypatch, text)


@pytest.mark.parametrize(("text", "message"), [
    ("a:\tb\n", "f.yml:1:3: YAML syntax error: found character '\\t' that cannot start any token"),
    ("k: {a: b?c}\n", "f.yml:1:9: YAML syntax error: expected ',' or '}', but got '?'"),
    ("a: [1\n", "f.yml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"),
])
def test_what_the_pure_python_loader_refuses_stays_refused_in_its_words(text: str,
                                                                        message: str) -> None:
    assert error_of(text).startswith(message)
