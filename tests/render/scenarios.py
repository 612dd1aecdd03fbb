"""Scan envelopes of a few recognisable hosts, produced by the real pipeline from builders' evidence.

Renderer tests take these (or a scan the CLI saved in the test) and look for what a reader
would notice; nothing here is a hand-written rendering.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from xml.sax.saxutils import escape

from tests.unit.builders import DEFAULT_NET, LEFTOVER_IPT, ipt, libvirt_nft, make_evidence, status_xml
from vnetmigrate.evidence import Evidence
from vnetmigrate.reports.envelope import scan_envelope
from vnetmigrate.scan import analyse

# A network name libvirt's XML can carry (no '/': libvirt and the model refuse that), full of what
# HTML, Markdown, rich and shells treat specially.
HOSTILE = '<script>alert("pwned")<script><img src=x onerror=alert(1)> & `tick` | [bold]pipe[red] **bold**'
NFT_CONF = {"/etc/libvirt/network.conf": 'firewall_backend = "nftables"\n'}


def docker_evidence() -> Evidence:
    """Docker's FORWARD DROP with libvirt on nftables: a blocker, a warning, two infos (the backend, and the
    packet evaluation naming docker-forward-drop); row 3 now and after."""
    return make_evidence(files={**NFT_CONF, "/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
                                "/run/libvirt/network/default.xml": status_xml(backend="nftables"),
                                "/etc/docker/daemon.json": '{"iptables": true}'},
                         ipv4_save=ipt(LEFTOVER_IPT, policy="DROP", docker=True), nft_objects=tuple(libvirt_nft()))


def switching_evidence() -> Evidence:
    """libvirt 9.0 with no backend pinned: row 2 now, row 3 after the switch; warnings."""
    return make_evidence(libvirt_version="9.0.0")


def quiet_evidence() -> Evidence:
    return make_evidence(files={"/etc/libvirt/network.conf": 'firewall_backend = "iptables"\n'})


def hostile_evidence() -> Evidence:
    """An active network named HOSTILE without rules: its name lands in a blocker's title and commands."""
    net = DEFAULT_NET.replace("<name>default</name>", f"<name>{escape(HOSTILE)}</name>").replace("virbr0", "virbr9")
    return make_evidence(files={**NFT_CONF, "/etc/libvirt/qemu/networks/evil.xml": net,
                                "/run/libvirt/network/evil.xml": status_xml(net, backend="nftables")})


def broken_evidence() -> Evidence:
    """Unreadable parts: errors, and a check skipped for want of its facts."""
    ev = make_evidence(files={"/etc/libvirt/network.conf": 'firewall_backend = "bogus"\n'}, libvirt_version=None)
    first = ev.commands["ipt.ipv4.0"]  # iptables-nft's first listed chain printed something unreadable
    ev.commands[first.key] = replace(first, stdout="garbage\n")
    return ev


def envelope(ev: Evidence) -> dict[str, Any]:
    return scan_envelope(analyse(ev))
