from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.errors import InventoryError, Location, UsageError
from opsrunner.yamlpos import YamlList, YamlMap, load_yaml_file, load_yaml_text

TEXT = """\
top:
  key: value
  items:
    - one
    - {two: 2}
"""


def test_locations_of_keys_values_and_items() -> None:
    doc = load_yaml_text(TEXT, "f.yaml")
    assert isinstance(doc, YamlMap)
    assert doc.location == Location("f.yaml", 1, 1)
    top = doc["top"]
    assert isinstance(top, YamlMap)
    assert top.key_at("key") == Location("f.yaml", 2, 3)
    assert top.value_at("key") == Location("f.yaml", 2, 8)
    items = top["items"]
    assert isinstance(items, YamlList)
    assert items == ["one", {"two": 2}]
    assert items.item_at(0) == Location("f.yaml", 4, 7)
    assert items.item_at(1) == Location("f.yaml", 5, 7)
    assert items[1].value_at("two") == Location("f.yaml", 5, 13)


def test_unknown_key_falls_back_to_mapping_location() -> None:
    doc = load_yaml_text("a: 1\n", "f.yaml")
    assert doc.key_at("zz") == doc.value_at("zz") == Location("f.yaml", 1, 1)


def test_empty_document_is_none() -> None:
    assert load_yaml_text("", "f.yaml") is None
    assert load_yaml_text("# only a comment\n", "f.yaml") is None


def test_anchors_and_merge_keys_work() -> None:
    doc = load_yaml_text("base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2\n", "f.yaml")
    assert doc["more"] == {"x": 1, "y": 2}


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(InventoryError) as caught:
        load_yaml_text("a: 1\nb: 2\na: 3\n", "f.yaml", InventoryError)
    assert str(caught.value) == "f.yaml:3:1: invalid YAML: duplicate key 'a' (first at line 1)"


def test_syntax_error_has_location() -> None:
    with pytest.raises(UsageError) as caught:
        load_yaml_text("a: [1, 2\nb: 3\n", "f.yaml")
    assert caught.value.location is not None
    assert caught.value.location.file == "f.yaml"
    assert caught.value.location.line == 2
    assert str(caught.value).startswith("f.yaml:2:")
    assert "invalid YAML: expected ',' or ']'" in str(caught.value)


def test_unhashable_key_is_an_error() -> None:
    with pytest.raises(UsageError, match=r"f.yaml:1:3: invalid YAML: a mapping key must be"):
        load_yaml_text("? [a]\n: 1\n", "f.yaml")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read .*missing\.yaml: No such file"):
        load_yaml_file(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match=r"bin\.yaml is not UTF-8 text"):
        load_yaml_file(binary)


def test_file_location_uses_the_path(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("a:\n  b: 1\n")
    assert load_yaml_file(file)["a"].key_at("b") == Location(str(file), 2, 3)
