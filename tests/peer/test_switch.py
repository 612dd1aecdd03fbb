"""What libvirt 11.3 does when firewall_backend changes under active networks.

Each property is checked on the committed recordings (always) and on a fresh run of real
libvirt (root and the peer set-up needed); test_recordings.py compares the two in full.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.peer.cases import RECORDINGS_DIR

pytestmark = pytest.mark.peer

BRIDGES = ("virbr0", "vnm-dual", "vnm-route")
SKELETON_JUMP = re.compile(r"^-A (INPUT|FORWARD|OUTPUT|POSTROUTING) -j LIBVIRT_\w+$")


def _read(d: Path, rel: str) -> str:
    return (d / rel).read_text()


def iptables_rules(d: Path, when: str) -> list[str]:
    lines = _read(d, f"{when}/iptables-save.txt").splitlines() + \
        _read(d, f"{when}/ip6tables-save.txt").splitlines()
    return [line for line in lines if line.startswith("-A ")]


def per_network_iptables_rules(d: Path, when: str) -> list[str]:
    return [r for r in iptables_rules(d, when) if not SKELETON_JUMP.match(r)]


def libvirt_nft_rules(d: Path, when: str) -> list[dict]:
    """Rules in libvirt's own tables other than the forward chain's jumps."""
    doc = json.loads(_read(d, f"{when}/nft-ruleset.json"))
    return [r for item in doc["nftables"] if (r := item.get("rule"))
            and r["table"] == "libvirt_network" and r["chain"] != "forward"]


def status_backends(d: Path, when: str) -> dict[str, str | None]:
    out = {}
    for path in sorted((d / when / "status").glob("*.xml")):
        m = re.search(r"<firewall name='fwRemoval' backend='(\w+)'>", path.read_text())
        out[path.stem] = m.group(1) if m else None
    return out


def active(d: Path, when: str) -> set[str]:
    return {n["name"] for n in json.loads(_read(d, f"{when}/net-list.json")) if n["state"] == "active"}


def mentions(rules, bridge: str) -> bool:
    return any(bridge in (r if isinstance(r, str) else json.dumps(r)) for r in rules)


@pytest.fixture(params=["committed", "fresh"])
def scenarios(request) -> Path:
    """The directory holding the switch scenarios: committed data, or a fresh recording."""
    if request.param == "committed":
        return RECORDINGS_DIR
    fresh, _ = request.getfixturevalue("fresh_recording")
    return fresh


def test_iptables_to_nftables(scenarios):
    d = scenarios / "11.3-switch"
    assert status_backends(d, "before") == dict.fromkeys(("default", "nat-dual", "route"), "iptables")
    assert all(mentions(per_network_iptables_rules(d, "before"), b) for b in BRIDGES)
    assert not libvirt_nft_rules(d, "before")
    # After the restart: every per-network iptables rule removed, but the LIBVIRT_* chains
    # and the jumps to them stay (empty) ...
    assert per_network_iptables_rules(d, "after") == []
    assert ":LIBVIRT_FWI - [0:0]" in _read(d, "after/iptables-save.txt")
    assert ":LIBVIRT_INP - [0:0]" in _read(d, "after/ip6tables-save.txt")
    # ... and the same networks are now in libvirt's nftables tables.
    nft = libvirt_nft_rules(d, "after")
    assert all(mentions(nft, b) for b in BRIDGES)
    assert any(r["family"] == "ip6" and mentions([r], "vnm-dual") for r in nft)
    assert status_backends(d, "after") == dict.fromkeys(("default", "nat-dual", "route"), "nftables")
    assert active(d, "after") == {"default", "nat-dual", "route"}
    # libvirt asked for the DHCP checksum filter on every bridge (faked by the shim).
    tc = _read(d, "after/tc-shim.log")
    assert all(f"faked: filter add dev {b} prio 2 protocol ip parent 1: u32 match ip dport 68 ffff "
               "action csum ip and udp" in tc for b in BRIDGES)


def test_nftables_back_to_iptables(scenarios):
    d = scenarios / "11.3-switch-back"
    assert status_backends(d, "before") == dict.fromkeys(("default", "nat-dual", "route"), "nftables")
    assert per_network_iptables_rules(d, "before") == []
    after = per_network_iptables_rules(d, "after")
    assert all(mentions(after, b) for b in BRIDGES)
    # libvirt's nftables tables and chains stay, emptied; the removal recipe's tc filter
    # deletes ran, but the root htb qdisc the nftables backend put on each bridge stays.
    assert libvirt_nft_rules(d, "after") == []
    assert "table ip libvirt_network" in _read(d, "after/nft-ruleset.nft")
    tc = _read(d, "after/tc-shim.log")
    assert all(f"faked: filter del dev {b} " in tc for b in BRIDGES)
    assert all(f"qdisc htb 1: dev {b} root" in _read(d, "after/tc-qdisc.txt") for b in BRIDGES)
    assert status_backends(d, "after") == dict.fromkeys(("default", "nat-dual", "route"), "iptables")
    assert active(d, "after") == {"default", "nat-dual", "route"}


def test_switch_without_act_csum_loses_rules_silently(scenarios):
    """On a kernel without act_csum the switch leaves active networks with no rules at all."""
    d = scenarios / "11.3-switch-no-act-csum"
    assert all(mentions(per_network_iptables_rules(d, "before"), b) for b in BRIDGES)
    assert active(d, "after") == {"default", "nat-dual", "route"}
    assert per_network_iptables_rules(d, "after") == []
    assert libvirt_nft_rules(d, "after") == []
    # The status files lose their removal recipe altogether.
    assert status_backends(d, "after") == dict.fromkeys(("default", "nat-dual", "route"))
    assert "Failed to load TC action module" in _read(d, "after/daemon-log.txt")
