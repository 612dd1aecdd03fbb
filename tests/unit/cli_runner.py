"""typer's CliRunner with stderr kept apart from stdout, under every typer the project supports.

typer 0.29 (its own click) always separates them; click 8.1, which Debian 13's typer 0.15 runs
on, mixes stderr into stdout unless told not to, and captures stderr in a buffered text
wrapper that it reads without flushing: what the CLI writes with a bare sys.stderr.write()
(a real process flushes it at exit) would be lost, so that wrapper is made write-through.
(tests/unit/test_typer_floor.py runs the CLI tests under Debian 13's versions.)
"""

from __future__ import annotations

import contextlib
import inspect
import sys

from typer.testing import CliRunner


class _FlushingCliRunner(CliRunner):
    @contextlib.contextmanager
    def isolation(self, *args, **kwargs):
        with super().isolation(*args, **kwargs) as streams:
            sys.stderr.reconfigure(write_through=True)
            yield streams


def cli_runner() -> CliRunner:
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return _FlushingCliRunner(mix_stderr=False)
    return CliRunner()
