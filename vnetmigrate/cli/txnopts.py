"""Options shared by the commands that change the host (plan, migrate, rollback) or read its journals."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.firewall import Backend

StateDirOpt = Annotated[Optional[Path], typer.Option(
    "--state-dir", metavar="DIR", help="Journals and the lock live here (default: /var/lib/vnetmigrate under --root).")]
# rollback and history change no configuration: their --root only locates the default state dir.
StateRootOpt = Annotated[Path, typer.Option(
    "--root", metavar="DIR", help="The host's root: the default state dir is /var/lib/vnetmigrate under DIR.")]


def state_dir_for(state_dir: Path | None, root: Path) -> Path:
    """--state-dir, or the default one of the host under --root (the same for every command)."""
    from vnetmigrate.txn.statedir import default_dir

    return state_dir if state_dir is not None else default_dir(root)


class TxnFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


TxnFormatOpt = Annotated[TxnFormat, typer.Option("--format", "-f", help="Output format: text, json or markdown.")]


ToOpt = Annotated[Backend, typer.Option("--to", help="The backend to migrate libvirt's firewall to.")]
RestartOpt = Annotated[Optional[str], typer.Option(
    "--restart-command", metavar="CMD",
    help="Command that restarts libvirt's network daemon (default: systemctl, where it runs under systemd).")]
NoRestartOpt = Annotated[bool, typer.Option("--no-restart", help="Do not restart libvirt's network daemon.")]
