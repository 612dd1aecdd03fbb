"""`vnetmigrate fleet`: many hosts' saved scans (or saved evidence) aggregated into one report."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import Format, FormatOpt, JsonOpt, OutputOpt, State, guarded

HtmlDirOpt = Annotated[Optional[Path], typer.Option(
    "--html-dir", metavar="DIR",
    help="Also write DIR/index.html (the fleet page) and each host's own HTML report under DIR/hosts/, linked.")]


@guarded("fleet")
def fleet(
    sources: Annotated[list[Path], typer.Argument(
        metavar="SCAN.json...|DIR", show_default=False,
        help="Scans saved with `scan --format json`, evidence saved with `scan --save-evidence`, or directories "
             "holding them (searched recursively).")],
    format: FormatOpt = Format.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    html_dir: HtmlDirOpt = None,
) -> int:
    """Aggregate many hosts' saved scans: verdicts, findings, matrix rows, libvirt versions, one line per host;
    exits like the worst host's scan."""
    from dataclasses import replace

    from vnetmigrate.errors import VnmError
    from vnetmigrate.reports.fleet.aggregate import Fleet
    from vnetmigrate.reports.fleet.pages import HostPages
    from vnetmigrate.reports.fleet.sources import host_paths
    from vnetmigrate.reports.fleet.summary import summarise

    pages = HostPages(html_dir) if html_dir is not None else None
    skip = {output.resolve()} if output is not None else set()  # a report written into the scans' directory
    fleet = Fleet()
    for path, found, unreadable in host_paths(sources):
        if found and skip and path.name == output.name and path.resolve() in skip:
            continue
        if unreadable:
            fleet.add_error(str(path), unreadable)
            continue
        try:
            doc = load_host(path)
            host = summarise(doc, str(path))
            if pages is not None:
                host = replace(host, report=str(pages.path_for(host.identity, host.label)))
            fleet.add(host)
            if pages is not None and fleet.is_kept(host):
                pages.write_host(host.identity, host.label, doc)
            del doc  # the next host's envelope replaces this one: never more than one in memory
        except VnmError as exc:
            fleet.add_error(str(path), exc.message)
        except Exception as exc:  # one host's bad file never stops the others; --debug shows where
            if State.debug:
                traceback.print_exc()
            fleet.add_error(str(path), f"internal error: {type(exc).__name__}: {exc}")
    doc = fleet.envelope()
    if pages is not None:
        pages.write_index(doc)
    _emit(doc, format.value, output)
    return doc["exit_code"]


def load_host(path: Path) -> dict:
    """The host's scan envelope, read and checked as `vnetmigrate report` does (cli/report.py):
    a saved scan against the schema, saved evidence analysed again; InputError otherwise."""
    from vnetmigrate.errors import InputError

    if path.is_dir():
        from vnetmigrate.evidence import Evidence
        from vnetmigrate.reports.envelope import scan_envelope
        from vnetmigrate.scan import analyse

        evidence = Evidence.load(path)
        evidence.meta["source"] = "saved"
        return scan_envelope(analyse(evidence))
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    from vnetmigrate.reports.saved import load_scan

    return load_scan(path)


def _emit(doc: dict, fmt: str, output: Path | None) -> None:
    from vnetmigrate.cli.policy import write_chunks, write_output

    if fmt == "text" and output is None and sys.stdout.isatty():  # piped: the same text as -o FILE
        from vnetmigrate.cli.common import _to_terminal
        from vnetmigrate.reports.fleet.terminal import render as to_terminal

        _to_terminal(lambda console: to_terminal(doc, console))
        return
    if fmt == "json":
        from vnetmigrate.reports.fleet.render import json_chunks

        write_chunks(json_chunks(doc), output)
        return
    from vnetmigrate.reports.fleet.render import render

    write_output(render(doc, fmt, output.parent if output is not None else None), output)

