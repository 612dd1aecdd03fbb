"""The typer app of the vnetmigrate command line (vnetmigrate.cli imports it on first use).
Commands import their heavy modules lazily, when they run."""

from __future__ import annotations

from typing import Annotated

import typer

from vnetmigrate import __version__
from vnetmigrate.cli.common import State
from vnetmigrate.cli.report import report
from vnetmigrate.cli.rules import rules
from vnetmigrate.cli.scan import scan
from vnetmigrate.cli.usage import Command, Group

app = typer.Typer(
    name="vnetmigrate",
    help="Inspect, migrate and repair libvirt's virtual-network firewall (iptables <-> nftables).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
    rich_markup_mode=None,  # plain help: readable at 80 columns and in a pipe, no boxes
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vnetmigrate {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    State.debug = debug


app.command("scan", cls=Command)(scan)
app.command("report", cls=Command)(report)
app.command("rules", cls=Command)(rules)


def _lazy(module: str, name: str):
    """Register a command whose module is imported only when it is chosen."""
    import importlib

    return getattr(importlib.import_module(f"vnetmigrate.cli.{module}"), name)


for _name in ("plan", "migrate", "repair", "rollback", "history", "fleet", "bundle", "gate"):
    app.command(_name, cls=Command)(_lazy(_name, _name))
