"""Decide what the kernel does with a described packet, from a host's facts.

    from vnetmigrate.evaluate import after_switch, evaluate, host_probes, of_facts
    rs = of_facts(facts)                           # native nft + iptables-nft + legacy chains
    for probe in host_probes(facts):               # DHCP, DNS, forwarded, replies, port forwards
        result = evaluate(rs, probe.packet)        # verdict, deciding pass, path, or why unknown
    after = after_switch(rs).ruleset              # libvirt's iptables rules gone (see switch.py)

Modules: `packet` (what a probe describes, symbolic uplink), `values`/`fields` (matches),
`nftcompile`/`iptcompile` (rules -> operations), `ruleset` (the chains, from facts),
`chainrun` (one base chain), `engine` (every hook, priorities), `result`, `probes`, `switch`.
"""

from __future__ import annotations

from vnetmigrate.evaluate.engine import evaluate
from vnetmigrate.evaluate.packet import Iface, Packet
from vnetmigrate.evaluate.probes import Ports, Probe, host_probes, network_probes, port_forward_probe
from vnetmigrate.evaluate.result import Pass, Result
from vnetmigrate.evaluate.ruleset import Ruleset, from_facts, of_facts
from vnetmigrate.evaluate.switch import AfterSwitch, after_switch

__all__ = ["AfterSwitch", "Iface", "Packet", "Pass", "Ports", "Probe", "Result", "Ruleset", "after_switch",
           "evaluate", "from_facts", "of_facts", "host_probes", "network_probes", "port_forward_probe"]
