"""The engine's search grammar over a small estate: operators, and/or precedence, wildcards,
quotes, case, sortby, page with max, cross-entity fields per collection, and the engine's 400
answers for malformed queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.search import Search
from opsrunner_lab.engine_api.search_fields import Relations
from opsrunner_lab.engine_api.search_syntax import parse
from opsrunner_lab.engine_api.store import Store

DAY_MS = 86_400_000
T0 = 1_796_256_000_000  # 2026-12-03T00:00:00Z


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    store = Store(tmp_path / "state.json")
    for dc in ("dc1", "dc2"):
        store.put("datacenters", {"id": dc, "name": dc.upper(), "status": "up"})
    for cluster, dc in (("cl1", "dc1"), ("cl2", "dc2")):
        store.put("clusters", {"id": cluster, "name": f"Cluster {cluster[-1]}",
                               "data_center": ref("datacenters", dc)})
    for host, cluster in (("h1", "cl1"), ("h2", "cl1"), ("h3", "cl2")):
        store.put("hosts", {"id": host, "name": f"kvm{host[-1]}", "status": "up",
                            "memory": str(int(host[-1]) * 1024),
                            "cluster": ref("clusters", cluster)})
    store.put("storagedomains", {"id": "sd1", "name": "data", "_dc_id": "dc1"})
    store.put("storagedomains", {"id": "sd2", "name": "Fast Data", "_dc_id": "dc2"})
    for disk, domain in (("d1", "sd1"), ("d2", "sd2"), ("d3", "sd2")):
        store.put("disks", {"id": disk, "name": f"disk{disk[-1]}", "alias": f"disk{disk[-1]}",
                            "storage_domains": listing("storage_domain",
                                                       [ref("storagedomains", domain)])})
    store.put("templates", {"id": "t1", "name": "ol8-tpl", "status": "ok",
                            "cluster": ref("clusters", "cl2")})
    for vm, host, cluster, status in (("v1", "h1", "cl1", "up"), ("v2", "h3", "cl2", "down"),
                                      ("v3", "h2", "cl1", "up")):
        store.put("vms", {"id": vm, "name": f"ol8-vm{vm[-1]}", "status": status,
                          "host": ref("hosts", host), "cluster": ref("clusters", cluster),
                          "template": ref("templates", "t1")})
    store.put("vms/v2/diskattachments", {"id": "d2", "disk": ref("disks", "d2")})
    for index, (code, severity) in enumerate((("30", "normal"), ("13", "warning"),
                                              ("31", "error"), ("13", "normal")), start=1):
        store.put("events", {"id": str(index), "index": str(index), "code": code,
                             "severity": severity, "time": T0 + index * DAY_MS,
                             "description": f"event {index}",
                             "host": {**ref("hosts", "h1"), "name": "kvm1"}})
    return Catalog(store)


def names(catalog: Catalog, collection: str, query: str, max_count: int = -1,
          case_sensitive: bool = False) -> list[str]:
    docs = catalog.documents(collection)
    found = Search(query, case_sensitive, collection).select(docs, collection, Relations(catalog), max_count)
    return [str(doc.get("name", doc["id"])) for doc in found]


def detail(catalog: Catalog, collection: str, query: str) -> tuple[int, str]:
    with pytest.raises(ApiFault) as fault:
        names(catalog, collection, query)
    assert fault.value.reason == "Operation Failed"
    return fault.value.status, fault.value.detail


@pytest.mark.parametrize(("query", "expected"), [
    ("name=kvm1", ["kvm1"]),
    ("NAME = KVM*", ["kvm1", "kvm2", "kvm3"]),
    ("name != kvm2", ["kvm1", "kvm3"]),
    ("memory>1024", ["kvm2", "kvm3"]),
    ("memory>=2048 and memory<=2048", ["kvm2"]),
    ("memory<2048", ["kvm1"]),
    ("name=kvm1 or name=kvm2 and memory>4096", ["kvm1"]),
    ("name=kvm3 and memory>1 OR name=kvm1", ["kvm1", "kvm3"]),
    ("Hosts: name=kvm2", ["kvm2"]),
    ("host: name=kvm2", ["kvm2"]),
    ("cluster=cluster*", ["kvm1", "kvm2", "kvm3"]),
    ('cluster="Cluster 2"', ["kvm3"]),
    ("Clusters.name=\"cluster 1\"", ["kvm1", "kvm2"]),
    ("datacenter=dc1", ["kvm1", "kvm2"]),
    ("DataCenter.name=DC2", ["kvm3"]),
    ("Vms.name=ol8-vm2", ["kvm3"]),
    ("Vms.status=up", ["kvm1", "kvm2"]),
    ("Vms.status!=up", ["kvm3"]),
    ("sortby memory desc", ["kvm3", "kvm2", "kvm1"]),
    ("name=kvm* sortby name asc", ["kvm1", "kvm2", "kvm3"]),
    ("", ["kvm1", "kvm2", "kvm3"]),
])
def test_hosts(catalog: Catalog, query: str, expected: list[str]) -> None:
    assert names(catalog, "hosts", query) == expected


def test_case_sensitive_only_when_asked(catalog: Catalog) -> None:
    assert names(catalog, "hosts", "name=KVM1", case_sensitive=True) == []
    assert names(catalog, "hosts", "NAME=kvm1", case_sensitive=True) == ["kvm1"]


@pytest.mark.parametrize(("collection", "query", "expected"), [
    ("vms", "host=kvm1", ["ol8-vm1"]),
    ("vms", "Hosts.name=kvm3", ["ol8-vm2"]),
    ("vms", "cluster=\"cluster 1\" and status=up", ["ol8-vm1", "ol8-vm3"]),
    ("vms", "status=down or host=kvm2", ["ol8-vm2", "ol8-vm3"]),
    ("vms", "Vms.name=ol8-vm3", ["ol8-vm3"]),
    ("vms", "datacenter=DC2", ["ol8-vm2"]),
    ("vms", "template=ol8-tpl and status=up sortby name desc", ["ol8-vm3", "ol8-vm1"]),
    ("vms", "Storage.name=fast*", ["ol8-vm2"]),
    ("disks", "Storage.name=data", ["disk1"]),
    ("disks", "storage=\"fast data\"", ["disk2", "disk3"]),
    ("disks", "datacenter=dc2 and alias!=disk3", ["disk2"]),
    ("disks", "vm_names=ol8-vm2", ["disk2"]),
    ("templates", "cluster=\"Cluster 2\"", ["ol8-tpl"]),
    ("templates", "datacenter=dc2", ["ol8-tpl"]),
    ("templates", "datacenter=dc1", []),
    ("templates", "Vms.name=ol8-vm1", ["ol8-tpl"]),
    ("datacenters", "Clusters.name=\"cluster 2\"", ["DC2"]),
    ("datacenters", "Hosts.name=kvm2", ["DC1"]),
    ("datacenters", "storage=data", ["DC1"]),
    ("datacenters", "status=up sortby name desc", ["DC2", "DC1"]),
    ("clusters", "datacenter=dc1", ["Cluster 1"]),
    ("clusters", "Hosts.name=kvm3", ["Cluster 2"]),
    ("storagedomains", "datacenter=dc2", ["Fast Data"]),
])
def test_cross_entity_fields(catalog: Catalog, collection: str, query: str,
                             expected: list[str]) -> None:
    assert names(catalog, collection, query) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("type=13", ["2", "4"]),
    ("code=30", ["1"]),
    ("severity>normal", ["2", "3"]),
    ("severity>=error", ["3"]),
    ("message=\"event 3\"", ["3"]),
    ("time>2026-12-05", ["3", "4"]),
    ("time<\"12/05/2026 00:00\"", ["1"]),
    (f"time>={T0 + 4 * DAY_MS}", ["4"]),
    ("host=kvm1 and type=13", ["2", "4"]),
    ("sortby time desc", ["4", "3", "2", "1"]),
    ("sortby severity desc", ["3", "2", "1", "4"]),
])
def test_events(catalog: Catalog, query: str, expected: list[str]) -> None:
    assert names(catalog, "events", query) == expected


def test_page_uses_max_as_page_size(catalog: Catalog) -> None:
    assert names(catalog, "hosts", "sortby name page 1", max_count=2) == ["kvm1", "kvm2"]
    assert names(catalog, "hosts", "sortby name page 2", max_count=2) == ["kvm3"]
    assert names(catalog, "hosts", "sortby name page 3", max_count=2) == []
    assert names(catalog, "hosts", "name=kvm* page 1") == ["kvm1", "kvm2", "kvm3"]
    assert names(catalog, "events", "sortby time desc page 2", max_count=1) == ["3"]


@pytest.mark.parametrize(("query", "expected"), [
    ("name kvm1", "invalid condition relation"),
    ("name kvm1 and status=up", "hosts : name $kvm1$ and status=up"),
    ("name=", "invalid condition value"),
    ("name=a and", "invalid post or and phrase"),
    ("name=a or", "invalid post or and phrase"),
    ("name=a name=b", "hosts : name=a $name$=b"),
    ("and name=a", "hosts : $and$ name=a"),
    ("name=a sortby", "invalid sort field"),
    ("name=a sortby name up", "invalid sort direction"),
    ("sortby name sideways page 1", "hosts : sortby name $sideways$ page 1"),
    ("page x", "invalid page feild"),
    ("page 1 name=a", "hosts : page 1 $name$=a"),
    ('name="kvm1', 'hosts : name=$"$kvm1'),
    ("a..b=c", "hosts : $a..b$=c"),
])
def test_malformed_queries_are_the_engines_400(query: str, expected: str) -> None:
    with pytest.raises(ApiFault) as fault:
        parse_and_build(query)
    assert (fault.value.status, fault.value.reason, fault.value.detail) == (
        400, "Operation Failed", expected)


def parse_and_build(query: str) -> Search:
    return Search(query, collection="hosts")


@pytest.mark.parametrize(("collection", "query", "expected"), [
    ("hosts", "colour=red and name=x", "hosts : $colour$=red and name=x"),
    ("hosts", "colour=red", "hosts : $colour$=red"),
    ("hosts", "Widgets.name=x", "hosts : $widgets.name$=x"),
    ("hosts", "Vms.colour=x", "hosts : $vms.colour$=x"),
    ("hosts", "Vms: name=x", "hosts : $vms$: name=x"),
    ("hosts", "sortby colour", "invalid sort field"),
    ("events", "sortby colour desc", "events : sortby $colour$ desc"),
])
def test_unknown_fields_and_objects_are_400(catalog: Catalog, collection: str, query: str,
                                            expected: str) -> None:
    assert detail(catalog, collection, query) == (400, expected)


def test_parse_shape() -> None:
    query = parse('Vms: Hosts.name = "kvm 1" and status!=up or name=x* sortby name desc page 3')
    assert query.prefix == "vms"
    assert [[(c.obj, c.fld, c.op, c.value) for c in group] for group in query.groups] == [
        [("hosts", "name", "=", "kvm 1"), (None, "status", "!=", "up")],
        [(None, "name", "=", "x*")]]
    assert (query.sort, query.page) == ((None, "name", True), 3)


def test_plain_documents_still_match_by_their_own_keys() -> None:
    doc: Document = {"id": "1", "name": "kvm1", "cluster": {"id": "c1"}}
    assert Search("cluster=default and name=KVM?").matches(doc, lambda r: "Default") is False
    assert Search("cluster=default and name=KVM*").matches(doc, lambda r: "Default") is True
