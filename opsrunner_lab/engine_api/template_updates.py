"""``PUT /templates/{id}``: name, description, comment and the initial-run (cloud-init)
settings, ``<initialization>``.

An ``<initialization>`` in the body replaces the stored one as a whole (the engine stores a
template's VmInit as one record). Its ``root_password`` is kept in ``_root_password`` inside it:
never rendered (the engine never returns it), never put in an event or a fault. Refusals follow
UpdateVmTemplateCommand, in its order: a bad or taken name, then a ``locked`` template
(EngineMessage VM_TEMPLATE_IS_LOCKED, a message without an action prefix). An enum value outside
BootProtocol, CloudInitNetworkProtocol or IpVersion is a 400 "Invalid value".

Event: 59 USER_UPDATE_VM_TEMPLATE "Template X configuration was updated by USER.".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, listing
from opsrunner_lab.engine_api.templates import _NAME as TEMPLATE_NAME
from opsrunner_lab.engine_api.templates import TEMPLATE_KEYS
from opsrunner_lab.engine_api.transitions import event_now, require, user_name
from opsrunner_lab.engine_api.xmlcodec import child_text

UPDATED_CODE = 59
PASSWORD_KEY = "_root_password"
BOOT_PROTOCOLS = ("autoconf", "dhcp", "none", "poly_dhcp_autoconf", "static")
NETWORK_PROTOCOLS = ("eni", "openstack_metadata")
IP_VERSIONS = ("v4", "v6")
# <initialization> children, in the engine's (alphabetical) order, by how they are read.
_TEXTS = ("authorized_ssh_keys", "custom_script", "dns_search", "dns_servers", "host_name",
          "timezone", "user_name")
_ORDER = ("authorized_ssh_keys", "cloud_init_network_protocol", "custom_script", "dns_search",
          "dns_servers", "host_name", "nic_configurations", "regenerate_ssh_keys", "timezone",
          "user_name")
_IP_TEXTS = ("address", "gateway", "netmask")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


def _verbatim(element: ET.Element, path: str) -> str | None:
    """The text of ``path`` exactly as sent (scripts and keys keep their whitespace)."""
    found = element.find(path)
    return None if found is None else found.text or ""


def invalid_value(value: str, enum: str, allowed: tuple[str, ...]) -> ApiFault:
    """The engine's 400 for a value outside an enum of the API model."""
    return ApiFault(400, f"{value} is not a member of {enum}. Possible values for {enum} are: "
                         f"{', '.join(allowed)}", reason="Invalid value")


def _enum(element: ET.Element, path: str, enum: str, allowed: tuple[str, ...]) -> str | None:
    text = child_text(element, path)
    if text is not None and text.lower() not in allowed:
        raise invalid_value(text, enum, allowed)
    return text.lower() if text is not None else None


def _boolean(element: ET.Element, path: str) -> str | None:
    """``true``/``false`` as the engine writes them (it also reads ``1``/``0``); None if absent."""
    text = child_text(element, path)
    if text is None:
        return None
    if text.lower() not in _TRUE + _FALSE:
        raise ApiFault(400, f"The value '{text}' of '{path}' is not a boolean; use true or false",
                       reason="Invalid value")
    return "true" if text.lower() in _TRUE else "false"


def _ip(element: ET.Element) -> Document:
    ip: Document = {key: text for key in _IP_TEXTS
                    if (text := child_text(element, key)) is not None}
    version = _enum(element, "version", "IpVersion", IP_VERSIONS)
    if version is not None:
        ip["version"] = version
    return ip


def parse_nic_configuration(element: ET.Element) -> Document:
    """One ``<nic_configuration>``: boot protocols (validated), ip, ipv6, name and on_boot."""
    nic: Document = {}
    protocol = _enum(element, "boot_protocol", "BootProtocol", BOOT_PROTOCOLS)
    ipv6_protocol = _enum(element, "ipv6_boot_protocol", "BootProtocol", BOOT_PROTOCOLS)
    if protocol is not None:
        nic["boot_protocol"] = protocol
    for key in ("ip", "ipv6"):
        found = element.find(key)
        if found is not None:
            nic[key] = _ip(found)
    if ipv6_protocol is not None:
        nic["ipv6_boot_protocol"] = ipv6_protocol
    name, on_boot = child_text(element, "name"), _boolean(element, "on_boot")
    if name is not None:
        nic["name"] = name
    if on_boot is not None:
        nic["on_boot"] = on_boot
    return nic


def parse_initialization(element: ET.Element) -> Document:
    """The stored form of an ``<initialization>``: the engine's children in its order, the
    root password in :data:`PASSWORD_KEY` (absent when the body has none)."""
    found: Document = {key: text for key in _TEXTS
                       if (text := _verbatim(element, key)) is not None}
    protocol = _enum(element, "cloud_init_network_protocol", "CloudInitNetworkProtocol",
                     NETWORK_PROTOCOLS)
    if protocol is not None:
        found["cloud_init_network_protocol"] = protocol
    regenerate = _boolean(element, "regenerate_ssh_keys")
    if regenerate is not None:
        found["regenerate_ssh_keys"] = regenerate
    nics = element.find("nic_configurations")
    if nics is not None:
        found["nic_configurations"] = listing("nic_configuration", [
            parse_nic_configuration(nic) for nic in nics.findall("nic_configuration")])
    initialization: Document = {key: found[key] for key in _ORDER if key in found}
    password = _verbatim(element, "root_password")
    if password is not None:
        initialization[PASSWORD_KEY] = password
    return initialization


def with_initialization(template: Document, initialization: Document) -> Document:
    """``template`` with ``initialization`` replacing any stored one, placed where the engine
    writes it (before the first of the template's own fields that sorts after it)."""
    fields = [(key, value) for key, value in template.items() if key != "initialization"]
    at = next((index for index, (key, _) in enumerate(fields)
               if key in TEMPLATE_KEYS and key > "initialization"), len(fields))
    fields.insert(at, ("initialization", initialization))
    return dict(fields)


def _check_name(ctx: ApiContext, template: Document, name: str) -> None:
    if name == template.get("name"):
        return
    if not TEMPLATE_NAME.match(name):
        raise bad_request("Cannot update Template. The given name contains special characters. "
                          "Only lower-case and upper-case letters, numbers, '_', '-', '.' are "
                          "allowed.")
    if any(other["name"] == name and other["id"] != template["id"]
           for other in ctx.store.documents("templates")):
        raise conflict("Cannot update Template. The Template name is already in use, please "
                       "choose a unique name and try again.")


def update_template(ctx: ApiContext, target: Target, body: ET.Element,
                    query: Mapping[str, str]) -> Document:
    """``PUT /templates/{id}``: the updated template (see the module doc)."""
    store = ctx.store
    with store.transaction():
        template = require(ctx, target.collection, target.entity_id)
        changes: Document = {key: text for key in ("name", "description", "comment")
                             if (text := child_text(body, key)) is not None}
        if "name" in changes:
            _check_name(ctx, template, changes["name"])
        if template.get("status") == "locked":
            raise conflict("Template is currently locked (temporarily).")
        found = body.find("initialization")
        initialization = parse_initialization(found) if found is not None else None
        template.update(changes)
        if initialization is not None:
            template = with_initialization(template, initialization)
        updated = store.put(target.collection, template)
        event_now(ctx, UPDATED_CODE, f"Template {updated['name']} configuration was updated by "
                                     f"{user_name(ctx)}.", about={"template": str(updated["id"])})
        return updated


def register(handlers: Handlers) -> None:
    handlers.updaters["templates"] = update_template
