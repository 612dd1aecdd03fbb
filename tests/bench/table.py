"""Regenerate docs/benchmarks.md: run every benchmark, then write its figures as one document.

    sudo .venv/bin/python -m tests.bench.table                    # all (scan's big shapes too: --big)
    sudo .venv/bin/python -m tests.bench.table --only startup,migrate --rounds 3
    sudo .venv/bin/python -m tests.bench.table --baseline /path/to/older/.venv/bin/vnetmigrate
    .venv/bin/python -m tests.bench.table --from DIR              # re-render saved results only

Each benchmark runs as its own process with `--json FILE` (their printed tables go to standard
error as they come); the JSON files are kept in `--keep DIR` when asked, and `--from DIR`
renders such a directory again without measuring. A benchmark that is not asked for, or that
fails, keeps the section the document already has (its old figures, with their date), so one
command never leaves a half-empty table. `--baseline CMD` times another install (an older
commit) in the same rounds as this one, for scan and migrate; the tables then show it beside.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench import results

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "benchmarks.md"
BENCHES = ("startup", "migrate", "scan")
MARK = "<!-- section: {} -->"
COMMAND = "sudo .venv/bin/python -m tests.bench.table"


BASELINE_OPTION = {"scan": "--baseline-tool", "migrate": "--baseline-command"}


def run_bench(name: str, out: Path, rounds: int | None, big: bool, baseline: str | None = None) -> bool:
    argv = [sys.executable, "-m", f"tests.bench.bench_{name}", "--json", str(out)]
    if rounds is not None:
        argv += ["--rounds", str(rounds)]
    if big and name == "scan":
        argv.append("--big")
    if baseline and name in BASELINE_OPTION:
        argv += [BASELINE_OPTION[name], baseline]
    print(f"== {' '.join(argv[2:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(argv, cwd=REPO, stdout=sys.stderr)
    if proc.returncode != 0 or not out.exists():
        print(f"== bench_{name} failed (exit {proc.returncode}): its section keeps its old figures", file=sys.stderr)
        return False
    return True


def load(path: Path) -> dict[str, Any] | None:
    """A benchmark's results: one JSON document (tests/bench/results.py), or bench_scan's one
    JSON object per host shape per line, gathered into the same form."""
    if not path.exists():
        return None
    text = path.read_text()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and "rows" in doc:
            return doc
        lines = [doc]
    except json.JSONDecodeError:
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    loads = [line.get("load") or [] for line in lines]
    return {"bench": "scan", "machine": results.machine(), "rows": lines,
            "load": {"before": loads[0][:1] if loads else [], "after": loads[-1][-1:] if loads else []}}


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def goal(ok: bool | None) -> str:
    return "" if ok is None else " ✓" if ok else " ✗"


def where(doc: dict[str, Any]) -> str:
    m, load_ = doc.get("machine", {}), doc.get("load", {})
    return (f"Measured {m.get('date', '?')} on {m.get('cores', '?')} cores ({m.get('cpu') or 'unknown CPU'}), "
            f"{m.get('memory', '?')}, kernel {m.get('kernel', '?')}, Python {m.get('python', '?')}, "
            f"{m.get('nft', 'nft ?')}; load average (1, 5, 15 min) {load_.get('before')} before, "
            f"{load_.get('after')} after.")


def startup_section(doc: dict[str, Any]) -> str:
    row = doc["rows"][0]
    fig, rat = row["figures"], row["ratios"]
    lines = ["## Start-up", "", where(doc), "",
             f"The installed command against its own interpreter, alternating, median of {row['rounds']} rounds "
             "(`tests/bench/bench_startup.py`). Goal: `--version` and `--help` within 60 ms of the bare "
             "interpreter.", "",
             *head(["command", "median", "beyond `python -c pass`"])]
    for name, wall in fig.items():
        extra = rat.get(f"{name} beyond bare (ms)")
        mark = goal(extra <= 60) if extra is not None and name in ("vnetmigrate --version", "vnetmigrate --help") else ""
        lines.append(f"| `{name}` | {seconds(wall)} | {'' if extra is None else f'{extra:.0f} ms'}{mark} |")
    return "\n".join(lines)


def head(columns: list[str], before: bool = False) -> list[str]:
    """A table's header and separator lines; `before`: with the baseline install's column last."""
    columns = columns + ["before"] * before
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


BEFORE_NOTE = ("before: another install (an older commit, `--baseline`) timed in the same rounds; "
               "its ratios are against the same anchors.")


def migrate_section(doc: dict[str, Any]) -> str:
    before = any("baseline migrate" in row["figures"] for row in doc["rows"])
    lines = ["## Migration", "", where(doc), "",
             "`vnetmigrate migrate --no-restart` of libvirt 11.3's NAT networks from iptables to nftables (the "
             "installed command, the whole process), against libvirt's way of creating the same rules (one `nft` "
             "process per command, exec'd inside the namespace) and one `nft -f` of them, alternating round by "
             "round; medians (`tests/bench/bench_migrate.py`). Goals: at least 10× faster than per-rule `nft` at "
             "100 networks, the nftables step at most 1.5× one `nft -f` at 500, 10 networks well under 0.5 s.", "",
             *head(["networks", "rounds", "migrate", "per-rule `nft`", "per-rule / migrate", "nftables step",
                    "one `nft -f`", "step / `nft -f`", "rollback"], before)]
    for row in doc["rows"]:
        f, r, n = row["figures"], row["ratios"], row["networks"]
        speed = r.get("per_rule_nft / migrate")
        step = r.get("nft_step / nft_f")
        lines.append(
            f"| {n} | {row['rounds']} | {seconds(f['migrate'])}{goal(f['migrate'] < 0.5) if n == 10 else ''} | "
            f"{seconds(f['per_rule_nft'])} | {ratio(speed)}{goal(speed >= 10) if n == 100 else ''} | "
            f"{seconds(f['nft_step'])} | {seconds(f['nft_f'])} | {ratio(step)}{goal(step <= 1.5) if n == 500 else ''} | "
            f"{seconds(f['rollback'])} |"
            + (f" {seconds(f.get('baseline migrate'))}, {ratio(r.get('per_rule_nft / baseline migrate'))}; "
               f"step {ratio(r.get('baseline nft_step / nft_f'))}; rollback {seconds(f.get('baseline rollback'))} |"
               if before else ""))
    if before:
        lines += ["", BEFORE_NOTE]
    lines += ["", *(f"- {note}" for note in doc.get("notes", []))]
    return "\n".join(lines)


def scan_section(doc: dict[str, Any]) -> str:
    before = any("baseline" in row for row in doc["rows"])
    lines = ["## Scan", "", where(doc), "",
             "`vnetmigrate scan` (the installed command) against `nft -j list ruleset` of the same host, "
             "alternating round by round; wall time medians, peak memory maxima (`tests/bench/bench_scan.py`). "
             "Goals: at most half the anchor's wall time and memory on every shape, under 150 MB, never slower "
             "than the anchor from 10k rules up.", "",
             *head(["host", "scan", "beyond interpreter", "scan peak", "`nft -j list ruleset`", "anchor peak",
                    "wall ratio", "memory ratio", "floor"], before)]
    for row in doc["rows"]:
        scan, anchor, rat = row.get("scan", {}), row.get("anchor", {}), row.get("ratio", {})
        goals = row.get("goals", {})
        floors = [f"`{name}` {seconds(c.get('wall_s'))}" for name, c in row.get("commands", {}).items()
                  if name not in ("python -c pass", "nft -j list ruleset", "vnetmigrate scan", "baseline scan")]
        base = row.get("baseline")
        half_wall, half_mem = goals.get("half_wall"), goals.get("half_memory")
        lines.append(
            f"| {row.get('host', row.get('shape'))} | {seconds(scan.get('wall_s'))} | "
            f"{seconds(scan.get('beyond_interpreter_s'))} | {scan.get('peak_mb', 0):.0f} MB | "
            f"{seconds(anchor.get('wall_s'))} | {anchor.get('peak_mb', 0):.0f} MB | "
            f"{ratio(rat.get('wall'))}{goal(half_wall)} | {ratio(rat.get('memory'))}{goal(half_mem)} | "
            f"{', '.join(floors) or '–'} |"
            + (f" {seconds(base['wall_s'])}, {base['peak_mb']:.0f} MB ({ratio(base['ratio']['wall'])}, "
               f"{ratio(base['ratio']['memory'])}) |" if base else " – |" if before else ""))
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines)


RENDER = {"startup": startup_section, "migrate": migrate_section, "scan": scan_section}


def old_sections(text: str) -> dict[str, str]:
    out = {}
    for name in BENCHES:
        start = text.find(MARK.format(name))
        if start < 0:
            continue
        end = min([i for i in (text.find("<!-- section:", start + 1),) if i >= 0] or [len(text)])
        out[name] = text[start + len(MARK.format(name)):end].strip()
    return out


def render(docs: dict[str, dict[str, Any]], old: str = "") -> str:
    previous = old_sections(old)
    head = ["# Benchmarks", "",
            f"Generated by `{COMMAND}` (as root: the benchmarks build network namespaces; add `--big` for "
            "scan's 200k-rule host), which runs every benchmark under tests/bench and rewrites this file. "
            "Each figure is the median of rounds in which the tool and its anchors ran alternately, in a "
            "rotating order, on the machine named in its section; the machine is shared, so its load average "
            "is given too. Nothing here is asserted by the test suite.", ""]
    body = []
    for name in BENCHES:
        section = RENDER[name](docs[name]) if name in docs else previous.get(name)
        if section:
            body += [MARK.format(name), section, ""]
    return "\n".join(head + body).rstrip() + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    ap.add_argument("--rounds", type=int, help="rounds for every benchmark (each has its own default)")
    ap.add_argument("--big", action="store_true", help="scan's biggest host shapes too (minutes per round)")
    ap.add_argument("--keep", metavar="DIR", help="keep each benchmark's JSON results in DIR")
    ap.add_argument("--from", dest="source", metavar="DIR", help="render results saved with --keep; measure nothing")
    ap.add_argument("--baseline", metavar="CMD",
                    help="another vnetmigrate install (an older commit) timed in the same rounds by scan and migrate")
    ap.add_argument("--output", default=str(DOC))
    args = ap.parse_args()
    wanted = [b for b in args.only.split(",") if b]
    if unknown := set(wanted) - set(BENCHES):
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.source is None and os.geteuid() != 0:
        raise SystemExit("run as root: the benchmarks build network namespaces (or --from DIR to re-render)")
    with tempfile.TemporaryDirectory(prefix="vnm-bench-table-") as tmp:
        folder = Path(args.source or args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        docs = {}
        for name in wanted:
            path = folder / f"{name}.json"
            if args.source is None and not run_bench(name, path, args.rounds, args.big, args.baseline):
                continue
            if (doc := load(path)) is not None:
                docs[name] = doc
    output = Path(args.output)
    output.write_text(render(docs, output.read_text() if output.exists() else ""))
    print(f"wrote {output} ({', '.join(docs) or 'no new figures'})", file=sys.stderr)


if __name__ == "__main__":
    main()
