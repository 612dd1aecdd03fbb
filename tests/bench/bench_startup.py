"""Benchmark: start-up cost of the CLI against a bare interpreter start, same run.

Design target: `vnetmigrate --help` within 150 ms of `python -c pass` (commands import their
heavy modules lazily). Run:  .venv/bin/python -m tests.bench.bench_startup [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    py = sys.executable
    base = wall([py, "-c", "pass"], args.repeat)
    print(f"{'command':<34}{'median s':>10}{'beyond bare':>13}")
    print(f"{'python -c pass':<34}{base:>10.3f}{'':>13}")
    for label, argv in (("vnetmigrate --version", ["--version"]), ("vnetmigrate --help", ["--help"]),
                        ("vnetmigrate scan --help", ["scan", "--help"])):
        t = wall([py, "-m", "vnetmigrate", *argv], args.repeat)
        print(f"{label:<34}{t:>10.3f}{(t - base) * 1000:>10.0f} ms")
    print("target: --help within 150 ms of the bare interpreter")


if __name__ == "__main__":
    main()
