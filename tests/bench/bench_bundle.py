"""Benchmark: `vnetmigrate bundle` on a Kubernetes/Docker-sized host, against `nft -j list ruleset`.

Builds the host of bench_scan (tests/bench/hostgen.py: ~50,000 iptables-nft rules in ~2,500
chains and 100 libvirt networks under the nftables backend, in a throwaway namespace), then
measures in the same run, each in a fresh process, alternating round by round so that a
machine whose load changes weighs on every command alike: `nft -j list ruleset` (which the
bundle itself contains), `vnetmigrate bundle` and `vnetmigrate bundle --redact`. Prints the
median wall time and peak RSS (GNU time: the largest process of the tree, which for the bundle
is the `nft -j list ruleset` it runs) of each, vnetmigrate's own peak (RUSAGE_SELF, through
tests/bench/selfrss.py), and the ratios against `nft -j list ruleset`.
Run as root:

    .venv/bin/python -m tests.bench.bench_bundle [--rules 50000] [--networks 100] [--rounds 3]
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

from tests.bench.bench_scan import GNU_TIME
from tests.bench.hostgen import build_big_host


def once(argv: list[str], own: Path | None = None) -> tuple[float, float, float | None]:
    """Wall seconds, peak RSS of the process tree (MB, GNU time's %M) and, where `own` is
    given (argv runs through selfrss), of vnetmigrate's own process, for one run of argv."""
    start = time.perf_counter()
    proc = subprocess.run([GNU_TIME, "-f", "%M", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    mine = int(own.read_text()) / 1024 if own is not None else None
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024, mine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=50_000)
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds a network namespace")
    if not os.path.exists(GNU_TIME):
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time (or dnf install time)")
    ns = f"vnm-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="vnm-bench-") as root, \
            tempfile.TemporaryDirectory(prefix="vnm-bench-out-") as out:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            t0 = time.perf_counter()
            counts = build_big_host(ns, Path(root), args.rules, args.networks)
            time.sleep(3)  # a namespace deleted just before slows the next nft calls (HACKING.md facts)
            print(f"host: {counts['rules']} iptables-nft rules in {counts['chains']} chains, "
                  f"{counts['networks']} libvirt networks ({counts['nft_rules']} nft rules); "
                  f"built in {time.perf_counter() - t0:.1f} s")
            py = sys.executable
            own = Path(out) / "own-rss"
            bundle = [py, "-m", "tests.bench.selfrss", str(own), "bundle", "--netns", ns, "--root", root,
                      "--format", "json"]
            commands = {
                "nft -j list ruleset": ["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"],
                "vnetmigrate bundle": [*bundle, "-o", f"{out}/plain.tar.gz"],
                "vnetmigrate bundle --redact": [*bundle, "--redact", "-o", f"{out}/redacted.tar.gz"],
            }
            runs: dict[str, list[tuple[float, float, float | None]]] = {name: [] for name in commands}
            for r in range(args.rounds):
                for name, argv in commands.items():
                    runs[name].append(once(argv, own if "bundle" in name else None))
                    wall, peak, mine = runs[name][-1]
                    print(f"round {r + 1}: {name}: {wall:.2f} s, {peak:.0f} MB"
                          + (f" (vnetmigrate itself {mine:.0f} MB)" if mine is not None else ""), flush=True)
            sizes = {p.name: p.stat().st_size for p in Path(out).glob("*.tar.gz")}
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    rows = {name: (statistics.median(w for w, _, _ in r), max(m for _, m, _ in r),
                   max((o for _, _, o in r if o is not None), default=None)) for name, r in runs.items()}
    print(f"\n{'command':<30}{'wall s':>9}{'peak MB':>10}{'own MB':>9}")
    for name, (wall, peak, mine) in rows.items():
        print(f"{name:<30}{wall:>9.2f}{peak:>10.1f}" + (f"{mine:>9.1f}" if mine is not None else ""))
    base_wall, base_peak, _ = rows["nft -j list ruleset"]
    for name in ("vnetmigrate bundle", "vnetmigrate bundle --redact"):
        wall, peak, mine = rows[name]
        print(f"{name} / nft -j list ruleset: {wall / base_wall:.1f}x wall, {peak / base_peak:.1f}x peak memory "
              f"(vnetmigrate's own process: {mine / base_peak:.1f}x)")
    print("archives: " + ", ".join(f"{n} {s / 2**20:.1f} MiB" for n, s in sorted(sizes.items())))


if __name__ == "__main__":
    main()
