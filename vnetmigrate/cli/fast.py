"""`vnetmigrate --version` and `vnetmigrate --help` without typer: the two answers people (and
shell scripts) ask for most, at a bare interpreter's start-up cost.

HELP is typer's own top-level help as the app renders it at 80 columns or more; a unit test
(tests/unit/test_cli_fast.py) renders it through typer and fails when it differs, and rewrites
it when run as `python -m tests.unit.test_cli_fast`. Narrower terminals, where typer wraps the
text differently, and anything else on the command line go to typer.
"""

from __future__ import annotations

import os
import sys

from vnetmigrate import __version__

WIDTH = 80  # click wraps help at min(terminal columns, 80) - 2: the same text from 80 columns up

HELP = """\
Usage: vnetmigrate [OPTIONS] COMMAND [ARGS]...

  Inspect, migrate and repair libvirt's virtual-network firewall (iptables <->
  nftables).

Options:
  --version   Print the version and exit.
  --debug     Show tracebacks for errors.
  -h, --help  Show this message and exit.

Commands:
  scan      Inspect the host read-only: will guests keep working, now and...
  report    Render a saved scan or saved evidence as text, JSON, Markdown...
  rules     Print the rules libvirt creates for the given networks on a...
  plan      Show what `migrate` would change (rules added and removed,...
  migrate   Move libvirt's rules to the other backend: make before break,...
  repair    Repair what scan found (libvirt's missing or leftover rules,...
  rollback  Undo a transaction: back to the state its snapshot recorded,...
  history   List migrations and rollbacks recorded in the state dir,...
  fleet     Aggregate many hosts' saved scans: verdicts, findings, matrix...
  bundle    Write a support bundle: the scan's evidence and what support...
  gate      Judge a pending libvirt upgrade for this host (run by apt's...
"""


def answer(args: list[str]) -> bool:
    """Print the answer to `args` if it is one of the two, and say whether it was."""
    if list(args) == ["--version"]:
        text = f"vnetmigrate {__version__}\n"
    elif list(args) in (["--help"], ["-h"]) and columns() >= WIDTH:
        text = HELP
    else:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def columns() -> int:
    """The terminal width click formats help for: shutil.get_terminal_size's answer, without
    importing shutil (and the compression modules it loads): $COLUMNS, else standard output's
    terminal, else 80."""
    try:
        width = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        width = 0
    if width > 0:
        return width
    try:
        width = os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        width = 0
    return width or 80
