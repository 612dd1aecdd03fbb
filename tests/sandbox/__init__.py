"""The lab: throwaway KVM-host look-alikes in network namespaces, probed with real packets.

Topology of ``Lab()`` (one network; each extra `LabNetwork` adds a bridge and a guest)::

    guest0 ns (vnm-guest0-PID-RAND)     host ns (vnm-host-PID-RAND)            wan ns (vnm-wan-PID-RAND)
    eth0 192.168.122.10/24  --veth--  vnet0 ─┐                                 eth0 203.0.113.1/24
    52:54:00:76:6e:00                        virbr0 192.168.122.1/24           lo   198.51.100.1/32 ("remote")
    default via 192.168.122.1                eth0 203.0.113.2/24  --veth--     (no route to any guest subnet)
                                             default via 203.0.113.1
                                             net.ipv4.ip_forward=1

- LabNetwork i: ``LabNetwork(name, bridge, cidr)``; gateway = first address, guest = address + 10,
  DHCP range .2 - last-but-one. Guest i's veth is `vnet<i>` on the host side.
- The uplink is called `eth0` by default (``Lab(uplink="enp1s0")`` mimics another host).
- wan has no route back to guest subnets, so guest -> wan traffic is answered only if the host
  masquerades it: a passing guest->wan probe *is* the proof of NAT. The echo server reports
  the source it saw (`ProbeResult.seen_as`): 203.0.113.2 when masqueraded.
- Servers (started on first use, killed on teardown): wan TCP 80 + UDP 7, guest TCP 22 +
  UDP 7; each replies ``<line> <peer ip:port>``.
- IPv6 is disabled on lab links (``ipv6=False``): no RS/MLD noise in traces.
- Namespaces are removed on exit, exception, Ctrl-C, SIGTERM/SIGHUP; after SIGKILL,
  `namespaces.sweep()` removes them (owner recorded in /run/vnetmigrate-sandbox/NAME.json).

Use::

    from tests.sandbox import Lab, fixtures
    with Lab() as lab:
        lab.iptables_restore(fixtures.libvirt_iptables_v4())   # or lab.nft(fixtures.libvirt_nftables())
        assert lab.ping().ok and lab.tcp().ok and lab.ssh().ok
        with lab.trace() as t:
            lab.ping()
        print(t.result.verdict, t.result.decided_by)            # e.g. drop, ip filter FORWARD policy drop

Modules: `topology` (layout as data), `namespaces` (names, owners, sweep, commands inside),
`lifecycle` (build/teardown, processes, signals), `lab` (the `Lab` facade), `rules` (load and
read nft/iptables), `fixtures` (libvirt and Docker rule text), `probes`, `echo`, `trace`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Lab", "LabNetwork", "ProbeResult", "fixtures", "sweep"]


def __getattr__(name: str) -> Any:  # lazy: a test that needs only `fixtures` does not load the lab
    if name == "Lab":
        from tests.sandbox.lab import Lab
        return Lab
    if name == "LabNetwork":
        from tests.sandbox.topology import LabNetwork
        return LabNetwork
    if name == "ProbeResult":
        from tests.sandbox.probes import ProbeResult
        return ProbeResult
    if name == "sweep":
        from tests.sandbox.namespaces import sweep
        return sweep
    if name == "fixtures":
        return importlib.import_module("tests.sandbox.fixtures")
    raise AttributeError(name)
