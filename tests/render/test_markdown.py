"""The Markdown report: what a reader sees in a ticket, and nothing a renderer would execute."""

import re

from tests.render import scenarios
from vnetmigrate.reports.markdown import code, render
from vnetmigrate.usecases.repair import repairable_ids


def report(evidence):
    doc = scenarios.envelope(evidence())
    return render(doc), doc


FENCED = re.compile(r"^(`{3,})sh\n(.*?)\n\1$", re.S | re.M)


def fenced_blocks(md: str) -> list[list[str]]:
    return [m.group(2).splitlines() for m in FENCED.finditer(md)]


def outside_code(md: str) -> str:
    """The Markdown without fenced blocks, code spans and autolinks: what is rendered as prose."""
    md = FENCED.sub("", md)
    md = re.sub(r"(?<!\\)(`+)(.+?)\1", "", md)
    return re.sub(r"<https?://[^\s<>]+>", "", md)


def test_verdict_comes_first():
    md, _ = report(scenarios.switching_evidence)
    first, _, third = md.splitlines()[:3]
    assert first == "# vnetmigrate scan: ready after these steps"
    assert third.startswith("**Verdict: ready after these steps** (")


def test_matrix_marks_the_hosts_rows():
    md, doc = report(scenarios.switching_evidence)  # row 2 now, row 3 after the switch
    rows = [line for line in md.splitlines() if re.match(r"^\| \**\d", line)]
    assert len(rows) == 5
    marks = {re.search(r"\d", r).group(): r.rsplit("|", 2)[1].strip() for r in rows}
    assert marks == {"1": "", "2": "**→ now**", "3": "**→ after the switch**", "4": "", "5": ""}
    assert rows[1].startswith("| **2** | **nftables** |")
    for label, key in (("now", "now"), ("after the switch", "after")):
        assert f"- **{label}: row {doc['data']['matrix'][key]}**" in md


def test_every_command_is_in_a_fenced_block_exactly():
    md, doc = report(scenarios.docker_evidence)
    blocks = fenced_blocks(md)
    for f in doc["data"]["findings"]:
        for w in f["workarounds"]:
            if w["commands"]:  # a hint-only workaround has no block
                assert w["commands"] in blocks
    assert "**Evidence**" in md and "`ip filter FORWARD`: policy DROP (iptables-nft)" in md
    headings = [line for line in md.splitlines() if line.startswith("### ")]
    assert headings == ["### Blockers (1)", "### Warnings (1)", "### Information (2)"]


def test_hostile_names_cannot_become_html_or_markup():
    md, doc = report(scenarios.hostile_evidence)
    prose = outside_code(md)
    assert re.findall(r"(?<!\\)[<>]", prose) == []  # escaped, so no renderer takes them for HTML
    assert r"\<script\>alert(" in prose and r"\*\*bold\*\*" in prose and r"\| \[bold\]pipe\[red\]" in prose
    hostile_command = next(c for f in doc["data"]["findings"] for w in f["workarounds"]
                           for c in w["commands"] if "<script>" in c)
    assert any(hostile_command in block for block in fenced_blocks(md))  # copyable as is


def test_code_spans_survive_backticks():
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"


def test_errors_and_skipped_checks_are_listed():
    md, doc = report(scenarios.broken_evidence)
    errors = md.split("## Errors", 1)[1]
    assert "`facts.iptables`: iptables-nft -t filter -S INPUT: line 1: unexpected line 'garbage'" in errors
    assert "## Skipped checks\n\n- `docker-forward-drop`: facts missing: iptables" in md


def test_answer_first_blockers_listed_and_backticks_as_code():
    md, doc = report(scenarios.docker_evidence)
    head = md.split("## Compatibility matrix", 1)[0]
    assert "Blockers:\n\n1. " in head and "(`docker-forward-drop`)" in head
    assert "Next: apply the first workaround of each blocker, then rerun `vnetmigrate scan`; " in head
    assert "\\`" not in md.replace("\\`tick\\`", "")  # no escaped backticks shown literally
    docker = next(ln for ln in md.splitlines() if "e.g. in a unit that runs after docker.service" in ln)
    assert ("repair can apply this" in docker) == ("docker-forward-drop" in repairable_ids())
