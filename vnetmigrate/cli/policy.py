"""What every command shares, without typer: the error policy, the output formats and the one
place that prints. cli/common.py adds typer's option declarations; the fast path of `scan`
(cli/fast.py) runs a command through this module alone, so a command exits with SystemExit
(which click passes through unchanged) rather than typer's Exit."""

from __future__ import annotations

import functools
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable

from vnetmigrate.errors import EnvironmentProblem, InputError, VnmError


class State:
    debug = False
    verbosity = 0  # -1 with --quiet (the verdict line only), 1 with --verbose (full matrix, timings)


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


class TxnFormat(str, Enum):
    """The formats of the commands that change the host or read its journals (no html)."""
    text = "text"
    json = "json"
    markdown = "markdown"


def require_root(what: str, hint: str = "run it with sudo") -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(f"{what} needs root: reading and changing the firewall needs CAP_NET_ADMIN",
                                 hint=hint)


def _reader_gone() -> None:
    """The reader of standard output went away (`... | head`): drop the rest of the output but
    keep the command's own exit code, which scripts gate on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def write_output(text: str, output: Path | None) -> None:
    """Print a command's output (or write it to `output`), with every control byte its data
    could carry made visible (vnetmigrate.reports.sanitize): journals, scans and host files
    are data, never terminal commands."""
    from vnetmigrate.reports.sanitize import printable

    write_chunks((printable(text),), None if to_stdout(output) else output)


def write_chunks(chunks: Iterable[str], output: Path | None) -> None:
    """Write a text made in pieces to standard output (`output` None) or to `output`: 10,000
    hosts' fleet JSON is never whole in memory. The pieces are written as they are."""
    if output is None:
        try:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        return
    try:
        with output.open("w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(chunk)
    except OSError as exc:
        raise VnmError(f"cannot write {output}: {exc.strerror or exc}")


def _stdout_console():
    """rich's console on standard output; a reader going away keeps the command's exit code."""
    from rich.console import Console

    class Stdout(Console):
        def on_broken_pipe(self) -> None:  # rich's default exits 1, losing our exit code
            self.quiet = True
            _reader_gone()

    return Stdout(highlight=False)


def _to_terminal(render: Callable[[Any], None]) -> None:
    """Straight to standard output, so rich can use the terminal's colours and width."""
    try:
        render(_stdout_console())
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()


def to_stdout(output: Path | None) -> bool:
    """`-o -` (and no -o at all) mean standard output."""
    return output is None or str(output) == "-"


def emit(doc: dict[str, Any], fmt: str, output: Path | None) -> None:
    """The one place a report is printed: a scan envelope, in `fmt`, to `output` or standard output.
    Text goes through rich only to a terminal; piped text is the same as `-o FILE` text."""
    if to_stdout(output):
        output = None
    if fmt == "text" and output is None and sys.stdout.isatty():
        from vnetmigrate.reports.sanitize import sanitized
        from vnetmigrate.reports.terminal import render as to_terminal

        _to_terminal(lambda console: to_terminal(sanitized(doc), console, State.verbosity))
        return
    if fmt == "text":
        from vnetmigrate.reports.terminal import to_text

        write_output(to_text(doc, verbosity=State.verbosity), output)
        return
    from vnetmigrate.reports.render import render

    write_output(render(doc, fmt), output)


def emit_result(result: Any, fmt: str, output: Path | None) -> int:
    """Print a use case's result (plan, migrate, rollback, history) in `fmt`; its exit code.
    With --quiet, text is one line: how it ended (txn_terminal.quiet_line)."""
    if to_stdout(output):
        output = None
    if fmt == "text" and State.verbosity < 0:
        from vnetmigrate.reports.txn_terminal import quiet_line

        write_output(quiet_line(result) + "\n", output)
    elif fmt == "text" and output is None and sys.stdout.isatty():
        from vnetmigrate.reports.txn_terminal import render

        _to_terminal(lambda console: render(result, console))
    else:
        from vnetmigrate.reports.render import render_result

        write_output(render_result(result, fmt), output)
    return int(result.exit_code)


FILE_WIDTH = 80  # standard error that is no terminal (a pipe, a log file): as piped text output


def stderr_width() -> int:
    """The columns a message on standard error wraps at: the terminal's (COLUMNS first, as rich
    reads it for standard output: fast.columns), 80 when standard error is no terminal."""
    try:
        if not sys.stderr.isatty():
            return FILE_WIDTH
    except (AttributeError, ValueError):  # a replaced stderr without a descriptor, or closed
        return FILE_WIDTH
    from vnetmigrate.cli.fast import columns

    return columns(sys.stderr)


def say_on_stderr(message: str) -> None:
    """One message (an error, a hint, a note) on standard error, sanitised, each of its lines
    longer than the terminal wrapped under a two-space indent at spaces only
    (vnetmigrate.words.hanging): a path, id, option or command in it stays whole to copy. A
    line that fits is printed as it is, so a wide terminal shows one line per message."""
    from vnetmigrate.reports.sanitize import printable

    width = stderr_width()
    lines = printable(message).split("\n")
    if any(len(line) > width for line in lines):
        from vnetmigrate.words import hanging

        lines = [hanging(line, width, "  ") if len(line) > width else line for line in lines]
    sys.stderr.write("\n".join(lines) + "\n")


def notes_to_stderr(command: str) -> Callable[[str], None]:
    """A listener that prints a use case's housekeeping notes on standard error, sanitised."""

    def say(note: str) -> None:
        say_on_stderr(f"vnetmigrate {command}: note: {note}")
    return say


def fail(command: str, exc: VnmError, fmt: str, output: Path | None = None) -> None:
    code = int(exc.exit_code)
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps, envelope

        doc = envelope(command, "error", code, None, [{"unit": command, "message": exc.message}])
        try:  # where the report would have gone, so a script never reads a stale one there
            write_output(dumps(doc), output)
        except VnmError:
            sys.stdout.write(dumps(doc))
    say_on_stderr(f"vnetmigrate {command}: error: {exc.message}")
    if exc.hint:
        say_on_stderr(f"hint: {exc.hint}")
    raise SystemExit(code)


def guarded(command: str) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """Run a command body under the error policy: one readable line, traceback only with --debug."""

    def wrap(body: Callable[..., int]) -> Callable[..., None]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> None:
            fmt = getattr(kwargs.get("format"), "value", kwargs.get("format")) or "text"
            output = kwargs.get("output")
            if kwargs.get("quiet") and kwargs.get("verbose"):
                fail(command, InputError("--quiet and --verbose contradict each other: choose one",
                                       hint="--quiet prints the verdict only; --verbose adds detail"), fmt, output)
            State.verbosity = -1 if kwargs.pop("quiet", False) else (1 if kwargs.pop("verbose", False) else 0)
            kwargs.pop("verbose", None)
            kwargs.pop("as_json", None)  # --json: already folded into format (cli/usage.py, cli/fast.py)
            from vnetmigrate.reports.envelope import start

            start()  # the envelope's host, started_at and duration, also when the command fails
            started = time.monotonic()
            try:
                code = body(*args, **kwargs)
                if State.verbosity > 0:
                    sys.stderr.write(f"vnetmigrate {command}: done in {time.monotonic() - started:.2f} s\n")
            except VnmError as exc:
                if State.debug:
                    import traceback

                    traceback.print_exc()
                fail(command, exc, fmt, output)
            except KeyboardInterrupt:
                sys.stderr.write(f"vnetmigrate {command}: interrupted\n")
                raise SystemExit(130)
            except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
                if State.debug:
                    import traceback

                    traceback.print_exc()
                fail(command, VnmError(f"internal error: {type(exc).__name__}: {exc}",
                                       hint=None if State.debug else "run with --debug for the traceback"), fmt, output)
            raise SystemExit(int(code))
        return run
    return wrap
