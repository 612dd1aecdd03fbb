"""Benchmark: `vnetmigrate scan` on a Kubernetes/Docker-sized host, against bare listings.

Builds a throwaway namespace holding ~50,000 iptables-nft rules in ~2,500 chains (Docker's
filter chains plus kube-proxy-style nat service chains) and 100 active libvirt NAT networks
(bridges, nftables tables, status files under a temporary root), then measures in the same
run, each in a fresh process: `python -c pass` (interpreter start-up), `nft -j list ruleset`,
`iptables-nft-save`, and `vnetmigrate scan --format json`. Prints wall time, peak RSS (through GNU time)
and the ratios against the bare listings. Run as root:

    .venv/bin/python -m tests.bench.bench_scan [--rules 50000] [--networks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.bench.hostgen import build_big_host


GNU_TIME = "/usr/bin/time"  # Debian package `time`


def measure(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MB) of `argv`, each run in a fresh process.

    Peak memory comes from GNU time: a child forked from this Python process would inherit
    its resident pages in ru_maxrss, inflating every small command's figure.
    """
    walls, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([GNU_TIME, "-f", "%M", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode not in (0, 3, 4):
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        peaks.append(int(proc.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(walls), max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=50_000)
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds a network namespace")
    if not os.path.exists(GNU_TIME):
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time (or dnf install time)")
    ns = f"vnm-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="vnm-bench-") as root:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            t0 = time.perf_counter()
            counts = build_big_host(ns, Path(root), args.rules, args.networks)
            time.sleep(3)  # a namespace deleted just before slows the next nft calls (HACKING.md facts)
            print(f"host: {counts['rules']} iptables-nft rules in {counts['chains']} chains, "
                  f"{counts['networks']} libvirt networks ({counts['nft_rules']} nft rules); "
                  f"built in {time.perf_counter() - t0:.1f} s")
            inns = ["ip", "netns", "exec", ns]
            py = sys.executable
            rows = {
                "python -c pass": measure([py, "-c", "pass"], args.repeat),
                "nft -j list ruleset": measure(inns + ["nft", "-j", "list", "ruleset"], args.repeat),
                "nft -j list chains": measure(inns + ["nft", "-j", "list", "chains"], args.repeat),
                "iptables-nft-save": measure(inns + ["iptables-nft-save"], args.repeat),
                "vnetmigrate scan": measure([py, "-m", "vnetmigrate", "scan", "--netns", ns, "--root", root,
                                             "--format", "json"], args.repeat),
            }
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    base_wall = rows["python -c pass"][0]
    print(f"\n{'command':<24}{'wall s':>9}{'peak MB':>10}")
    for name, (wall, peak) in rows.items():
        print(f"{name:<24}{wall:>9.3f}{peak:>10.1f}")
    scan_wall, scan_peak = rows["vnetmigrate scan"]
    dump_wall, dump_peak = rows["nft -j list ruleset"]
    save_wall, save_peak = rows["iptables-nft-save"]
    print(f"\nscan beyond interpreter start-up: {scan_wall - base_wall:.3f} s (target < 0.5 s), "
          f"peak {scan_peak:.0f} MB (target < 120 MB)")
    print(f"nft -j list ruleset / scan: {dump_wall / scan_wall:.1f}x wall, {dump_peak / scan_peak:.1f}x memory "
          f"(target >= 4x both)")
    print(f"iptables-nft-save / scan: {save_wall / scan_wall:.2f}x wall, {save_peak / scan_peak:.2f}x memory")


if __name__ == "__main__":
    main()
