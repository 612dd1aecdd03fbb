"""`python -m tests.bench.selfrss OUT ARGS...` runs `vnetmigrate ARGS...` and writes the peak RSS
(KiB) of that Python process alone (RUSAGE_SELF: not of the commands it ran) to OUT."""

from __future__ import annotations

import resource
import runpy
import sys

if __name__ == "__main__":
    out, sys.argv = sys.argv[1], ["vnetmigrate", *sys.argv[2:]]
    try:
        runpy.run_module("vnetmigrate", run_name="__main__", alter_sys=True)
    finally:
        with open(out, "w") as fh:
            fh.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
