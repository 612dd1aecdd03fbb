"""`plan` reads each network XML file once: 100 networks, their definitions and status files.

A lab namespace holds 100 bridges and the iptables rules libvirt 11.3 gives their networks
(from the model); the definitions, status files and network.conf are under a temporary root.
`vnetmigrate plan --to nftables` runs in this process (typer's runner) with the model's XML
reader wrapped to count what it parses: every file once, none twice (the collectors' pruning,
the libvirt facts, ownership, the planner and the nftables verification used to parse them
again: 900 parses, four or five per file, before each file was parsed once).
"""

from __future__ import annotations

import collections
import json

import pytest
from typer.testing import CliRunner

from vnetmigrate.cli import app
from vnetmigrate.libvirt import iptables_restore, parse_network
from vnetmigrate.libvirt import xml as libvirt_xml

pytestmark = pytest.mark.lab

NETWORKS = 100
NET_XML = ("<network><name>net{i}</name><forward mode='nat'/><bridge name='vbr{i}'/>"
           "<ip address='10.201.{i}.1' netmask='255.255.255.0'/></network>\n")


@pytest.fixture
def big_host(lab_ready, tmp_path):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("host")
    namespaces.create([ns])
    try:
        xmls = [NET_XML.format(i=i) for i in range(NETWORKS)]
        namespaces.ip_batch(ns, [f"link add vbr{i} type bridge" for i in range(NETWORKS)])
        model = [parse_network(x, f"net{i}.xml") for i, x in enumerate(xmls)]
        namespaces.run(ns, ["iptables-nft-restore", "--noflush"], input=iptables_restore(model, "11.3", "ipv4"))
        root = tmp_path / "root"
        (root / "etc/libvirt/qemu/networks").mkdir(parents=True)
        (root / "run/libvirt/network").mkdir(parents=True)
        (root / "etc/libvirt/network.conf").write_text('firewall_backend = "iptables"\n')
        files = {}
        for i, x in enumerate(xmls):
            definition = root / f"etc/libvirt/qemu/networks/net{i}.xml"
            status = root / f"run/libvirt/network/net{i}.xml"
            definition.write_text(x)
            status.write_text(f"<networkstatus>\n{x}</networkstatus>\n")
            files[definition.read_text()] = str(definition)
            files[status.read_text()] = str(status)
        yield ns, root, files
    finally:
        namespaces.delete([ns])


def test_plan_of_100_networks_parses_each_xml_file_once(big_host, tmp_path, monkeypatch):
    ns, root, files = big_host
    parses: collections.Counter[str] = collections.Counter()
    real = libvirt_xml.parse_xml

    def counting(text, source):
        parses[text if isinstance(text, str) else text.decode()] += 1
        return real(text, source)

    monkeypatch.setattr(libvirt_xml, "parse_xml", counting)
    for remembered in (libvirt_xml.parse_network, libvirt_xml.parse_status):
        remembered.cache_clear()  # what earlier tests in this process parsed must not hide a parse
    res = CliRunner().invoke(app, ["plan", "--to", "nftables", "--netns", ns, "--root", str(root),
                                   "--state-dir", str(tmp_path / "state"), "--no-restart", "--format", "json"])
    doc = json.loads(res.stdout)  # plan's JSON has no published schema yet
    assert len(doc["data"]["summary"]["networks_moved"]) == NETWORKS, json.dumps(doc["data"]["blockers"])
    per_file = {files.get(text, "<not a file of the host>"): n for text, n in parses.items()}
    print(f"XML parses in a plan of {NETWORKS} networks: {sum(parses.values())} for {len(files)} files")
    assert set(per_file) == set(files.values())
    assert {path: n for path, n in per_file.items() if n != 1} == {}
