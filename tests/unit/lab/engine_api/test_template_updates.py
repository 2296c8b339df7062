"""The simulator's template updates: reading ``<initialization>`` (order, verbatim texts,
booleans, enums, the hidden root password) and where it goes in a template."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.template_updates import (
    PASSWORD_KEY,
    parse_initialization,
    with_initialization,
)
from opsrunner_lab.engine_api.xmlcodec import to_json, to_xml

FULL = """<initialization>
<user_name>root</user_name><timezone>UTC</timezone><root_password> pw </root_password>
<regenerate_ssh_keys>1</regenerate_ssh_keys><custom_script>  a:
  - b
</custom_script><host_name></host_name><dns_servers>192.0.2.53</dns_servers>
<cloud_init_network_protocol>ENI</cloud_init_network_protocol>
<nic_configurations><nic_configuration><on_boot>TRUE</on_boot><name>eth0</name>
<ip><netmask>255.255.255.0</netmask><address>192.0.2.10</address><version>v4</version></ip>
<boot_protocol>Static</boot_protocol></nic_configuration>
<nic_configuration><name>eth1</name><boot_protocol>dhcp</boot_protocol></nic_configuration>
</nic_configurations></initialization>"""


def parsed(text: str) -> dict[str, object]:
    return parse_initialization(ET.fromstring(text))


def test_the_engine_order_verbatim_texts_and_normalised_values() -> None:
    init = parsed(FULL)
    assert list(init) == ["cloud_init_network_protocol", "custom_script", "dns_servers",
                          "host_name", "nic_configurations", "regenerate_ssh_keys", "timezone",
                          "user_name", PASSWORD_KEY]
    assert init["custom_script"] == "  a:\n  - b\n" and init["host_name"] == ""
    assert init[PASSWORD_KEY] == " pw "
    assert (init["cloud_init_network_protocol"], init["regenerate_ssh_keys"]) == ("eni", "true")
    assert init["nic_configurations"] == {"nic_configuration": [
        {"boot_protocol": "static",
         "ip": {"address": "192.0.2.10", "netmask": "255.255.255.0", "version": "v4"},
         "name": "eth0", "on_boot": "true"},
        {"boot_protocol": "dhcp", "name": "eth1"}]}


def test_the_password_is_never_rendered() -> None:
    init = parsed(FULL)
    xml = to_xml("template", {"initialization": init}).decode()
    assert " pw " not in xml and "root_password" not in xml
    assert "<nic_configurations>\n" in xml and xml.count("<nic_configuration>") == 2
    rendered = json.loads(to_json({"initialization": init}))["initialization"]
    assert PASSWORD_KEY not in rendered and "root_password" not in rendered
    assert [nic["name"] for nic in rendered["nic_configurations"]["nic_configuration"]] == [
        "eth0", "eth1"]


def test_an_empty_initialization_and_no_password() -> None:
    assert parsed("<initialization/>") == {}
    assert PASSWORD_KEY not in parsed("<initialization><user_name>x</user_name></initialization>")


@pytest.mark.parametrize(("body", "detail"), [
    ("<nic_configurations><nic_configuration><boot_protocol>bootp</boot_protocol>"
     "</nic_configuration></nic_configurations>",
     "bootp is not a member of BootProtocol. Possible values for BootProtocol are: autoconf, "
     "dhcp, none, poly_dhcp_autoconf, static"),
    ("<nic_configurations><nic_configuration><ipv6_boot_protocol>slaac</ipv6_boot_protocol>"
     "</nic_configuration></nic_configurations>",
     "slaac is not a member of BootProtocol. Possible values for BootProtocol are: autoconf, "
     "dhcp, none, poly_dhcp_autoconf, static"),
    ("<cloud_init_network_protocol>nocloud</cloud_init_network_protocol>",
     "nocloud is not a member of CloudInitNetworkProtocol. Possible values for "
     "CloudInitNetworkProtocol are: eni, openstack_metadata"),
    ("<nic_configurations><nic_configuration><ip><version>v5</version></ip>"
     "</nic_configuration></nic_configurations>",
     "v5 is not a member of IpVersion. Possible values for IpVersion are: v4, v6"),
    ("<regenerate_ssh_keys>yes</regenerate_ssh_keys>",
     "The value 'yes' of 'regenerate_ssh_keys' is not a boolean; use true or false"),
])
def test_invalid_values_are_refused(body: str, detail: str) -> None:
    with pytest.raises(ApiFault) as refused:
        parsed(f"<initialization><root_password>pw</root_password>{body}</initialization>")
    assert (refused.value.status, refused.value.reason, refused.value.detail) == (
        400, "Invalid value", detail)


def test_initialization_replaces_the_stored_one_in_the_engine_order() -> None:
    template = {"id": "t", "name": "n", "bios": {}, "high_availability": {}, "io": {},
                "status": "ok", "_vm": "v"}
    placed = with_initialization(template, {"user_name": "root"})
    assert list(placed) == ["id", "name", "bios", "high_availability", "initialization", "io",
                            "status", "_vm"]
    again = with_initialization(placed, {"timezone": "UTC"})
    assert again["initialization"] == {"timezone": "UTC"} and list(again) == list(placed)
    assert list(with_initialization({"id": "t"}, {})) == ["id", "initialization"]
