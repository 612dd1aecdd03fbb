"""`vnetmigrate scan`: read-only inspection, checks and the compatibility matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import Format, FormatOpt, JsonOpt, NetnsOpt, OutputOpt, QuietOpt, RootOpt, VerboseOpt, guarded


@guarded("scan")
def scan(
    netns: NetnsOpt = None,
    root: RootOpt = Path("/"),
    from_dir: Annotated[Optional[Path], typer.Option(
        "--from", metavar="DIR|BUNDLE", help="Analyse evidence saved by --save-evidence, a bundle written by "
                                            "`vnetmigrate bundle`, or a sos report; no live access at all.")] = None,
    save_evidence: Annotated[Optional[Path], typer.Option(
        "--save-evidence", metavar="DIR", help="Also save the raw evidence collected into DIR.")] = None,
    state_dir: Annotated[Optional[Path], typer.Option(
        "--state-dir", metavar="DIR", help="Where migrate keeps its journals (default: "
                                           "/var/lib/vnetmigrate under --root).")] = None,
    target_version: Annotated[Optional[str], typer.Option(
        "--target-version", metavar="X.Y", help="Judge \"after the upgrade\" for this libvirt release (default: "
                                                 "the distribution's next libvirt).")] = None,
    deadline: Annotated[float, typer.Option(
        "--deadline", metavar="SECONDS", min=1,
        help="Stop reading the host after SECONDS; what is unread by then is reported as "
             "\"cannot tell\" (default: 120).")] = 120.0,
    format: FormatOpt = Format.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Inspect the host read-only: will guests keep working, now and after the switch to nftables?"""
    from vnetmigrate.cli.scanrun import scan as run

    return run(netns, root, from_dir, save_evidence, state_dir, target_version, deadline, format, output)
