"""`Lab`: the object tests (and later `vnetmigrate rehearse`) use: topology + rules + probes + traces.

Rules go into the host namespace unless ``ns=`` says otherwise; the rule source is whatever
the caller passes (fixture text, a model's output, a copy of a real host's ruleset).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import os
import subprocess

from tests.sandbox import dnsmasq, namespaces, probes, rules, services, topology
from tests.sandbox.lifecycle import LabBase
from tests.sandbox.probes import ProbeResult, TcpSession
from tests.sandbox.topology import GUEST_TCP_PORT, REMOTE_IP, WAN_IP, Guest
from tests.sandbox.trace import Tracer

T = probes.DEFAULT_TIMEOUT


class Lab(LabBase):
    def guest(self, which: int | str = 0) -> Guest:
        """A guest by index or by its network's name or bridge."""
        for g in self.guests:
            if which in (g.index, g.network.name, g.network.bridge):
                return g
        raise KeyError(f"no lab guest {which!r}")

    # -- rules ------------------------------------------------------------------
    def nft(self, text: str, ns: str | None = None) -> str:
        return rules.nft_cmd(ns or self.host, text)

    def nft_json(self, doc: dict[str, Any], ns: str | None = None) -> dict[str, Any] | None:
        return rules.nft_json(ns or self.host, doc)

    def iptables_restore(self, text: str, *, family: int = 4, legacy: bool = False,
                         ns: str | None = None) -> None:
        rules.iptables_restore(ns or self.host, text, family=family, legacy=legacy)

    def iptables(self, *args: str, family: int = 4, legacy: bool = False, check: bool = True,
                 ns: str | None = None):
        return rules.iptables(ns or self.host, args, family=family, legacy=legacy, check=check)

    def iptables_save(self, *, family: int = 4, legacy: bool = False, ns: str | None = None) -> str:
        return rules.iptables_save(ns or self.host, family=family, legacy=legacy)

    def ruleset(self, counters: bool = False, ns: str | None = None) -> dict[str, Any]:
        return rules.ruleset(ns or self.host, counters=counters)

    def run(self, argv: Sequence[str], *, ns: str | None = None, check: bool = True,
            input: str | None = None, timeout: float = 30):
        """Any command inside a lab namespace (host by default), via `ip netns exec`."""
        return namespaces.run(ns or self.host, argv, check=check, input=input, timeout=timeout)

    # -- probes -----------------------------------------------------------------
    def _far_end(self, dst: str) -> None:
        if dst in (REMOTE_IP, WAN_IP):
            self.ensure_server(self.wan, tcp=[topology.WAN_TCP_PORT], udp=[topology.ECHO_UDP_PORT])

    def _src(self, g: Guest) -> str:
        return f"guest{g.index} {g.ip}"

    def ping(self, dst: str = REMOTE_IP, guest: int | str = 0, timeout: float = T) -> ProbeResult:
        g = self.guest(guest)
        return probes.icmp_echo(g.ns, self._src(g), dst, timeout)

    def tcp(self, dst: str = REMOTE_IP, port: int = topology.WAN_TCP_PORT, guest: int | str = 0,
            timeout: float = T) -> ProbeResult:
        self._far_end(dst)
        g = self.guest(guest)
        return probes.tcp_exchange(g.ns, self._src(g), dst, port, timeout)

    def udp(self, dst: str = REMOTE_IP, port: int = topology.ECHO_UDP_PORT, guest: int | str = 0,
            timeout: float = T) -> ProbeResult:
        self._far_end(dst)
        g = self.guest(guest)
        return probes.udp_exchange(g.ns, self._src(g), dst, port, timeout)

    def ssh(self, guest: int | str = 0, timeout: float = T) -> ProbeResult:
        """The Fedora change's "Attempt to SSH to the guest from the host": TCP from the host namespace to port 22."""
        g = self.guest(guest)
        self.ensure_server(g.ns, tcp=[GUEST_TCP_PORT], udp=[topology.ECHO_UDP_PORT])
        return probes.tcp_exchange(self.host, f"host {g.network.gateway}", g.ip, GUEST_TCP_PORT, timeout)

    def tcp_session(self, dst: str = REMOTE_IP, port: int = topology.WAN_TCP_PORT,
                    guest: int | str = 0, timeout: float = T) -> TcpSession:
        """An open guest->dst connection; `.roundtrip()` shows whether it still works."""
        self._far_end(dst)
        g = self.guest(guest)
        return TcpSession(g.ns, self._src(g), dst, port, timeout)

    # -- the host's services: dnsmasq, DHCP, DNS ---------------------------------
    def start_dnsmasq(self, network: int | str = 0, ping_check: bool = True) -> subprocess.Popen:
        """dnsmasq on the network's bridge, configured like libvirt's (see `dnsmasq`).

        Its log (every DHCP exchange) goes to ``<tmpdir>/dnsmasq/<network>.log``.
        """
        net = self.guest(network).network
        assert self.tmpdir is not None, "the lab is not started"
        os.chmod(self.tmpdir, 0o755)  # dnsmasq re-reads its files after dropping root
        directory = os.path.join(self.tmpdir, "dnsmasq")
        conf = dnsmasq.write_files(net, directory, ping_check)
        log = os.path.join(directory, f"{net.name}.log")
        with open(log, "w") as out:  # a file, not a pipe: a full pipe would stall dnsmasq
            proc = self.spawn(self.host, dnsmasq.argv(conf), stdout=out, stderr=out)
        dnsmasq.wait_ready(self.host, net, proc, log)
        return proc

    def dhcp(self, guest: int | str = 0, timeout: float = 2 * T) -> ProbeResult:
        """DISCOVER..ACK from the guest's interface (needs `start_dnsmasq` for its network)."""
        return services.dhcp_probe(self.guest(guest), timeout)

    def dns(self, name: str = dnsmasq.PROBE_NAME, guest: int | str = 0, timeout: float = T) -> ProbeResult:
        """An A query from the guest to its gateway (dnsmasq answers PROBE_NAME -> REMOTE_IP)."""
        g = self.guest(guest)
        return services.dns_probe(g, g.network.gateway, name, timeout)

    # -- traces -----------------------------------------------------------------
    def trace(self, guest: int | str = 0, match: str | None = None) -> Tracer:
        """Trace packets in the host namespace: ``with lab.trace() as t: lab.ping()``.

        By default every packet the guest sends; `match` is any nft match expression.
        """
        return Tracer(self.host, match or f"ip saddr {self.guest(guest).ip}")
