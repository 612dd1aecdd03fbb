"""typer's declarations of the options shared by the commands that change the host (plan, migrate,
rollback) or read its journals; TxnFormat and state_dir_for live in typer-free modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.policy import TxnFormat  # noqa: F401  (re-exported: the commands import it from here)
from vnetmigrate.cli.txnrun import state_dir_for  # noqa: F401
from vnetmigrate.firewall import Backend

StateDirOpt = Annotated[Optional[Path], typer.Option(
    "--state-dir", metavar="DIR", help="Journals and the lock live here (default: /var/lib/vnetmigrate under --root).")]
# rollback and history change no configuration: their --root only locates the default state dir.
StateRootOpt = Annotated[Path, typer.Option(
    "--root", metavar="DIR", help="The host's root: the default state dir is /var/lib/vnetmigrate under DIR.")]


TxnFormatOpt = Annotated[TxnFormat, typer.Option("--format", "-f", help="Output format: text, json or markdown.")]


ToOpt = Annotated[Backend, typer.Option("--to", help="The backend to migrate libvirt's firewall to.")]
RestartOpt = Annotated[Optional[str], typer.Option(
    "--restart-command", metavar="CMD",
    help="Command that restarts libvirt's network daemon (default: systemctl, where it runs under systemd).")]
NoRestartOpt = Annotated[bool, typer.Option("--no-restart", help="Do not restart libvirt's network daemon.")]
