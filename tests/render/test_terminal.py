"""The terminal report, rendered from the envelope as a colour terminal would show it."""

import io
import re

from rich.console import Console

from tests.render import scenarios
from vnetmigrate.reports.terminal import render, to_text

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


def test_verdict_first_in_the_status_colour():
    lines = coloured(scenarios.docker_evidence)
    assert plain(lines[0]) == "Verdict: do not upgrade yet"
    assert "31" in SGR.findall(lines[0])[0].split(";")  # red


def test_the_hosts_rows_are_highlighted():
    lines = coloured(scenarios.switching_evidence)  # row 2 now, row 3 after the switch
    rows = {int(m.group(1)): line for line in lines if (m := re.match(r"^│ (\d) ", plain(line)))}
    assert {n for n, line in rows.items() if reversed_video(line)} == {2, 3}
    assert plain(rows[2]).rstrip(" │").endswith("now") and "after switch" in plain(rows[3])


def test_coordinates_with_reasons_findings_and_commands():
    doc = scenarios.envelope(scenarios.docker_evidence())
    text = to_text(doc)
    detail = doc["data"]["matrix"]["detail"]["now"]
    assert f"  userspace: iptables - {detail['userspace']['reason']}" in text
    assert text.index("BLOCKER") < text.index("WARNING") < text.index("INFO")
    assert "$ iptables-nft -I DOCKER-USER -i virbr0 -j ACCEPT" in text
    assert "[repair can apply this]" in text
    assert text.rstrip().endswith("1 blocker, 1 warning, 2 info; exit code 4")


def test_errors_and_skipped_checks():
    text = to_text(scenarios.envelope(scenarios.broken_evidence()))
    errors = text.split("Errors (parts that could not be read or checked):\n", 1)[1]
    assert errors.startswith("  facts.iptables: iptables-nft -t filter -S INPUT: line 1: unexpected line 'garbage'\n")
    assert "Skipped checks:\n  docker-forward-drop: facts missing: iptables\n" in text


def test_hostile_names_are_plain_text():
    text = to_text(scenarios.envelope(scenarios.hostile_evidence()))
    assert '<script>alert("pwned")<script>' in text
    assert "[bold]pipe[red]" in text  # rich markup in a name is shown, not interpreted
