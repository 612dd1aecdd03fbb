"""The terminal report, rendered from the envelope as a colour terminal would show it."""

import io
import re

from rich.console import Console

from tests.render import scenarios
from vnetmigrate.reports.terminal import render, to_text
from vnetmigrate.usecases.repair import repairable_ids

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def coloured(evidence) -> list[str]:
    buf = io.StringIO()
    render(scenarios.envelope(evidence()), Console(file=buf, force_terminal=True, color_system="standard",
                                                   width=160, highlight=False))
    return buf.getvalue().splitlines()


def reversed_video(line: str) -> bool:
    return any("7" in params.split(";") for params in SGR.findall(line))


def plain(line: str) -> str:
    return SGR.sub("", line)


BROKEN_PINNED = "guests are broken now (no switch pending: network.conf pins libvirt to nftables)"


def test_verdict_first_in_the_status_colour():
    lines = coloured(scenarios.docker_evidence)
    assert plain(lines[0]) == f"Verdict: {BROKEN_PINNED}"
    assert "31" in SGR.findall(lines[0])[0].split(";")  # red


def test_answer_first_counts_then_one_line_per_blocker_then_the_matrix_in_two_lines():
    text = to_text(scenarios.envelope(scenarios.docker_evidence()), width=200)
    lines = text.splitlines()
    assert lines[1] == "1 blocker, 1 warning, 2 info"
    assert lines[3] == "Blockers:"
    assert re.match(r"  1\. .+  \[docker-forward-drop\]$", lines[4])
    assert text.index("now: row") < text.index("after the switch: row") < text.index(" BLOCKER ")
    assert "Compatibility matrix" not in text  # the table only with --verbose
    assert text.rstrip().endswith("`vnetmigrate plan` previews a migration.")


def test_verbose_adds_the_full_matrix_with_the_hosts_rows_highlighted():
    buf = io.StringIO()
    render(scenarios.envelope(scenarios.switching_evidence()), Console(
        file=buf, force_terminal=True, color_system="standard", width=160, highlight=False), verbosity=1)
    lines = buf.getvalue().splitlines()  # row 2 now, row 3 after the switch
    rows = {int(m.group(1)): line for line in lines if (m := re.match(r"^│ (\d) ", plain(line)))}
    assert {n for n, line in rows.items() if reversed_video(line)} == {2, 3}
    assert plain(rows[2]).rstrip(" │").endswith("now") and "after switch" in plain(rows[3])


def test_quiet_prints_the_verdict_line_only():
    assert to_text(scenarios.envelope(scenarios.docker_evidence()), verbosity=-1) == f"Verdict: {BROKEN_PINNED}\n"


def test_two_placement_lines_with_the_reason_of_what_changes_findings_and_commands():
    doc = scenarios.envelope(scenarios.switching_evidence())
    text = to_text(doc, width=200)
    detail = doc["data"]["matrix"]["detail"]
    assert "now: row 2 — nftables kernel, iptables userspace, iptables libvirt backend: " in text
    assert "after the switch: row 3 — nftables kernel, iptables userspace, nftables libvirt backend: " in text
    assert f"  backend: {detail['after']['backend']['reason']}" in text
    assert f"  userspace: {detail['now']['userspace']['reason']}" not in text  # unchanged: only with --verbose
    assert f"  userspace: {detail['now']['userspace']['reason']}" in to_text(doc, width=200, verbosity=1)
    text = to_text(scenarios.envelope(scenarios.docker_evidence()))
    assert text.index("BLOCKER") < text.index("WARNING") < text.index("INFO")
    assert "$ iptables-nft -I DOCKER-USER -i virbr0 -j ACCEPT" in text  # one line, however wide
    # Docker's workaround is repairable where repair has its remedy (the persistent ones)
    docker = next(ln for ln in text.splitlines() if "e.g. in a unit that runs after docker.service" in ln)
    assert ("repair can apply this" in docker) == ("docker-forward-drop" in repairable_ids())
    assert "1 blocker, 1 warning, 2 info; exit code 4" in text


def test_plain_text_has_one_width_and_no_trailing_spaces():
    text = to_text(scenarios.envelope(scenarios.docker_evidence()))
    assert all(line == line.rstrip() for line in text.splitlines())
    assert all(len(line) <= 80 for line in text.splitlines() if not line.lstrip().startswith(("$", "Verdict:")))


def test_errors_and_skipped_checks():
    text = to_text(scenarios.envelope(scenarios.broken_evidence()), width=200)
    errors = text.split("Errors (parts that could not be read or checked):\n", 1)[1]
    assert errors.startswith("  facts.iptables: iptables-nft -t filter -S INPUT: line 1: unexpected line 'garbage'\n")
    assert "Skipped checks:\n  docker-forward-drop: facts missing: iptables\n" in text
    narrow = to_text(scenarios.envelope(scenarios.broken_evidence()), width=60)
    errors = narrow.split("Errors (parts that could not be read or checked):\n", 1)[1].splitlines()
    assert errors[:2] == ["  facts.iptables: iptables-nft -t filter -S INPUT: line 1:",  # wrapped under the message
                          "                  unexpected line 'garbage'"]


def test_hostile_names_are_plain_text():
    text = to_text(scenarios.envelope(scenarios.hostile_evidence()))
    assert '<script>alert("pwned")<script>' in text
    assert "[bold]pipe[red]" in text  # rich markup in a name is shown, not interpreted


def test_many_alike_evidence_lines_become_one_line_with_a_count():
    from vnetmigrate.reports import view

    doc = scenarios.envelope(scenarios.docker_evidence())
    f = dict(doc["data"]["findings"][0])
    f["evidence"] = [{"kind": "rule", "where": f"ipv4 mangle LIBVIRT_PRT rule {i}", "detail": f"-A LIBVIRT_PRT {i}"}
                     for i in range(1, 61)] + [{"kind": "file", "where": "/etc/x", "detail": ""}]
    lines = view.evidence_lines(f)
    assert [(e.where, e.count) for e in lines] == [("60 rules in ipv4 mangle LIBVIRT_PRT", 60), ("/etc/x", 1)]
    assert lines[0].detail == "first: -A LIBVIRT_PRT 1"
    assert view.kept_lines([f"ip libvirt_network guest_input handle {i}" for i in range(9)]) == [
        "kept 9 rules that are not libvirt's, in ip libvirt_network guest_input (--format json lists them)"]


def test_the_workarounds_repair_applies_say_so():
    from tests.unit.test_checks import NFT_CONF, recorded_host
    from vnetmigrate.reports.envelope import scan_envelope
    from vnetmigrate.scan import analyse

    doc = scan_envelope(analyse(recorded_host("11.3-switch-no-act-csum", "after", NFT_CONF)))
    text = to_text(doc, width=200)
    assert "Remove the empty chains and the jumps to them  [repair can apply this]" in text
    assert "Or re-create them from libvirt's model, verified" in text
    assert "Restart libvirt's network daemon so it re-creates the rules, then scan again  [" not in text
