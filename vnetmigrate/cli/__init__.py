"""The vnetmigrate command line.

`vnetmigrate --version` and `vnetmigrate --help` alone, and plain `scan`, `plan`, `migrate`
and `rollback` command lines, are answered without importing typer (cli/fast.py): typer, its
click and pydantic layers and the commands' modules cost more start-up than the answer (or a
small host's scan, or a sixth of a migration of 100 networks). Everything else runs the typer
app (cli/typerapp.py), imported here on first use: `from vnetmigrate.cli import app` works as
before.
"""

from __future__ import annotations

import sys  # nothing else: `typing` alone costs a few ms of start-up


def main() -> None:
    from vnetmigrate.cli import fast

    if fast.answer(sys.argv[1:]) or fast.scan(sys.argv[1:]) or fast.txn(sys.argv[1:]):
        return
    from vnetmigrate.cli.typerapp import app

    app(prog_name="vnetmigrate")


def entry() -> None:
    """The console script and `python -m vnetmigrate`: main(), in a process that ends with it.

    At exit Python runs its cyclic collector over every object still alive (and the garbage
    cycles scan leaves while the collector is paused: vnetmigrate/gcpause.py): ~70 ms after a
    scan of a 50,000-rule chain, for memory the system takes back anyway. Frozen objects are
    skipped. Everything else of the exit (atexit, flushing stdout and stderr) happens as before;
    the objects skipped hold no buffered file (the project writes its files in `with` blocks
    or through raw descriptors). Tests call main() in process: it leaves the collector alone."""
    import gc

    try:
        main()
    finally:
        gc.freeze()


def __getattr__(name: str) -> object:
    if name == "app":
        from vnetmigrate.cli.typerapp import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
