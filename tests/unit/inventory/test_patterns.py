from __future__ import annotations

import pytest

from opsrunner.errors import UsageError
from opsrunner.inventory.patterns import (
    MAX_NESTING,
    And,
    Limit,
    Name,
    Not,
    Or,
    match,
    parse_limit,
)

# host -> every group it belongs to (ancestors included), in inventory order
MEMBERSHIP = {
    "engine": {"engines"},
    "kvm01": {"kvm_rack1", "kvm"},
    "kvm02": {"kvm_rack1", "kvm", "db"},
    "kvm03": {"kvm_rack2", "kvm"},
    "web1": {"web"},
}
GROUPS = ["engines", "kvm", "kvm_rack1", "kvm_rack2", "db", "web", "empty"]


def select(text: str) -> list[str]:
    return match(parse_limit(text), MEMBERSHIP, GROUPS)


def error_of(text: str) -> str:
    with pytest.raises(UsageError) as caught:
        select(text)
    return str(caught.value)


class TestParse:
    def test_precedence_not_over_and_over_or(self) -> None:
        assert parse_limit("a | !b & c").root == Or((Name("a", 1), And((Not(Name("b", 6)),
                                                                         Name("c", 10)))))

    def test_parentheses(self) -> None:
        assert parse_limit("(a | b) & c").root == And((Or((Name("a", 2), Name("b", 6))),
                                                        Name("c", 11)))

    def test_comma_and_colon_are_one_union_with_bars(self) -> None:
        assert parse_limit("a,b:c|d") == Limit("a,b:c|d", Or((Name("a", 1), Name("b", 3),
                                                              Name("c", 5), Name("d", 7))))

    def test_a_run_of_negations_is_one_or_none(self) -> None:
        assert parse_limit("!!!a").root == Not(Name("a", 4))
        assert parse_limit("!!(a)").root == Name("a", 4)

    def test_glob_detection(self) -> None:
        assert Name("kvm*", 1).is_glob
        assert Name("kvm0[12]", 1).is_glob
        assert not Name("kvm01.example.com", 1).is_glob


class TestSelect:
    @pytest.mark.parametrize(("text", "expected"), [
        ("kvm01", ["kvm01"]),
        ("kvm", ["kvm01", "kvm02", "kvm03"]),
        ("all", ["engine", "kvm01", "kvm02", "kvm03", "web1"]),
        ("web1 | engine", ["engine", "web1"]),
        ("web1,engine", ["engine", "web1"]),
        ("web1:engine", ["engine", "web1"]),
        ("kvm & db", ["kvm02"]),
        ("kvm & !db", ["kvm01", "kvm03"]),
        ("!kvm", ["engine", "web1"]),
        ("!!web1", ["web1"]),
        ("web1 | kvm & kvm_rack2", ["kvm03", "web1"]),
        ("(web1 | kvm) & !kvm_rack1", ["kvm03", "web1"]),
        ("kvm0*", ["kvm01", "kvm02", "kvm03"]),
        ("kvm_rack*", ["kvm01", "kvm02", "kvm03"]),
        ("*rack2", ["kvm03"]),
        ("kvm0[13]", ["kvm01", "kvm03"]),
        ("nothing*", []),
        ("empty", []),
        ("  web1  ", ["web1"]),
    ])
    def test_selection_in_inventory_order(self, text: str, expected: list[str]) -> None:
        assert select(text) == expected

    def test_group_ancestry_counts(self) -> None:
        membership = {"h1": {"kvm_rack1", "kvm"}, "h2": {"other"}}
        assert match(parse_limit("kvm"), membership, ["kvm_rack1", "kvm", "other"]) == ["h1"]

    def test_glob_is_case_sensitive(self) -> None:
        assert select("KVM*") == []


