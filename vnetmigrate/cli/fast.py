"""`vnetmigrate --version`, `vnetmigrate --help` and plain `vnetmigrate scan` command lines without
typer: the answers people (and shell scripts and fleets) ask for most, without the start-up
cost of typer, click and pydantic (about 0.1 s, a third of a small host's whole scan).

HELP is typer's own top-level help as the app renders it at 80 columns or more; a unit test
(tests/unit/test_cli_fast.py) renders it through typer and fails when it differs, and rewrites
it when run as `python -m tests.unit.test_cli_fast`. Narrower terminals, where typer wraps the
text differently, and anything else on the command line go to typer.

`scan` is parsed here only where the command line is one typer parses the same way for sure:
`[--debug] scan` and scan's own options, each once, long options as `--name VALUE` or
`--name=VALUE`, short ones as separate words, values that are plain (a format typer accepts,
a deadline that is a plain number from 1 on, no empty value, nothing that looks like an option
but `-`). Anything else — help, a typo, an unknown option, a bad value — goes to typer, whose
words and exit codes usage errors keep. tests/unit/test_cli_fast.py compares both parsers'
results option by option.
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


# scan's options: the option words -> the keyword typer passes scan's body (cli/scanrun.py)
SCAN_VALUES = {"--netns": "netns", "--root": "root", "--from": "from_dir", "--save-evidence": "save_evidence",
               "--state-dir": "state_dir", "--target-version": "target_version", "--deadline": "deadline",
               "--format": "format", "-f": "format", "--output": "output", "-o": "output"}
SCAN_FLAGS = {"--quiet": "quiet", "-q": "quiet", "--verbose": "verbose", "-v": "verbose"}
SCAN_PATHS = ("root", "from_dir", "save_evidence", "state_dir", "output")
FORMATS = ("text", "json", "markdown", "html")


def scan_options(args: list[str]) -> tuple[bool, dict] | None:
    """(--debug given, the keywords typer would pass scan) for a plain scan command line; None for
    any other, which typer parses instead."""
    args = list(args)
    debug = args[:1] == ["--debug"]
    if debug:
        args = args[1:]
    if args[:1] != ["scan"]:
        return None
    given: dict[str, object] = {}
    words = iter(args[1:])
    for word in words:
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in SCAN_FLAGS and not eq:
            key, val = SCAN_FLAGS[name], True
        elif name in SCAN_VALUES:
            if not eq:
                value = next(words, "")
            if not value or (value.startswith("-") and value != "-"):
                return None
            key, val = SCAN_VALUES[name], value
        else:
            return None
        if key in given:
            return None
        given[key] = val
    if given.get("format", "text") not in FORMATS:
        return None
    if "deadline" in given and not plain_seconds(str(given["deadline"])):
        return None
    from pathlib import Path

    from vnetmigrate.cli.policy import Format

    options = {"netns": given.get("netns"), "target_version": given.get("target_version"),
               "deadline": float(given.get("deadline", 120.0)), "format": Format(given.get("format", "text")),
               "quiet": bool(given.get("quiet", False)), "verbose": bool(given.get("verbose", False))}
    for key in SCAN_PATHS:
        options[key] = Path(given[key]) if key in given else None
    if options["root"] is None:
        options["root"] = Path("/")
    return debug, options


def plain_seconds(text: str) -> bool:
    """A plain decimal number from 1 on (`[1-9][0-9]*(.[0-9]+)?`), as scan's --deadline requires;
    without `re`, which a --version answer would otherwise import."""
    whole, dot, frac = text.partition(".")
    digits = whole.isascii() and whole.isdigit() and whole[0] != "0"
    return digits and (not dot or (frac.isascii() and frac.isdigit()))


def scan(args: list[str]) -> bool:
    """Run a plain scan command line the way the typer app would (the same body under the same
    error policy, which ends the process with the command's exit code); False for any other."""
    parsed = scan_options(args)
    if parsed is None:
        return False
    debug, options = parsed
    from vnetmigrate.cli.policy import State, guarded
    from vnetmigrate.cli.scanrun import scan as body

    State.debug = debug
    guarded("scan")(body)(**options)
    return True
