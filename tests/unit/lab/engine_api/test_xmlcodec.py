"""The XML and JSON writers: empty strings as the engine writes them, numbers in JSON."""

from __future__ import annotations

import json

from opsrunner_lab.engine_api.model import Number, ref
from opsrunner_lab.engine_api.xmlcodec import to_json, to_xml


def test_an_empty_string_is_an_open_and_close_tag_and_a_reference_is_self_closed() -> None:
    body = to_xml("host", {"comment": "", "os": {"custom_kernel_cmdline": ""},
                           "cluster": ref("clusters", "c1"), "name": "h1"}).decode()
    assert "<comment></comment>" in body
    assert "<custom_kernel_cmdline></custom_kernel_cmdline>" in body
    assert '<cluster href="/ovirt-engine/api/clusters/c1" id="c1" />' in body
    assert "<name>h1</name>" in body
    assert "\ue000" not in body


def test_numbers_are_text_in_xml_and_numbers_in_json() -> None:
    doc = {"values": {"value": [{"datum": Number("9946791936")}, {"datum": Number("0.07")}]}}
    assert "<datum>0.07</datum>" in to_xml("statistic", doc).decode()
    assert json.loads(to_json(doc))["values"]["value"] == [{"datum": 9946791936},
                                                           {"datum": 0.07}]