class TestErrors:
    def test_unknown_name_with_suggestion(self) -> None:
        assert error_of("web1 | kvm02 & dbb") == (
            "host pattern 'web1 | kvm02 & dbb', column 16: no host or group is called 'dbb'; "
            "did you mean 'db'?")

    def test_unknown_name_case_hint(self) -> None:
        assert error_of("WEB1") == ("host pattern 'WEB1', column 1: no host or group is called "
                                    "'WEB1'; did you mean 'web1'?")

    def test_unknown_name_without_suggestion(self) -> None:
        assert error_of("zzzzzz") == ("host pattern 'zzzzzz', column 1: no host or group is "
                                      "called 'zzzzzz'")

    def test_unclosed_parenthesis(self) -> None:
        assert error_of("web1 & (kvm | db") == ("host pattern 'web1 & (kvm | db', column 8: "
                                                "'(' is never closed")

    def test_stray_closing_parenthesis(self) -> None:
        assert error_of("web1)") == "host pattern 'web1)', column 5: ')' without a matching '('"

    def test_missing_operand(self) -> None:
        assert error_of("web1 |") == ("host pattern 'web1 |', column 7: expected a host or group "
                                      "name, '!' or '(', found the end of the pattern")
        assert error_of("& web1") == ("host pattern '& web1', column 1: expected a host or group "
                                      "name, '!' or '(', found '&'")

    def test_missing_operator(self) -> None:
        assert error_of("web1 kvm") == ("host pattern 'web1 kvm', column 6: expected '|', '&', "
                                        "',' or ':' before 'kvm'")

    def test_empty_pattern(self) -> None:
        assert error_of("   ") == ("host pattern '   ', column 1: the pattern is empty; give host "
                                   "or group names, e.g. 'web1' or 'kvm*'")

    def test_ansible_intersection_hint(self) -> None:
        message = error_of("kvm:&db")
        assert message.startswith("host pattern 'kvm:&db', column 5: expected a host or group")
        assert message.endswith("(Ansible's ':&' and ':!' are written 'a & b' and 'a & !b' here)")

    def test_unknown_name_is_reported_even_under_negation(self) -> None:
        assert "column 8: no host or group is called 'nope'" in error_of("kvm & !nope")

MANY = {f"h{i}": {"even" if i % 2 == 0 else "odd"} for i in range(10_000)}


class TestScale:
    """Any number of terms; nesting is bounded with a message naming the column and the limit."""

    def hosts_for(self, text: str) -> list[str]:
        return match(parse_limit(text), MANY, ["even", "odd"])

    @pytest.mark.parametrize("operator", [" | ", " , ", ":"])
    def test_ten_thousand_unions(self, operator: str) -> None:
        assert self.hosts_for(operator.join(MANY)) == list(MANY)

    def test_ten_thousand_intersections(self) -> None:
        assert self.hosts_for(" & ".join(["even"] * 9_999 + ["h4"])) == ["h4"]
        assert self.hosts_for(" & ".join(MANY)) == []

    def test_ten_thousand_negations(self) -> None:
        assert self.hosts_for("!" * 10_000 + "h1") == ["h1"]
        assert len(self.hosts_for("!" * 9_999 + "h1")) == 9_999

    def test_ten_thousand_negated_terms(self) -> None:
        assert self.hosts_for(" & ".join(f"!{name}" for name in MANY)) == []

    def test_nesting_up_to_the_limit(self) -> None:
        text = "(" * MAX_NESTING + "h1" + ")" * MAX_NESTING
        assert self.hosts_for(text) == ["h1"]
        assert self.hosts_for("!(" * MAX_NESTING + "h1" + ")" * MAX_NESTING) == ["h1"]

    def test_deeper_nesting_is_refused_at_its_column(self) -> None:
        with pytest.raises(UsageError) as caught:
            parse_limit("(" * 330 + "h1" + ")" * 330)
        message = caught.value.message
        assert f"column {MAX_NESTING + 1}: parentheses nest deeper than {MAX_NESTING} " in message
        assert "(662 characters)" in message  # a long pattern is quoted as an excerpt
        assert len(message) < 250

    def test_an_unknown_name_in_a_long_pattern_is_quoted_around_its_column(self) -> None:
        text = " | ".join([*list(MANY)[:5000], "nope", *list(MANY)[5000:]])
        with pytest.raises(UsageError) as caught:
            self.hosts_for(text)
        column = text.index("nope") + 1
        assert f"column {column}: no host or group is called 'nope'" in caught.value.message
        assert "nope" in caught.value.message.split(", column")[0]

    def test_the_first_unknown_name_is_reported(self) -> None:
        assert "column 2: no host or group is called 'nope1'" in error_of("!nope1 & nope2")
