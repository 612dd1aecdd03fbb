"""`vnetmigrate --version`, `vnetmigrate --help` and plain `scan`, `plan`, `migrate` and
`rollback` command lines without typer: the answers people (and shell scripts and fleets) ask
for most, without the start-up cost of typer, click and pydantic (about 0.1 s, a third of a
small host's whole scan, a sixth of a migration of 100 networks).

HELP is typer's own top-level help as the app renders it at 80 columns or more; a unit test
(tests/unit/test_cli_fast.py) renders it through typer and fails when it differs, and rewrites
it when run as `python -m tests.unit.test_cli_fast`. Narrower terminals, where typer wraps the
text differently, and anything else on the command line go to typer.

A command is parsed here only where the command line is one typer parses the same way for
sure (`parse`): `[--debug] COMMAND` and that command's own options, each once (migrate's
--force as often as given), long options as `--name VALUE` or `--name=VALUE`, short ones as
separate words, values that are plain (a format or backend typer accepts, scan's deadline a
plain number from 1 on, no empty value, nothing that looks like an option but `-`), and
rollback's ID a plain word; --json is --format json (with another --format, typer's usage
error). Anything else — help, a typo, an unknown option, a bad value — goes
to typer, whose words and exit codes usage errors keep. tests/unit/test_cli_fast.py compares
both parsers' results option by option, and whole runs' output and exit codes.
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
    if COMPLETE_VAR in os.environ:
        return False
    if list(args) == ["--version"]:
        text = f"vnetmigrate {__version__}\n"
    elif list(args) in (["--help"], ["-h"]) and columns() >= WIDTH:
        text = HELP
    else:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def columns(stream=None) -> int:
    """The terminal width click formats help for: shutil.get_terminal_size's answer, without
    importing shutil (and the compression modules it loads): $COLUMNS, else the terminal of
    `stream` (standard output by default), else 80. Messages on standard error wrap at it too
    (cli/policy.stderr_width)."""
    try:
        width = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        width = 0
    if width > 0:
        return width
    try:
        width = os.get_terminal_size((stream or sys.__stdout__).fileno()).columns
    except (AttributeError, ValueError, OSError):
        width = 0
    return width or 80


# Options every command parsed here shares: the option words -> the keyword typer passes the body
COMMON_VALUES = {"--netns": "netns", "--root": "root", "--state-dir": "state_dir", "--format": "format",
                 "-f": "format", "--output": "output", "-o": "output"}
COMMON_FLAGS = {"--quiet": "quiet", "-q": "quiet", "--verbose": "verbose", "-v": "verbose", "--json": "as_json"}

# scan's options (its body: cli/scanrun.py)
SCAN_VALUES = {**COMMON_VALUES, "--from": "from_dir", "--save-evidence": "save_evidence",
               "--target-version": "target_version", "--deadline": "deadline"}
SCAN_FLAGS = COMMON_FLAGS
SCAN_PATHS = ("root", "from_dir", "save_evidence", "state_dir", "output")
FORMATS = ("text", "json", "markdown", "html")

# plan's, migrate's and rollback's options (their bodies: cli/txnrun.py); --force is a blocker
# id for migrate (repeatable), a flag for rollback; rollback takes one argument, the ID.
RESTART_VALUES = {"--restart-command": "restart_command"}
RESTART_FLAGS = {"--no-restart": "no_restart"}
TXN_COMMANDS = {
    "plan": ({**COMMON_VALUES, **RESTART_VALUES, "--to": "to"}, {**COMMON_FLAGS, **RESTART_FLAGS}, (), None),
    "migrate": ({**COMMON_VALUES, **RESTART_VALUES, "--to": "to", "--force": "force"},
                {**COMMON_FLAGS, **RESTART_FLAGS, "--dry-run": "dry_run"}, ("force",), None),
    "rollback": ({**COMMON_VALUES, **RESTART_VALUES}, {**COMMON_FLAGS, **RESTART_FLAGS, "--force": "force"}, (),
                 "txn_id"),
}
TXN_PATHS = ("root", "state_dir", "output")
TXN_FORMATS = ("text", "json", "markdown")
BACKENDS = ("nftables", "iptables")


def parse(args: list[str], values: dict[str, str], flags: dict[str, str], repeatable: tuple[str, ...] = (),
          argument: str | None = None) -> dict[str, object] | None:
    """The options of a command line (its words after the command) that typer parses the same
    way for sure, as {keyword: value}; None for any other. Each option once (a `repeatable` one
    as often as given, its values in order), long options as `--name VALUE` or `--name=VALUE`,
    short ones as separate words, values plain (not empty, nothing that looks like an option but
    `-`); `argument`: the keyword of the command's one optional argument, a plain word."""
    given: dict[str, object] = {}
    words = iter(args)
    for word in words:
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in flags and not eq:
            key, val = flags[name], True
        elif name in values:
            if not eq:
                value = next(words, "")
            if not value or (value.startswith("-") and value != "-"):
                return None
            key, val = values[name], value
        elif argument is not None and word and not word.startswith("-"):
            key, val = argument, word
        else:
            return None
        if key in repeatable:
            given.setdefault(key, []).append(val)
            continue
        if key in given:
            return None
        given[key] = val
    return given


