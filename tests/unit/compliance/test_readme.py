"""The README's compliance section says what the olvm-baseline profile really holds."""

from __future__ import annotations

from pathlib import Path

from opsrunner.compliance.load import load_profile

REPOSITORY = Path(__file__).resolve().parents[3]
NONE = "\N{EN DASH}"  # an empty cell of the table


def test_the_readme_lists_every_control_of_olvm_baseline_as_it_is() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    profile = load_profile(REPOSITORY / "profiles/olvm-baseline")
    assert len(profile.controls) >= 20
    for control in profile.controls.values():
        params = ", ".join(f"`{k}` {v}" for k, v in control.params.items()) or NONE
        row = (f"| `{control.id}` | {control.impact} | {control.hosts.replace('|', chr(92) + '|')}"
               f" | {control.title} | {params} | {', '.join(control.tags) or NONE} |")
        assert row in readme, f"README row out of date for {control.id}:\n{row}"


def test_the_readme_example_control_is_the_profiles() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    text = (REPOSITORY / "profiles/olvm-baseline/controls/engine_tls.yml").read_text()
    start = text.index("- id: OLVM-TLS-003")
    example = text[start:text.index("\n\n", start)]
    assert example in readme
