"""`vnetmigrate report`: render a saved scan, or analyse saved evidence, in any format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vnetmigrate.cli.common import Format, FormatOpt, JsonOpt, OutputOpt, QuietOpt, VerboseOpt, emit, guarded


ARCHIVE_NAMES = (".tar.gz", ".tgz", ".tar.xz", ".txz")  # names bundles and sos reports have


@guarded("report")
def report(
    source: Annotated[Path, typer.Argument(
        metavar="SCAN.json|EVIDENCE_DIR|BUNDLE|SOSREPORT", show_default=False,
        help="A scan saved with `scan --format json`, evidence saved with `scan --save-evidence`, a "
             "bundle written by `vnetmigrate bundle`, or a sos report (archive or extracted directory).")],
    format: FormatOpt = Format.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Render a saved scan or saved evidence as text, JSON, Markdown or HTML; exits like scan."""
    from vnetmigrate.bundlefile import is_bundle, load_evidence
    from vnetmigrate.errors import InputError
    from vnetmigrate.reports.saved import STATUS_EXIT

    from vnetmigrate.sosreport import is_sos

    if source.is_dir() or is_bundle(source) or is_sos(source):
        from vnetmigrate.reports.envelope import scan_envelope
        from vnetmigrate.scan import analyse

        ev = load_evidence(source)
        ev.meta["source"] = "saved"
        doc = scan_envelope(analyse(ev))
    elif source.name.endswith(ARCHIVE_NAMES) and source.is_file():
        # else it would be read as a saved scan and called "malformed JSON"
        raise InputError(f"{source} is not a bundle or an sos report: not a gzip or xz archive "
                         "(an empty or partial copy, or another file under an archive's name)",
                         hint="write a bundle with `vnetmigrate bundle`; a saved scan is the JSON of "
                              "`scan --format json -o FILE`")
    elif source.exists():
        from vnetmigrate.reports.saved import load_scan

        doc = load_scan(source)
    else:
        raise InputError(f"{source}: no such file or directory",
                         hint="give a file written by `scan --format json` or a directory written by "
                              "`scan --save-evidence` or a bundle written by `vnetmigrate bundle`")
    emit(doc, format.value, output)
    return int(STATUS_EXIT[doc["status"]])