# click's shell completion: with this set, typer answers a completion request (or says the shell
# is not supported) instead of running the command line; never run it here.
COMPLETE_VAR = "_VNETMIGRATE_COMPLETE"


def _debug(args: list[str]) -> tuple[bool, list[str] | None]:
    """(--debug given, the words after it); None for the words when typer must see the line."""
    if COMPLETE_VAR in os.environ:
        return False, None
    args = list(args)
    return (True, args[1:]) if args[:1] == ["--debug"] else (False, args)


def scan_options(args: list[str]) -> tuple[bool, dict] | None:
    """(--debug given, the keywords typer would pass scan) for a plain scan command line; None for
    any other, which typer parses instead."""
    debug, args = _debug(args)
    if args is None or args[:1] != ["scan"]:
        return None
    given = parse(args[1:], SCAN_VALUES, SCAN_FLAGS)
    if given is None or _format(given) not in FORMATS:
        return None
    if "deadline" in given and not plain_seconds(str(given["deadline"])):
        return None
    from vnetmigrate.cli.policy import Format

    options = {"netns": given.get("netns"), "target_version": given.get("target_version"),
               "deadline": float(given.get("deadline", 120.0)), "format": Format(_format(given)),
               "quiet": bool(given.get("quiet", False)), "verbose": bool(given.get("verbose", False)),
               **_paths(given, SCAN_PATHS)}
    return debug, options


def txn_options(args: list[str]) -> tuple[bool, str, dict] | None:
    """(--debug given, the command, the keywords typer would pass its body) for a plain plan,
    migrate or rollback command line; None for any other, which typer parses instead."""
    debug, args = _debug(args)
    command = args[0] if args else None
    if command not in TXN_COMMANDS:
        return None
    values, flags, repeatable, argument = TXN_COMMANDS[command]
    given = parse(args[1:], values, flags, repeatable, argument)
    if given is None or _format(given) not in TXN_FORMATS or given.get("to", "nftables") not in BACKENDS:
        return None
    from vnetmigrate.cli.policy import TxnFormat

    options: dict[str, object] = {"netns": given.get("netns"), "restart_command": given.get("restart_command"),
                                  "format": TxnFormat(_format(given)), **_paths(given, TXN_PATHS)}
    for key in ("no_restart", "quiet", "verbose"):
        options[key] = bool(given.get(key, False))
    if command in ("plan", "migrate"):
        from vnetmigrate.firewall import Backend

        options["to"] = Backend(given.get("to", "nftables"))
    if command == "migrate":
        options["force"] = given.get("force")
        options["dry_run"] = bool(given.get("dry_run", False))
    if command == "rollback":
        options["txn_id"] = given.get("txn_id")
        options["force"] = bool(given.get("force", False))
    return debug, command, options


def _format(given: dict[str, object]) -> object:
    """The format asked for: --format's value, "json" for --json (which typer folds into --format:
    cli/usage.py); None for --json with another --format, whose usage error is typer's."""
    fmt = given.get("format", "text")
    if given.get("as_json"):
        return "json" if fmt == "json" or "format" not in given else None
    return fmt


def _paths(given: dict[str, object], keys: tuple[str, ...]) -> dict[str, object]:
    """The path options among `keys` as typer passes them: a Path, or None when not given;
    --root defaults to /."""
    from pathlib import Path

    paths: dict[str, object] = {key: Path(str(given[key])) if key in given else None for key in keys}
    if paths["root"] is None:
        paths["root"] = Path("/")
    return paths


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
    from vnetmigrate.cli.scanrun import scan as body

    _run("scan", body, debug, options)
    return True


def txn(args: list[str]) -> bool:
    """Run a plain plan, migrate or rollback command line the way the typer app would; False for
    any other."""
    parsed = txn_options(args)
    if parsed is None:
        return False
    debug, command, options = parsed
    from vnetmigrate.cli import txnrun

    _run(command, getattr(txnrun, command), debug, options)
    return True


def _run(command: str, body, debug: bool, options: dict[str, object]) -> None:
    """`body` under the typer app's error policy for `command` (which ends the process with the
    command's exit code), as the typer app runs it."""
    from vnetmigrate.cli.policy import State, guarded

    State.debug = debug
    guarded(command)(body)(**options)
