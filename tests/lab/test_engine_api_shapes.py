"""The simulator's XML has the real engine's shapes: every element path (and attribute) it writes
is one a real engine writes (the recorded bodies of the shared reference folder: oVirt 4.3 XML,
and the OLVM 4.5.5 JSON of the same collections where there is one), and the real ovirtsdk4
reads every element it writes (nothing is dropped on a read/write round trip)."""

from __future__ import annotations

import base64
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import pytest
from engine_api_lab import ADMIN, ApiLab, running_api

from opsrunner_lab.layout import LabLayout

REFERENCE = Path(os.environ.get("OPSRUNNER_OVIRT_API_REFERENCE", "/work/shared/reference"))
XML_BODIES = REFERENCE / "ovirt-api-xml"
JSON_BODIES = REFERENCE / "olvm-4.5.5-json" / "olvm-4.5.5-running"
# API path (with {vm} for the VM's id) -> the reference bodies of the same request.
SAMPLES = {
    "hosts": ("GET_hosts.xml", "hosts.json"),
    "vms": ("GET_vms.xml", "vms.json"),
    "datacenters": ("GET_datacenters.xml", "datacenters.json"),
    "clusters": ("GET_clusters.xml", "clusters.json"),
    "storagedomains": ("GET_storagedomains.xml", "storagedomains.json"),
    "templates": ("GET_templates.xml", "templates.json"),
    "disks": ("GET_disks.xml", "disks.json"),
    "vms/{vm}/diskattachments": ("GET_vms_ID_diskattachments.xml", None),
    "vms/{vm}/snapshots": ("GET_vms_ID_snapshots.xml", None),
}


def tag_paths(body: bytes) -> set[str]:
    """Every element path below the list root, and ``path@attribute``: ``host/cluster@id``."""
    paths: set[str] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}" if prefix else element.tag
        paths.add(path)
        paths.update(f"{path}@{name}" for name in element.attrib)
        for child in element:
            walk(child, path)

    for entity in ET.fromstring(body):
        walk(entity, "")
    return paths


def json_paths(body: bytes) -> set[str]:
    """:func:`tag_paths` of the engine's JSON form of the same body (``{"host": [...]}``)."""
    paths: set[str] = set()

    def walk(value: object, path: str) -> None:
        paths.add(path)
        if not isinstance(value, dict):
            return
        for key, child in value.items():
            if key in ("href", "id", "rel") and isinstance(child, str):
                paths.add(f"{path}@{key}")
            else:
                for item in child if isinstance(child, list) else [child]:
                    walk(item, f"{path}/{key}")

    for tag, entities in json.loads(body).items():
        for entity in entities:
            walk(entity, tag)
    return paths


def reference_paths(path: str) -> set[str]:
    """The element paths of the real bodies of ``path`` (skip when they are not here)."""
    xml_name, json_name = SAMPLES[path]
    if not (XML_BODIES / xml_name).exists():
        pytest.skip(f"the reference bodies are not here: {XML_BODIES}")
    paths = tag_paths((XML_BODIES / xml_name).read_bytes())
    if json_name is not None:
        paths |= json_paths((JSON_BODIES / json_name).read_bytes())
    return paths


def test_tag_paths_sees_nesting_and_attributes() -> None:
    body = b'<hosts><host id="1"><cpu><topology><cores>1</cores></topology></cpu></host></hosts>'
    assert tag_paths(body) == {"host", "host@id", "host/cpu", "host/cpu/topology",
                               "host/cpu/topology/cores"}
    document = b'{"host": [{"id": "1", "cpu": {"topology": {"cores": "1"}}}]}'
    assert json_paths(document) == tag_paths(body)


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """The simulator's XML answer to every sample path."""
    layout = LabLayout(tmp_path_factory.mktemp("shapes") / "lab", kvm_hosts=2,
                       address_prefix="127.0.94.")
    with running_api(layout) as api:
        yield {path: _get(api, path) for path in SAMPLES}


def _get(api: ApiLab, path: str) -> bytes:
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{ADMIN}:{api.password}".encode()).decode()}
    if "{vm}" in path:
        vms = ET.fromstring(api.request("GET", "/ovirt-engine/api/vms", headers=auth).body)
        path = path.format(vm=vms[0].get("id"))
    response = api.request("GET", f"/ovirt-engine/api/{path}", headers=auth)
    assert response.status == 200, path
    return response.body


@pytest.mark.parametrize("path", list(SAMPLES))
def test_every_element_path_is_one_the_real_engine_writes(bodies: dict[str, bytes],
                                                          path: str) -> None:
    theirs = reference_paths(path)
    ours = tag_paths(bodies[path])
    assert ours, path
    assert sorted(ours - theirs) == [], f"{path}: paths the real engine never writes"
    reference_root = ET.parse(XML_BODIES / SAMPLES[path][0]).getroot().tag
    assert ET.fromstring(bodies[path]).tag == reference_root


@pytest.mark.parametrize("path", ["hosts", "vms"])
def test_core_elements_of_the_reference_are_present(bodies: dict[str, bytes], path: str) -> None:
    ours = tag_paths(bodies[path])
    tag = path[:-1]
    assert {f"{tag}@href", f"{tag}@id", f"{tag}/actions/link@rel", f"{tag}/link@href",
            f"{tag}/name", f"{tag}/status", f"{tag}/cluster@id", f"{tag}/cpu/topology/cores",
            f"{tag}/os/type"} <= ours


@pytest.mark.parametrize("path", list(SAMPLES))
def test_the_sdk_reads_every_element_written(bodies: dict[str, bytes], path: str) -> None:
    root = ET.fromstring(bodies[path])
    objects = sdk.reader.Reader.read(bodies[path])
    rewritten = sdk.writer.Writer.write(objects, root=root.tag).encode()
    ours = {p for p in tag_paths(bodies[path]) if "/actions" not in p and "/link" not in p}
    # The SDK reads an empty element as "no value" and so does not write it back.
    empty = {p for p in tag_paths_of_empty_text(bodies[path])}
    assert sorted(ours - empty - tag_paths(rewritten)) == []


def tag_paths_of_empty_text(body: bytes) -> set[str]:
    """The paths of leaf elements whose text is empty (``<comment></comment>``)."""
    paths: set[str] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}" if prefix else element.tag
        if len(element) == 0 and not element.attrib and not (element.text or "").strip():
            paths.add(path)
        for child in element:
            walk(child, path)

    for entity in ET.fromstring(body):
        walk(entity, "")
    return paths
