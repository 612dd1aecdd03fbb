"""Progress goes to standard error only when it is a terminal, and never with --quiet."""

import io
import os
import pty
import subprocess
import sys

from rich.console import Console

from tests.unit.test_cli_scan import docker_host
from vnetmigrate.cli.progress import Progress
from vnetmigrate.txn import boundaries


def scan_with_stderr_on_a_terminal(*args: str) -> tuple[str, str]:
    """Run the CLI with a real pseudo-terminal as standard error; (stdout, what the terminal got)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "vnetmigrate", *args], stdout=subprocess.PIPE,
                            stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    return out, seen.decode(errors="replace")


def test_progress_on_a_terminal_and_not_with_quiet(tmp_path):
    evidence = docker_host(tmp_path)
    out, terminal = scan_with_stderr_on_a_terminal("scan", "--from", evidence)
    assert out.startswith("Verdict: ") and "checking the host" in terminal
    out, terminal = scan_with_stderr_on_a_terminal("scan", "--from", evidence, "-q")
    assert len(out.splitlines()) == 1 and terminal == ""


def test_a_transaction_shows_its_steps_through_the_engines_boundaries():
    console = Console(file=io.StringIO(), force_terminal=True)
    with console.status("migrating...") as status:
        p = Progress(status)
        boundaries.observers.append(p.boundary)
        try:
            boundaries.reached("before", 2)
            assert str(status.status) == "running step 3..."  # no step count announced
            boundaries.reached("planned", 7)
            boundaries.reached("before", 2)
            assert str(status.status) == "running step 3 of 7..."
            boundaries.reached("undo", 0)
            assert str(status.status) == "undoing step 1 of 7..."
        finally:
            boundaries.observers.remove(p.boundary)
