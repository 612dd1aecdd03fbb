"""`vnetmigrate bundle`: one archive for support, analysable offline with `scan --from` and `report`."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import JsonOpt, NetnsOpt, RootOpt, guarded, require_root, write_output


class BundleFormat(str, Enum):
    text = "text"
    json = "json"


@guarded("bundle")
def bundle(
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the archive to FILE, named .tar.gz or .tgz (default: "
                                               "vnetmigrate-HOST-UTCSTAMP.tar.gz in the current directory); an "
                                               "existing FILE only with --force.")] = None,
    redact: Annotated[bool, typer.Option(
        "--redact", help="Replace addresses, MAC addresses and host/domain names consistently; the map is "
                         "written next to the archive, never into it.")] = False,
    netns: NetnsOpt = None,
    root: RootOpt = Path("/"),
    state_dir: Annotated[Optional[Path], typer.Option(
        "--state-dir", metavar="DIR", help="Where migrate keeps its journals (default: "
                                           "/var/lib/vnetmigrate under --root).")] = None,
    format: Annotated[BundleFormat, typer.Option("--format", "-f", help="Output format: text or json.")]
    = BundleFormat.text,
    as_json: JsonOpt = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite FILE if it exists (and, with --redact, its redaction map).")] = False,
) -> int:
    """Write a support bundle: the scan's evidence and what support asks for next, in one .tar.gz."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.reports import bundle as shown
    from vnetmigrate.reports.envelope import dumps, scan_envelope
    from vnetmigrate.reports.render import render
    from vnetmigrate.usecases.bundle import create

    require_root("bundle", hint="run it with sudo")
    if not root.is_dir():
        raise InputError(f"--root {root}: not a directory")
    if output is not None and output.is_dir():
        raise InputError(f"--output {output}: is a directory; name the archive file")

    def rendered(result) -> dict[str, str]:
        doc = scan_envelope(result)
        return {"scan.json": dumps(doc), "scan.html": render(doc, "html")}

    progress = None
    status = None
    if sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status("collecting...")
        status.start()
        progress = lambda what: status.update(f"collecting {what}...")  # noqa: E731
    try:
        result = create(output, root=str(root), netns=netns, state_dir=str(state_dir) if state_dir else None,
                        redact=redact, render=rendered, progress=progress, force=force)
    finally:
        if status is not None:
            status.stop()
    write_output(shown.to_json(result) if format == BundleFormat.json else shown.to_text(result), None)
    return int(result.exit_code)
