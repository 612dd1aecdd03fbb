"""Behaviours of real libvirt that vnetmigrate's checks rely on (see HACKING.md's facts)."""

from __future__ import annotations

import pytest

from tests.peer.cases import NETWORKS_DIR
from tests.peer.require import require_peer
from tests.peer.libvirtd import PeerLibvirt, VirshError

pytestmark = pytest.mark.peer

DEFAULT_XML = (NETWORKS_DIR / "default.xml").read_text()


@pytest.mark.parametrize("version,backend,message", [
    ("9.0", "iptables", "No chain/target/match by that name"),
    ("11.3", "iptables", "No chain/target/match by that name"),
    ("11.3", "nftables", "insert rule ip libvirt_network"),
])
def test_flushed_ruleset_breaks_starts_until_restart(version, backend, message):
    """libvirt sets up its private chains/tables once per daemon process: after a ruleset
    flush (nftables.service reload) networks cannot start until the daemon restarts."""
    require_peer(version)
    with PeerLibvirt(version, backend) as peer:
        peer.define_and_start(DEFAULT_XML)
        peer.destroy("default")
        peer.exec(["nft", "flush", "ruleset"], check=True)
        with pytest.raises(VirshError, match=message):
            peer.start("default")
        peer.restart_daemon()
        peer.start("default")
        assert "virbr0" in peer.nft_ruleset_text()
