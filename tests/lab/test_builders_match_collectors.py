"""The unit tier's evidence has the shape of a live scan's.

A lab host gets libvirt 11.3's recorded iptables rules (its default network), a Docker-style
jump and a native nftables table whose forward chain jumps to a user chain; the live
collectors read it. The unit tier's builders (tests/unit/builders.py) are then given the same
rulesets as recorded from that host (iptables-nft-save, `nft -j list ruleset`) and the same
libvirt files. Both must record the same command keys (chain numbers aside) and list the
same chains with the same commands: unit check tests run the facts branch a live scan takes.
"""

from __future__ import annotations

import re

import pytest

from tests.lab import libvirt_host
from tests.unit.builders import make_evidence
from vnetmigrate.collect import collect_live

pytestmark = pytest.mark.lab

NATIVE = """table inet vnm_native {
    chain forward { type filter hook forward priority 10; policy accept; jump guests; }
    chain guests { iifname "virbr0" accept; }
}
"""
DOCKER = "*filter\n:DOCKER-USER - [0:0]\n-I FORWARD 1 -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n"


def shape(key: str) -> str:
    return re.sub(r"\.\d+$", ".N", key)  # the n-th chain listed: its number depends on listing order


def listed(ev, prefix: str) -> set[tuple[str, ...]]:
    return {rec.argv for key, rec in ev.commands.items() if key.startswith(prefix)}


def test_builders_record_what_the_collectors_record(lab, tmp_path):
    root = tmp_path / "root"
    libvirt_host.install(lab, root)
    lab.iptables_restore(DOCKER)
    lab.nft(NATIVE)
    live = collect_live(root=str(root), netns=lab.host, state_dir=str(tmp_path / "state"))
    assert not live.errors, live.errors

    objects = tuple(o for o in lab.ruleset()["nftables"] if "metainfo" not in o)
    files = {r.path: r.content for r in live.files.values()
             if r.path.startswith(("/etc/libvirt", "/run/libvirt")) and r.content is not None}
    built = make_evidence(files=files, libvirt_version=None, nft_objects=objects,
                          ipv4_save=lab.iptables_save(family=4), ipv6_save=lab.iptables_save(family=6))

    assert {shape(k) for k in built.commands} == {shape(k) for k in live.commands}
    assert any(k.startswith("ipt.ipv4.") for k in live.commands)  # iptables-nft chain by chain
    assert "iptables-nft-save" not in {shape(k) for k in built.commands}
    assert listed(built, "ipt.") == listed(live, "ipt.")
    assert listed(built, "nft.table.") == listed(live, "nft.table.")
    assert listed(built, "nft.chain.") == listed(live, "nft.chain.")
    assert ("nft", "-j", "list", "chain", "inet", "vnm_native", "guests") in listed(live, "nft.chain.")
