"""Imports follow the pipeline: collect -> Evidence -> facts -> derived -> checks -> scan -> reports / cli.

Every module of the installed package is parsed (ast) and each import between its parts is
checked against ALLOWED: a part may import only the parts listed for it. The model
(vnetmigrate.libvirt, vnetmigrate.evaluate) sits below every consumer of facts and imports
none of them; collect and facts meet only through Evidence and the catalogue (specs.py);
txn (changing the host) may use facts and the model, never the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Installed package name -> the directory it is built from (pyproject.toml's package-dir)
PACKAGES = {"vnetmigrate": REPO / "vnetmigrate", "vnetmigrate.checks": REPO / "checks",
            "vnetmigrate.reports": REPO / "reports"}

BASE = "base"  # the top-level modules: errors, evidence, specs, findings, programs, txnstore, ...
# and vnetmigrate.rules, the typed rule languages every part reads rules through
# Top-level modules that are not base: the scan pipeline, what judges its findings, the entry point
TOP = {"scan": "usecase", "matrix": "usecase", "bundlefile": "usecase", "sosreport": "usecase", "__main__": "cli"}
PARTS = ("collect", "facts", "derived", "checks", "reports", "cli", "libvirt", "evaluate", "txn", "repair", "usecases")

ALLOWED = {
    BASE: {BASE},
    "libvirt": {BASE, "evaluate"},
    "evaluate": {BASE, "libvirt"},
    "collect": {BASE, "libvirt"},
    "facts": {BASE, "libvirt", "evaluate"},
    "derived": {BASE, "libvirt", "evaluate", "facts"},  # facts computed from facts, for the checks
    "checks": {BASE, "libvirt", "evaluate", "facts", "derived"},
    "txn": {BASE, "libvirt", "evaluate", "facts"},
    # repair: findings + facts -> steps of the transaction engine (it never collects or renders)
    "repair": {BASE, "libvirt", "evaluate", "facts", "derived", "txn"},
    "usecase": {BASE, "libvirt", "evaluate", "facts", "derived", "checks", "usecase"},
    # plan, migrate, rollback, history (vnetmigrate/usecases): beside scan, but they also read the
    # live host (collect) and change it (txn); reports render their typed results.
    "usecases": {BASE, "libvirt", "evaluate", "collect", "facts", "derived", "checks", "txn", "repair",
                 "usecase"},
    "reports": {BASE, "libvirt", "evaluate", "facts", "derived", "checks", "usecase", "usecases"},
    "cli": {BASE, "libvirt", "evaluate", "collect", "facts", "derived", "checks", "txn", "usecase", "usecases",
            "reports"},
}
# Not checked: the test lab (it drives everything, and leaves the package: issue 8 item 6).
UNCHECKED = {"sandbox"}

# Known arrows against the pipeline, each with the reason it is still there. Keep this short.
EXCEPTIONS = {
    # libvirt's container names (LIBVIRT_CHAINS, NFT_TABLE) are defined beside the facts that
    # summarize libvirt's rules; the evaluator's switch simulation reads them from there.
    ("vnetmigrate.evaluate.switch", "vnetmigrate.facts.libvirt_rules"),
}


def part_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "vnetmigrate":
        return None
    if len(parts) == 1:
        return BASE
    if parts[1] in PARTS or parts[1] in UNCHECKED:
        return parts[1]
    return TOP.get(parts[1], BASE)


def modules(packages: dict[str, Path] = PACKAGES):
    for package, directory in packages.items():
        for path in sorted(directory.rglob("*.py")):
            rel = [p for p in path.relative_to(directory).with_suffix("").parts if p != "__init__"]
            yield ".".join([package, *rel]), path


def imports(name: str, path: Path):
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            # `from vnetmigrate.facts import networks` imports a module, not a name
            yield from (f"{target}.{a.name}" for a in node.names if target.startswith("vnetmigrate"))


def arrows_against(packages: dict[str, Path] = PACKAGES) -> list[tuple[str, str]]:
    found = set()
    known = {m for m, _p in modules(packages)}
    for name, path in modules(packages):
        here = part_of(name)
        if here in UNCHECKED:
            continue
        for target in imports(name, path):
            if target.startswith("vnetmigrate") and target not in known and target.rsplit(".", 1)[0] in known:
                target = target.rsplit(".", 1)[0]  # a name imported from a module
            if target not in known:
                continue
            there = part_of(target)
            if there != here and there not in ALLOWED[here]:
                found.add((name, target))
    return sorted(found)


def test_no_import_runs_against_the_pipeline():
    unexpected = [f"{a} imports {b}" for a, b in arrows_against() if (a, b) not in EXCEPTIONS]
    assert unexpected == []


def test_every_listed_exception_still_exists():
    """An exception that was fixed comes off the list (so the list only shrinks)."""
    assert sorted(EXCEPTIONS - set(arrows_against())) == []


def test_the_checker_sees_an_arrow_against_the_pipeline(tmp_path):
    """The checker itself: a model module importing facts, and facts importing collect, are found."""
    pkg = tmp_path / "vnetmigrate"
    for part in ("libvirt", "facts", "collect"):
        (pkg / part).mkdir(parents=True)
        (pkg / part / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "collect" / "host.py").write_text("X = 1\n")
    (pkg / "facts" / "kernel.py").write_text("from vnetmigrate.collect.host import X\n")
    (pkg / "libvirt" / "model.py").write_text("def f():\n    from ..facts import kernel\n")
    assert arrows_against({"vnetmigrate": pkg}) == [
        ("vnetmigrate.facts.kernel", "vnetmigrate.collect.host"),
        ("vnetmigrate.libvirt.model", "vnetmigrate.facts"),  # a submodule's import runs its package
        ("vnetmigrate.libvirt.model", "vnetmigrate.facts.kernel")]


# Who may touch Evidence: the collectors write it, facts/ read it, the scan pipeline hands it
# from one to the other, and the CLI loads and saves it (--from, --save-evidence); a support
# bundle (usecases/bundle.py) screens secrets out of it and redacts it before bundlefile writes it.
EVIDENCE_USERS = {"collect", "facts", "usecase", "usecases", "cli"}


def test_facts_is_the_only_reader_of_evidence():
    users = sorted(name for name, path in modules() if part_of(name) not in EVIDENCE_USERS | UNCHECKED
                   and name != "vnetmigrate.evidence" and "vnetmigrate.evidence" in set(imports(name, path)))
    assert users == []
