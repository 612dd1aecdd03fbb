"""Benchmark: `vnetmigrate scan` against `nft -j list ruleset` of the same host, host shape by shape.

Each host shape (tests/bench/hostgen.py) is built in a throwaway namespace with its libvirt
files under a temporary root; then, round by round, each command runs once in a fresh process
(the order rotating each round, so neither side always runs on a warmer machine):

- `python -c pass` with the virtual environment's interpreter (interpreter start-up);
- `nft -j list ruleset` (the anchor: everything the kernel holds, as JSON);
- the shape's floor, where it has one (the narrowest listing that still holds what scan needs);
- the INSTALLED command, `.venv/bin/vnetmigrate scan --netns NS --root ROOT --format json`;
- with `--baseline-tool CMD`, another install's scan (an older commit: before/after in the same rounds).

Commands in the namespace run through `nsenter --net=` (one light exec, the same for all).
Wall time is the median of the rounds; peak memory is the child's maximum resident set as GNU
time reports it (a child forked from this Python process would carry this process's resident
pages into ru_maxrss). Prints a table per shape and, with `--json PATH` ('-': stdout, the tables
then go to stderr), one JSON object per shape per line for the benchmark table's generator:

    {"shape": "nft-forward-50k", "host": "...", "rules": 50500, "chains": 501, "networks": 100,
     "rounds": 5, "load": [1.2, 1.4],                       # 1-minute load average before, after
     "commands": {"python -c pass": {"wall_s": 0.02, "peak_mb": 9.8, "walls": [...], "peaks": [...]},
                  "nft -j list ruleset": {...}, "vnetmigrate scan": {...}, ...},
     "scan": {"wall_s": 1.1, "peak_mb": 60.2, "beyond_interpreter_s": 1.08},
     "anchor": {"command": "nft -j list ruleset", "wall_s": 2.1, "peak_mb": 365.0},
     "ratio": {"wall": 0.52, "memory": 0.16},               # scan / anchor
     "goals": {"half_wall": false, "half_memory": true, "under_150mb": true, "not_slower": true}}

Run as root (the 200k shape takes minutes of the anchor's time per round; only with --big):

    .venv/bin/python -m tests.bench.bench_scan [--shapes a,b] [--rounds 5] [--big] [--json PATH] [--tool CMD]
        [--baseline-tool CMD]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.bench.hostgen import build_host

GNU_TIME = "/usr/bin/time"  # Debian package `time`
ANCHOR = "nft -j list ruleset"
SCAN = "vnetmigrate scan"
BASELINE = "baseline scan"
BASE = "python -c pass"


@dataclass(frozen=True)
class Shape:
    id: str
    host: str  # as the table names it
    build: dict  # hostgen.build_host keyword arguments
    floor: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (label, argv inside the namespace)
    big: bool = False  # only with --big


SHAPES = (
    Shape("small", "1k iptables-nft rules off the guests' path, 10 networks",
          dict(networks=10, offpath_rules=1_000)),
    Shape("offpath-10k", "10k iptables-nft rules off the guests' path, 100 networks",
          dict(networks=100, offpath_rules=10_000)),
    Shape("offpath-50k", "50k iptables-nft rules in 2,500 chains off the guests' path, 100 networks",
          dict(networks=100, offpath_rules=50_000), floor=(("nft -j list chains", ("nft", "-j", "list", "chains")),)),
    Shape("offpath-200k", "200k iptables-nft rules off the guests' path, 100 networks",
          dict(networks=100, offpath_rules=200_000), floor=(("nft -j list chains", ("nft", "-j", "list", "chains")),),
          big=True),
    Shape("nft-forward-10k", "10k native rules in `inet filter` forward (one chain), 100 networks",
          dict(networks=100, native_rules=10_000)),
    Shape("nft-forward-50k", "50k native rules in `inet filter` forward (one chain), 100 networks",
          dict(networks=100, native_rules=50_000),
          floor=(("nft -j list chain (forward)", ("nft", "-j", "list", "chain", "inet", "filter", "forward")),)),
    Shape("nft-chains-50k", "50k native rules in 500 chains jumped to from forward, 100 networks",
          dict(networks=100, native_rules=50_000, native_chains=500)),
    Shape("ipt-forward-50k", "50k iptables-nft rules in a chain jumped to from FORWARD, 100 networks",
          dict(networks=100, iptables_path_rules=50_000),
          floor=(("iptables-nft -S (that chain)", ("iptables-nft", "-t", "filter", "-S", "HOST-FORWARD")),)),
    Shape("networks-500", "1k iptables-nft rules off the guests' path, 500 networks",
          dict(networks=500, offpath_rules=1_000)),
)


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([GNU_TIME, "-f", "%M", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 3, 4):  # scan's verdict exit codes
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def measure_rounds(commands: dict[str, list[str]], rounds: int) -> dict[str, dict]:
    """Every command once per round, the order rotating by one each round."""
    names = list(commands)
    walls: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            wall, peak = run_once(commands[name])
            walls[name].append(round(wall, 4))
            peaks[name].append(round(peak, 1))
    return {n: {"wall_s": round(statistics.median(walls[n]), 4), "peak_mb": max(peaks[n]),
                "walls": walls[n], "peaks": peaks[n]} for n in names}


def load1() -> float:
    return os.getloadavg()[0]


def bench_shape(shape: Shape, rounds: int, tool: str, out, baseline: str | None = None) -> dict:
    ns = f"vnm-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="vnm-bench-") as root:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            t0 = time.perf_counter()
            counts = build_host(ns, Path(root), **shape.build)
            time.sleep(3)  # a namespace deleted just before slows the next nft calls (HACKING.md facts)
            print(f"\n== {shape.id}: {shape.host}\n   {counts['rules']} rules in {counts['chains']} chains "
                  f"besides {counts['networks']} libvirt networks ({counts['nft_rules']} nft rules); "
                  f"built in {time.perf_counter() - t0:.1f} s", file=out, flush=True)
            inns = ["nsenter", f"--net=/run/netns/{ns}"]
            commands = {BASE: [sys.executable, "-c", "pass"],
                        ANCHOR: inns + ["nft", "-j", "list", "ruleset"],
                        **{label: inns + list(argv) for label, argv in shape.floor},
                        SCAN: [tool, "scan", "--netns", ns, "--root", root, "--format", "json"]}
            if baseline:
                commands[BASELINE] = [baseline, "scan", "--netns", ns, "--root", root, "--format", "json"]
            before = load1()
            rows = measure_rounds(commands, rounds)
            after = load1()
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    scan, anchor, base = rows[SCAN], rows[ANCHOR], rows[BASE]
    ratio = {"wall": round(scan["wall_s"] / anchor["wall_s"], 3), "memory": round(scan["peak_mb"] / anchor["peak_mb"], 3)}
    extra = {}
    if BASELINE in rows:
        extra["baseline"] = {"command": baseline, "wall_s": rows[BASELINE]["wall_s"],
                             "peak_mb": rows[BASELINE]["peak_mb"],
                             "ratio": {"wall": round(rows[BASELINE]["wall_s"] / anchor["wall_s"], 3),
                                       "memory": round(rows[BASELINE]["peak_mb"] / anchor["peak_mb"], 3)}}
    return {**extra, "shape": shape.id, "host": shape.host, "rules": counts["rules"], "chains": counts["chains"],
            "networks": counts["networks"], "rounds": rounds, "load": [round(before, 2), round(after, 2)],
            "commands": rows,
            "scan": {"wall_s": scan["wall_s"], "peak_mb": scan["peak_mb"],
                     "beyond_interpreter_s": round(scan["wall_s"] - base["wall_s"], 4)},
            "anchor": {"command": ANCHOR, "wall_s": anchor["wall_s"], "peak_mb": anchor["peak_mb"]},
            "ratio": ratio,
            "goals": {"half_wall": ratio["wall"] <= 0.5, "half_memory": ratio["memory"] <= 0.5,
                      "under_150mb": scan["peak_mb"] < 150, "not_slower": ratio["wall"] <= 1.0}}


def print_shape(res: dict, out) -> None:
    print(f"   rounds: {res['rounds']}, load average {res['load'][0]:.2f} -> {res['load'][1]:.2f}", file=out)
    print(f"   {'command':<32}{'wall s':>9}{'peak MB':>10}", file=out)
    for name, row in res["commands"].items():
        print(f"   {name:<32}{row['wall_s']:>9.3f}{row['peak_mb']:>10.1f}", file=out)
    r = res["ratio"]
    print(f"   scan / {ANCHOR}: {r['wall']:.2f}x wall, {r['memory']:.2f}x memory (goal <= 0.5x both); "
          f"scan beyond interpreter start: {res['scan']['beyond_interpreter_s']:.3f} s", file=out, flush=True)
    if "baseline" in res:
        b = res["baseline"]["ratio"]
        print(f"   {BASELINE} / {ANCHOR}: {b['wall']:.2f}x wall, {b['memory']:.2f}x memory", file=out, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", help="comma-separated shape ids (default: all but the --big ones): "
                    + ", ".join(s.id for s in SHAPES))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="also the 200k-rule shape (slow: minutes per round)")
    ap.add_argument("--json", metavar="PATH", help="one JSON object per shape per line ('-': stdout)")
    ap.add_argument("--tool", default=str(Path(sys.executable).parent / "vnetmigrate"),
                    help="the vnetmigrate command to time (default: this environment's installed one)")
    ap.add_argument("--baseline-tool", metavar="CMD",
                    help="another vnetmigrate install (an older commit), timed in the same rounds")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds network namespaces")
    if not os.path.exists(GNU_TIME):
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time (or dnf install time)")
    if args.shapes:
        wanted = args.shapes.split(",")
        unknown = set(wanted) - {s.id for s in SHAPES}
        if unknown:
            raise SystemExit(f"unknown shape(s): {', '.join(sorted(unknown))}")
        shapes = [s for s in SHAPES if s.id in wanted]
    else:
        shapes = [s for s in SHAPES if args.big or not s.big]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still delete the namespace when stopped
    out = sys.stderr if args.json == "-" else sys.stdout
    sink = sys.stdout if args.json == "-" else (open(args.json, "a") if args.json else None)
    try:
        for shape in shapes:
            res = bench_shape(shape, args.rounds, args.tool, out, args.baseline_tool)
            print_shape(res, out)
            if sink is not None:
                sink.write(json.dumps(res) + "\n")
                sink.flush()
    finally:
        if sink is not None and sink is not sys.stdout:
            sink.close()


if __name__ == "__main__":
    main()
