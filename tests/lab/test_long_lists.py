"""Lists that grow with the host read well at 80 columns: 500 networks on a real namespace.

The host (tests/bench/hostgen.py: 500 libvirt networks under the nftables backend) has IP
forwarding off and a native forward chain that drops everything, so scan names every network
in a title, in per-network evidence and in two commands per bridge. The text, Markdown and
HTML reports name the first five and count the rest; `--format json` keeps every name and
command. Plan's text says which networks move the same way and fits 80 columns.
"""

from __future__ import annotations

import pytest

from tests.bench.hostgen import build_host, libvirt_networks
from tests.unit.cli_runner import cli_runner
from tests.unit.schema_check import valid_envelope
from vnetmigrate.cli import app
from vnetmigrate.libvirt import nft_text

pytestmark = pytest.mark.lab

NETWORKS = 500
FIRST = "net0, net1, net10, net100, net101 and 495 more"  # libvirt lists networks by name


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    from tests.sandbox import namespaces
    from tests.lab.conftest import _missing

    if why := _missing():
        pytest.skip(why)
    ns = namespaces.new_name("long")
    namespaces.create([ns])
    try:
        root = tmp_path_factory.mktemp("long") / "root"
        build_host(ns, root, NETWORKS)
        namespaces.run(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
        namespaces.run(ns, ["nft", "add table inet hostfw; "
                                   "add chain inet hostfw forward { type filter hook forward priority 0; policy drop; }"])
        yield ns, str(root)
    finally:
        namespaces.delete([ns])


def run(*argv: str) -> str:
    result = cli_runner().invoke(app, list(argv), env={"COLUMNS": "80"})
    assert result.exit_code in (0, 3, 4), result.stderr
    return result.stdout


def test_scan_summarises_networks_in_text_and_keeps_them_all_in_json(host):
    ns, root = host
    where = ("--netns", ns, "--root", root)
    text = run("scan", *where)
    lines = text.splitlines()
    assert f"net.ipv4.ip_forward is 0: guests of {FIRST} cannot reach anything" in " ".join(
        ln.strip() for ln in lines)
    assert f"now: 500 networks ({FIRST}):" in text
    assert "    ... and 990 more commands (--format json lists them all)" in lines
    assert "net499" not in text and len(lines) < 120, "every network named somewhere"
    assert all(len(ln) <= 80 for ln in lines if not ln.startswith("    $ ") and not ln.startswith("Verdict:"))

    doc = valid_envelope(run("scan", *where, "--format", "json"))
    findings = {f["id"]: f for f in doc["data"]["findings"]}
    names = [f"net{i}" for i in range(NETWORKS)]
    assert all(f" {n}," in findings["ip-forwarding-off"]["title"] or f" {n} " in findings["ip-forwarding-off"]["title"]
               for n in names)
    drop = findings["input-forward-drop"]
    assert {e["where"] for e in drop["evidence"] if e["kind"] == "probe" and "network" in e["where"]} == \
        {f"now: network net{i} (vbr{i})" for i in range(NETWORKS)}
    assert len(drop["workarounds"][0]["commands"]) == 2 * NETWORKS

    md = run("scan", *where, "--format", "markdown")
    assert f"guests of {FIRST} cannot reach anything" in md and "net499" not in md
    assert "... and 990 more commands (--format json lists them all)" in md
    html = run("scan", *where, "--format", "html")
    assert f"guests of {FIRST} cannot reach anything" in html and "net499" not in html


def test_plan_text_names_five_networks_and_fits_80_columns(host):
    ns, root = host
    where = ("--netns", ns, "--root", root, "--to", "iptables")
    lines = run("plan", *where).splitlines()
    assert f"  networks moved: {FIRST}" in lines
    at = lines.index("BLOCKER ip-forwarding-off: net.ipv4.ip_forward is 0: guests of net0, net1,")
    assert lines[at + 1] == "  net10, net100, net101 and 495 more cannot reach anything"
    assert all(len(ln) <= 80 for ln in lines), [ln for ln in lines if len(ln) > 80]
    doc = valid_envelope(run("plan", *where, "--format", "json"))
    assert sorted(doc["data"]["summary"]["networks_moved"]) == sorted(f"net{i}" for i in range(NETWORKS))
    md = run("plan", *where, "--format", "markdown")
    assert "- networks moved: `net0`, `net1`, `net10`, `net100`, `net101` and 495 more" in md


def test_one_finding_per_network_is_shown_once_with_a_count(host):
    """With libvirt's tables gone every network has its own libvirt-rules-missing finding: the
    text shows the first and counts the rest; JSON has all 500."""
    from tests.sandbox import namespaces

    ns, root = host
    namespaces.run(ns, ["nft", "delete table ip libvirt_network; delete table ip6 libvirt_network"])
    try:
        text = run("scan", "--netns", ns, "--root", root)
        doc = valid_envelope(run("scan", "--netns", ns, "--root", root, "--format", "json"))
        md = run("scan", "--netns", ns, "--root", root, "--format", "markdown")
    finally:
        namespaces.run(ns, ["nft", "-f", "-"], input=nft_text(libvirt_networks(NETWORKS), "11.3"))
    missing = [f for f in doc["data"]["findings"] if f["id"] == "libvirt-rules-missing"]
    assert len(missing) == NETWORKS
    more = "... and 499 more libvirt-rules-missing findings like this one (--format json lists them all)"
    assert " ".join(text.split()).count(more) == 2  # under the blockers' list and after the first finding
    assert text.count("is active but 10 of its nftables rules are missing") == 2 and len(text.splitlines()) < 150
    assert f"*{more}*" in md.replace("\\", "") and md.count("is active but 10 of its") == 2
