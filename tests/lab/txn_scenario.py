"""A small real scenario for the transaction engine: old state, a plan of simple real steps.

The namespace starts with libvirt-style iptables-nft chains (old backend), foreign tables
(Docker-, ufw-, firewalld- and netavark-style) and a network.conf under a temp root. The
plan makes (an nftables table), verifies, breaks (removes the iptables chains, ipv4 and
ipv6), writes network.conf and runs a "restart" command: every kind of step, for real.

Also runnable as a process (the crash tests SIGKILL it through VNETMIGRATE_TEST_CRASH_AT, see
tests/crashpoint.py):
    python -m tests.lab.txn_scenario NETNS STATE_DIR ROOT
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OLD_IPT = """*filter
:LIBVIRT_FWX - [0:0]
:LIBVIRT_FWI - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-I FORWARD 1 -j LIBVIRT_FWI
-I FORWARD 1 -j LIBVIRT_FWX
-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT
-A LIBVIRT_FWI -d 192.168.122.0/24 -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A LIBVIRT_FWI -o virbr0 -j REJECT --reject-with icmp-port-unreachable
-A DOCKER-USER -i virbr0 -j ACCEPT
COMMIT
*nat
:LIBVIRT_PRT - [0:0]
-I POSTROUTING 1 -j LIBVIRT_PRT
-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE
COMMIT
"""
OLD_IP6T = """*filter
:LIBVIRT_FWX - [0:0]
-I FORWARD 1 -j LIBVIRT_FWX
COMMIT
"""
FOREIGN_NFT = """
table inet firewalld {
  chain filter_INPUT { type filter hook input priority filter + 10; policy accept;
    ct state established,related accept
    iifname "lo" accept
    iifname "virbr0" accept comment "what firewalld's libvirt zone does for libvirt's bridges"
    counter reject
  }
}
table ip docker-bridges {
  chain forward { type filter hook forward priority filter; policy accept;
    oifname "docker0" ct state established,related counter accept
  }
}
table inet netavark {
  set nv { type ipv4_addr; elements = { 10.88.0.1 }; }
  chain forward { type filter hook forward priority filter; policy accept;
    ip saddr @nv accept
  }
}
table inet ufw-like {
  chain input { type filter hook input priority 0; policy accept;
    tcp dport 22 accept
  }
}
"""
NEW_NFT = [
    {"add": {"table": {"family": "ip", "name": "libvirt_network"}}},
    {"add": {"chain": {"family": "ip", "table": "libvirt_network", "name": "forward", "type": "filter",
                       "hook": "forward", "prio": 0, "policy": "accept"}}},
    {"add": {"chain": {"family": "ip", "table": "libvirt_network", "name": "guest_cross"}}},
    {"add": {"rule": {"family": "ip", "table": "libvirt_network", "chain": "forward",
                      "expr": [{"counter": None}, {"jump": {"target": "guest_cross"}}]}}},
    {"add": {"rule": {"family": "ip", "table": "libvirt_network", "chain": "guest_cross",
                      "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "virbr0"}},
                               {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "virbr0"}},
                               {"counter": None}, {"accept": None}]}}},
]
NETWORK_CONF_OLD = '# libvirt network.conf\n#firewall_backend = "nftables"\nfirewall_backend = "iptables"\n'
NETWORK_CONF_NEW = '# libvirt network.conf\n#firewall_backend = "nftables"\nfirewall_backend = "nftables"\n'


def setup_old(ns: str, root: Path) -> None:
    for argv, text in ((["nft", "-f", "-"], FOREIGN_NFT), (["iptables-nft-restore", "--noflush"], OLD_IPT),
                       (["ip6tables-nft-restore", "--noflush"], OLD_IP6T)):
        subprocess.run(["ip", "netns", "exec", ns, *argv], input=text, text=True, check=True)
    conf = root / "etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(NETWORK_CONF_OLD)


def plan(root: Path, restart_log: Path | None = None):
    from vnetmigrate.txn import steps

    log = restart_log or root / "restarts.log"
    remove_v4 = ("*filter\n-D FORWARD -j LIBVIRT_FWX\n-D FORWARD -j LIBVIRT_FWI\n"
                 "-F LIBVIRT_FWX\n-X LIBVIRT_FWX\n-F LIBVIRT_FWI\n-X LIBVIRT_FWI\nCOMMIT\n"
                 "*nat\n-D POSTROUTING -j LIBVIRT_PRT\n-F LIBVIRT_PRT\n-X LIBVIRT_PRT\nCOMMIT\n")
    remove_v6 = "*filter\n-D FORWARD -j LIBVIRT_FWX\n-X LIBVIRT_FWX\nCOMMIT\n"
    return steps.Plan("test migration", (
        steps.nft("add the new rules", NEW_NFT, [("ip", "libvirt_network")]),
        steps.verify("the new rules are there", "nft-rule-counts", table="ip libvirt_network",
                     chains={"forward": 1, "guest_cross": 1}),
        steps.ipt("remove the old ipv4 rules", "ipv4", remove_v4,
                  [("filter", "LIBVIRT_FWX"), ("filter", "LIBVIRT_FWI"), ("nat", "LIBVIRT_PRT")]),
        steps.ipt("remove the old ipv6 rules", "ipv6", remove_v6, [("filter", "LIBVIRT_FWX")]),
        steps.file("switch network.conf", "/etc/libvirt/network.conf", NETWORK_CONF_NEW, NETWORK_CONF_OLD),
        steps.restart("restart the daemon", ["/bin/sh", "-c", f"echo restart >> {log}"]),
    ))


def main() -> int:
    from tests import crashpoint
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import engine, recovery
    from vnetmigrate.txn.statedir import StateDir

    crashpoint.arm()
    ns, state_dir, root = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    chosen = plan(root)
    if os.environ.get("VNM_TEST_FAIL_LAST"):  # a last step the kernel refuses: the run rolls back
        from dataclasses import replace

        from vnetmigrate.txn import steps
        bad = steps.ipt("refused", "ipv4", "*filter\n-X NO_SUCH_CHAIN\nCOMMIT\n", [("filter", "NO_SUCH_CHAIN")])
        chosen = replace(chosen, steps=chosen.steps + (bad,))
    with entered(ns), StateDir(state_dir) as state:
        recovery.recover(state, "interrupted transaction found by a new run")
        out = engine.run(chosen, state, root, netns=ns)
    print(out.status)
    return int(out.exit_code)


if __name__ == "__main__":
    sys.exit(main())
