"""What every benchmark under tests/bench reports besides its printed table: one JSON document
(`--json FILE`, `-` for standard output) that `python -m tests.bench.table` turns into
docs/benchmarks.md.

    {"bench": "migrate", "machine": {...}, "load": {"before": [1, 5, 15], "after": [...]},
     "rows": [{"shape": "what the host holds", "figures": {"name": seconds or MB, ...},
               "ratios": {"name": number, ...}, "goals": {"name": "text of the goal"}}],
     "notes": ["..."]}

Figures are medians of rounds in which the tool and its anchors alternated.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (what `uptime` prints)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nft = subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nft = ""
    mem = ""
    try:
        kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal:")))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "nft": nft,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def installed_command() -> str:
    """The `vnetmigrate` console script of this interpreter's environment: what users run
    (`python -m vnetmigrate` skips the entry point and can differ in start-up)."""
    path = Path(sys.executable).parent / "vnetmigrate"
    if not path.exists():
        raise SystemExit(f"{path} is missing: install the package into this environment (pip install -e .)")
    return str(path)


def emit(target: str | None, doc: dict[str, Any]) -> None:
    if not target:
        return
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text)
