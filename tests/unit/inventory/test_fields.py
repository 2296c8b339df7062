from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.errors import InventoryError, Location
from opsrunner.inventory import fields as check
from opsrunner.yamlsrc import Place, parse_yaml

HERE = Location("f.yaml", 2, 5)


def test_unknown_key_suggests_and_lists() -> None:
    with pytest.raises(InventoryError) as caught:
        check.unknown_key("host 'a'", "field", "prot", ["port", "sudo"], HERE)
    assert str(caught.value) == ("f.yaml:2:5: host 'a': unknown field 'prot'; did you mean "
                                 "'port'? (allowed: port, sudo)")


def test_unknown_key_without_close_match() -> None:
    with pytest.raises(InventoryError) as caught:
        check.unknown_key("w", "key", "zzz", ["hosts", "vars"], HERE)
    assert str(caught.value) == "f.yaml:2:5: w: unknown key 'zzz' (allowed: hosts, vars)"


def test_mapping_accepts_none_as_empty() -> None:
    empty = check.mapping(None, "w", HERE)
    assert empty == {}


def test_port_and_boolean() -> None:
    assert check.port(65535, "w", HERE) == 65535
    assert check.boolean(False, "w", HERE) is False
    with pytest.raises(InventoryError, match="got int 0"):
        check.port(0, "w", HERE)
    with pytest.raises(InventoryError, match="must be true or false, got int 1"):
        check.boolean(1, "w", HERE)


def test_names_keep_item_locations() -> None:
    doc, positions = parse_yaml("groups: [a, b]\n", "f.yaml")
    groups = Place(positions, ("groups",))
    assert check.names(doc["groups"], "w", groups) == [("a", Location("f.yaml", 1, 10)),
                                                      ("b", Location("f.yaml", 1, 13))]


def test_path(tmp_path: Path) -> None:
    assert check.path("k/id", tmp_path, "w", HERE) == str(tmp_path / "k" / "id")
    assert check.path("/abs", tmp_path, "w", HERE) == "/abs"


def test_resolve_vars_reads_nested_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_TOKEN", "tok-123")
    doc, positions = parse_yaml("a: {b: [1, {secret_env: OPS_TEST_TOKEN}]}\nc: x\n", "f.yaml")
    secrets: set[str] = set()
    resolved = check.resolve_vars(doc, Path("/"), "w", Place(positions), secrets)
    assert resolved == {"a": {"b": [1, "tok-123"]}, "c": "x"}
    assert type(resolved["a"]) is dict
    assert type(resolved["a"]["b"]) is list
    assert secrets == {"tok-123"}


def test_resolve_vars_error_names_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_TEST_TOKEN", raising=False)
    doc, positions = parse_yaml("a:\n  b: [1, {secret_env: OPS_TEST_TOKEN}]\n", "f.yaml")
    with pytest.raises(InventoryError) as caught:
        check.resolve_vars(doc, Path("/"), "host 'h', data", Place(positions), set())
    assert str(caught.value) == ("f.yaml:2:10: host 'h', data.a.b[1]: environment variable "
                                 "OPS_TEST_TOKEN is not set")
