"""Usage errors (unknown option, bad value, missing argument) the way every other error reads:
one line and a hint on standard error, exit status 2, and with `--format json` an error envelope
on standard output (the man page promises one for every failure)."""

from __future__ import annotations

import re
import sys
from typing import Any, Sequence

from typer.core import TyperCommand, TyperGroup

USAGE_EXIT = 2  # click's usage error status, distinct from every vnetmigrate exit code


def is_usage_error(exc: BaseException) -> bool:
    # typer vendors click in new releases and uses the real click in old ones: match by shape.
    return any(c.__name__ == "UsageError" for c in type(exc).__mro__) and hasattr(exc, "format_message")


def message(exc: Any) -> str:
    """click's message without pydantic's "Value error, " prefix nor quotes around option names."""
    text = exc.format_message()
    text = re.sub(r"\bValue error, ", "", text)
    text = re.sub(r"'(-[-\w]+)'", r"\1", text)
    return " ".join(text.split()).rstrip(".")


def wants_json(args: Sequence[str]) -> bool:
    args = list(args)
    for i, a in enumerate(args):
        if a in ("--format", "-f") and i + 1 < len(args) and args[i + 1] == "json":
            return True
        if a in ("--format=json", "-fjson", "--json"):
            return True
    return False


def report(exc: Any, args: Sequence[str]) -> int:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "vnetmigrate"
    command = path.split(" ", 1)[1] if " " in path else "vnetmigrate"
    text = message(exc)
    if wants_json(args):
        from vnetmigrate.reports.envelope import dumps, envelope

        sys.stdout.write(dumps(envelope(command, "error", USAGE_EXIT, None, [{"unit": command, "message": text}])))
    from vnetmigrate.cli.policy import say_on_stderr

    say_on_stderr(f"{path}: usage error: {text[:1].lower() + text[1:]}")
    say_on_stderr(f"hint: see `{path} --help`")
    return USAGE_EXIT


_TYPE_LABEL = re.compile(r" <[A-Za-z][\w\[\]]*>")  # one type name; choices have a |
_CHOICES = re.compile(r"<([\w-]+(?:\|[\w-]+)+)>")
_REQUIRED = re.compile(r"\{([A-Za-z][^{}\s]*)\}")


def plain_help(text: str) -> str:
    """typer's help without its internal type labels (`<list[Path]>`, `<bool>`) and usage
    braces (`{NETWORK.xml...}`); a label in the option column becomes spaces so columns stay
    aligned; choices read `a|b`."""
    text = _TYPE_LABEL.sub(lambda m: " " * len(m.group()), text)
    text = _CHOICES.sub(lambda m: m.group(1) + "  ", text)
    text = _REQUIRED.sub(r"\1", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


class Command(TyperCommand):
    """A command whose help reads as `plain_help` makes it, and whose --json (cli/common.py's
    JsonOpt) is --format json."""

    def get_help(self, ctx: Any) -> str:
        return plain_help(super().get_help(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        fold_json(self, ctx)
        return rest


def fold_json(command: Any, ctx: Any) -> None:
    """--json into --format json, as the command's own format choice (an enum or its string,
    whichever this typer passes); with another --format given, a usage error that names both."""
    if not ctx.params.get("as_json"):
        return
    given = ctx.params.get("format")
    value = getattr(given, "value", given)
    source = ctx.get_parameter_source("format")
    if value not in (None, "json") and getattr(source, "name", "DEFAULT") != "DEFAULT":
        raise _usage_error(f"--json and --format {value} contradict each other: --json is short for "
                           "--format json; give one of them", ctx)
    option = next(p for p in command.params if p.name == "format")
    ctx.params["format"] = option.process_value(ctx, "json")


def _usage_error(text: str, ctx: Any) -> Exception:
    """click's UsageError, from the click this typer uses (its own copy in new releases)."""
    try:
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError
    return UsageError(text, ctx)


class Group(TyperGroup):
    """The command group, with usage errors reported by `report`."""

    def get_help(self, ctx: Any) -> str:
        return plain_help(super().get_help(ctx))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                **extra)
        except Exception as exc:
            if not is_usage_error(exc) or type(exc).__name__ == "NoArgsIsHelpError":
                if type(exc).__name__ == "NoArgsIsHelpError" and standalone_mode:
                    exc.show()  # `vnetmigrate` alone: its help, as before
                    sys.exit(exc.exit_code)
                raise
            if not standalone_mode:
                raise
            sys.exit(report(exc, argv))
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)
