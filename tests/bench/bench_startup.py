"""Benchmark: start-up of the installed `vnetmigrate` command against a bare interpreter start,
alternating round by round.

Each round runs, in a rotating order, `python -c pass` (this environment's interpreter: the
same site-packages and .pth files the console script starts with), `vnetmigrate --version`,
`vnetmigrate --help` and `vnetmigrate scan --help`; the medians and each command's median
cost beyond the bare interpreter are printed. Goal: `--version` and `--help` within 60 ms.
Run:  .venv/bin/python -m tests.bench.bench_startup [--rounds 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from tests.bench import results

GOAL_MS = 60


def once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (tests/bench/results.py)")
    args = ap.parse_args()
    vnm = results.installed_command()
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "vnetmigrate --version": [vnm, "--version"],
                "vnetmigrate --help": [vnm, "--help"], "vnetmigrate scan --help": [vnm, "scan", "--help"]}
    names = list(commands)
    before = results.load()
    for name in names:  # warm the page cache and bytecode once, untimed
        once(commands[name])
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            times[name].append(once(commands[name]))
    after = results.load()
    med = {n: statistics.median(t) for n, t in times.items()}
    base = med["python -c pass"]
    print(f"{'command':<28}{'median s':>10}{'beyond bare':>14}")
    for name in names:
        extra = "" if name == "python -c pass" else f"{(med[name] - base) * 1000:>11.0f} ms"
        print(f"{name:<28}{med[name]:>10.3f}{extra:>14}")
    print(f"goal: --version and --help within {GOAL_MS} ms of the bare interpreter; "
          f"load average before {before}, after {after}")
    results.emit(args.json, {
        "bench": "startup", "machine": results.machine(), "load": {"before": before, "after": after},
        "rows": [{"shape": "any host (no host is read)", "rounds": args.rounds,
                  "figures": {n: round(v, 4) for n, v in med.items()},
                  "ratios": {f"{n} beyond bare (ms)": round((med[n] - base) * 1000, 1) for n in names[1:]}}],
        "goals": {"vnetmigrate --version beyond bare (ms)": f"<= {GOAL_MS}",
                  "vnetmigrate --help beyond bare (ms)": f"<= {GOAL_MS}"},
        "notes": ["the installed console script of this environment against its own interpreter, alternating"]})


if __name__ == "__main__":
    main()
