"""The JSON report: its content, and that it is what the shipped JSON Schema says."""

from __future__ import annotations

import io
import json
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from opsrunner.compliance import json_report
from opsrunner.compliance.json_report import SCHEMA, schema, to_json, write_json
from opsrunner.compliance.model import STATUSES
from tests.unit.compliance.sample import (
    BASELINE_RUN,
    EXPIRED_JUSTIFICATION,
    HOSTS,
    IN_FORCE_JUSTIFICATION,
    RUN_ID,
    SSH_RUN,
    passing_report,
    sample_report,
)


def _validate(document: dict[str, Any]) -> None:
    Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
                         ).validate(document)


def _control(document: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in document["controls"] if c["id"] == cid)


def _result(document: dict[str, Any], cid: str, host: str) -> dict[str, Any]:
    return next(r for r in _control(document, cid)["results"] if r["host"] == host)


def test_the_schema_ships_with_the_package_and_is_a_valid_2020_12_schema():
    assert files("opsrunner.compliance").joinpath("compliance-1.schema.json").is_file()
    loaded = schema()
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(loaded)
    assert loaded["properties"]["schema"] == {"const": SCHEMA}
    assert loaded["$defs"]["status"] == {"enum": list(STATUSES)}


def test_a_report_with_every_status_a_waiver_and_a_drift_validates():
    report = sample_report()
    assert {r.status for r in report.results} == set(STATUSES)
    document = to_json(report)
    _validate(document)
    assert document["schema"] == "opsrunner.compliance/1"
    assert (document["run_id"], document["hosts"], document["accepted"]) == (RUN_ID, HOSTS, False)
    assert document["profile"] == {"name": "olvm-baseline",
                                   "title": report.profile.title}
    assert document["started"] == "2026-03-02T08:15:00Z" and document["limit"] is None


def test_a_passing_report_and_one_without_a_baseline_validate():
    passing = to_json(passing_report())
    _validate(passing)
    assert passing["summary"]["exit_code"] == 0 and passing["summary"]["verdict"] == "PASS"
    assert passing["drift"] == {"baseline_run": BASELINE_RUN, "accepted": "2026-02-15T08:31:07Z",
                                "statuses": [], "evidence": []}
    report = sample_report()
    report.drift, report.limit = None, "kvm:!kvm03"
    document = to_json(report)
    _validate(document)
    assert document["drift"] is None and document["limit"] == "kvm:!kvm03"


def test_the_summary_counts_results_and_failing_controls_per_band():
    summary = to_json(sample_report())["summary"]
    assert summary["counts"] == {"passed": 8, "failed": 2, "waived": 1, "skipped": 1,
                                 "error": 1}
    # critical: OLVM-TLS-001 failed, OLVM-PKI-003 error; high: OLVM-SSH-002 failed on kvm02
    assert summary["failing_by_impact"] == {"critical": 2, "high": 1, "medium": 0, "low": 0}
    assert (summary["exit_code"], summary["verdict"]) == (2, "FAIL")


def test_controls_are_in_profile_order_with_their_metadata_and_results_in_host_order():
    document = to_json(sample_report())
    assert [c["id"] for c in document["controls"]] == [
        "OLVM-TLS-001", "OLVM-SSH-002", "OLVM-PKI-003", "OLVM-DB-004", "OLVM-NTP-005",
        "OLVM-GA-006"]
    tls = _control(document, "OLVM-TLS-001")
    assert (tls["impact"], tls["impact_band"], tls["hosts"], tls["tags"]) == (
        0.7, "critical", "engines", ["hsts"])
    assert tls["section"].startswith("Administration Tasks >") and tls["rationale"]
    assert [r["host"] for r in _control(document, "OLVM-NTP-005")["results"]] == HOSTS
    failed = _result(document, "OLVM-TLS-001", "engine")
    assert failed["status"] == "failed" and failed["cases"] == 2
    assert failed["evidence"] == {"hsts.443": "absent", "hsts.6100": "max-age=31536000"}
    assert failed["waiver"] is None and failed["duration"] == 0.42


def test_a_waived_result_carries_its_waiver_with_location():
    waived = _result(to_json(sample_report()), "OLVM-SSH-002", "kvm01")
    assert waived["status"] == "waived"
    assert waived["waiver"] == {"justification": IN_FORCE_JUSTIFICATION,
                                "expires": "2026-06-30", "hosts": "kvm01",
                                "location": "waivers.yml:1:3"}


def test_every_waiver_is_listed_in_force_on_the_day_the_run_started():
    report = sample_report()
    waivers = to_json(report)["waivers"]
    assert [(w["control"], w["in_force"]) for w in waivers] == [
        ("OLVM-SSH-002", True), ("OLVM-TLS-001", False)]
    assert waivers[1]["justification"] == EXPIRED_JUSTIFICATION
    assert waivers[1]["expires"] == "2026-02-28" and waivers[1]["location"] == "waivers.yml:6:3"
    report.started = "2026-06-30T23:59:59Z"  # the last day of the waiver still counts
    assert to_json(report)["waivers"][0]["in_force"] is True
    report.started = "2026-07-01T00:00:00Z"
    assert to_json(report)["waivers"][0]["in_force"] is False
    assert "expired" in to_json(report)["notes"][0]


def test_drift_lists_status_changes_with_their_kind_and_evidence_changes():
    drift = to_json(sample_report())["drift"]
    assert drift["baseline_run"] == BASELINE_RUN
    assert drift["statuses"][0] == {"control": "OLVM-SSH-002", "host": "kvm02",
                                    "before": "passed", "after": "failed",
                                    "kind": "newly failing", "changed_by": SSH_RUN,
                                    "changed_by_workflow": "sshd-hardening"}
    assert drift["statuses"][1]["kind"] == "newly passing"
    assert drift["evidence"][1] == {"control": "OLVM-NTP-005", "host": "engine",
                                    "name": "chrony.server", "before": "ntp1.example.com",
                                    "after": "pool.ntp.org", "changed_by": None,
                                    "changed_by_workflow": None}


@pytest.mark.parametrize("change", [
    lambda d: d["controls"][0]["results"][0].update(status="ignored"),
    lambda d: d.update(extra=1),
    lambda d: d["controls"][1]["results"][0]["waiver"].update(expires="30/06/2026"),
    lambda d: d["drift"]["statuses"][0].update(kind="worse"),
    lambda d: d["summary"]["counts"].pop("error"),
    lambda d: d.update(started="2026-03-02 08:15"),
], ids=["status", "extra-key", "date", "kind", "missing-count", "started"])
def test_the_schema_is_strict(change):
    document = to_json(sample_report())
    change(document)
    with pytest.raises(jsonschema.ValidationError):
        _validate(document)


def test_write_json_to_a_path_and_to_a_stream(tmp_path):
    report = sample_report()
    path = tmp_path / "report.json"
    write_json(report, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and json.loads(text) == to_json(report)
    stream = io.StringIO()
    write_json(report, stream)
    assert stream.getvalue() == text
    write_json(report, str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == text


def _keys(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        found |= set(node.get("properties", {}))
        for value in node.values():
            found |= _keys(value)
    elif isinstance(node, list):
        for value in node:
            found |= _keys(value)
    return found


def test_the_module_docstring_documents_every_field_of_the_schema():
    doc = json_report.__doc__ or ""
    missing = sorted(key for key in _keys(schema()) if f"``{key}``" not in doc)
    assert missing == []
