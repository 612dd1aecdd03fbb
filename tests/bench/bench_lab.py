"""Benchmark: what a lab costs. Build/teardown, each probe (answered and lost), a trace, dnsmasq.

Prints medians over --repeat runs, in milliseconds. Lost probes cost their timeout by
construction, so they are measured with the timeout the lab tests use for them. Run as root:

    .venv/bin/python -m tests.bench.bench_lab [--repeat 20] [--networks 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.sandbox import Lab, LabNetwork, fixtures

LOST = 0.25


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--networks", type=int, default=1)
    args = ap.parse_args()
    nets = [LabNetwork(f"net{i}", f"virbr{i}", f"192.168.{100 + i}.0/24") for i in range(args.networks)]
    t: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        t.setdefault(name, []).append(seconds)

    for _ in range(args.repeat):
        start = time.perf_counter()
        lab = Lab(nets).start()
        add("build (namespaces, links, addresses, sysctls)", time.perf_counter() - start)
        try:
            for name, probe in (("icmp lost (no NAT)", lambda: lab.ping(timeout=LOST)),):
                add(name, probe().duration)
            start = time.perf_counter()
            lab.iptables_restore(fixtures.libvirt_iptables_v4([n.pair for n in nets]))
            add("load libvirt iptables rules (iptables-nft-restore)", time.perf_counter() - start)
            start = time.perf_counter()
            lab.tcp()
            add("first tcp incl. starting the wan echo server", time.perf_counter() - start)
            for name, probe in (("icmp answered", lab.ping), ("tcp answered", lab.tcp),
                                ("udp answered", lab.udp), ("host->guest tcp (ssh)", lab.ssh)):
                result = probe()
                assert result.ok, result
                add(name, result.duration)
            start = time.perf_counter()
            with lab.trace() as tr:
                lab.ping()
            assert tr.result.verdict == "accept"
            add("trace of one ping (monitor start..stop)", time.perf_counter() - start)
            start = time.perf_counter()
            lab.start_dnsmasq(ping_check=False)
            add("start dnsmasq (until listening)", time.perf_counter() - start)
            add("dhcp lease (no-ping)", lab.dhcp().duration)
            add("dns query", lab.dns().duration)
        finally:
            start = time.perf_counter()
            lab.close()
            add("teardown (processes, namespaces)", time.perf_counter() - start)
    print(f"lab with {args.networks} network(s), median of {args.repeat}:")
    for name, samples in t.items():
        print(f"  {median_ms(samples)}  {name}")


if __name__ == "__main__":
    main()
