"""Every row of the scenario table (scenarios.py), proven with packets.

nftables backend: the probes the row says fail do fail (and only those), `vnetmigrate scan`
(a subprocess, --netns, a temporary --root with the row's files) reports the row's finding
at its severity, and running that finding's first workaround, exactly as printed, in the lab
host makes every probe pass. iptables backend: the same host's probes pass (or fail as the
row says) and the scan reports the row's finding: what breaks once libvirt switches.
"""

from __future__ import annotations

import pytest

from tests.lab.scenarios import SCENARIOS, as_written, build, probe_all
from tests.lab.test_lab_scan import finding, scan
from vnetmigrate.exitcodes import ExitCode

pytestmark = pytest.mark.lab
LOST = 0.2  # seconds a probe expected to be dropped waits
# A blocker about this machine's kernel, not about the host set-up: it lacks act_csum, which
# libvirt 11's nftables backend needs (HACKING.md). Every row that switches gets it here.
KERNEL = "nftables-prerequisites"


def failing(results: dict) -> set[str]:
    return {name for name, r in results.items() if not r.ok}


def assert_scan(doc: dict, code: int, expect) -> dict | None:
    found = doc["data"]["findings"]
    if expect.finding is None:
        assert not [f for f in found if f["severity"] == "blocker" and f["id"] != KERNEL], found
        return None
    for fid, severity in expect.also:
        other = finding(doc, fid)
        assert other is not None and other["severity"] == severity, found
    f = finding(doc, expect.finding)
    assert f is not None and f["severity"] == expect.severity, found
    if expect.severity == "blocker":
        assert code == ExitCode.BLOCKERS
    return f


def prove(lab, tmp_path, scenario, backend: str):
    """Set the row up, check which probes fail, scan: (host, the expected finding or None)."""
    expect = scenario.nft if backend == "nftables" else scenario.ipt
    host = build(lab, scenario, backend)
    results = probe_all(lab, scenario, expect.fails, LOST)
    assert failing(results) == set(expect.fails), [str(r) for r in results.values()]
    code, doc = scan(lab, host.write_root(tmp_path / "root"))
    return host, assert_scan(doc, code, expect)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_nftables_backend_breaks_as_predicted_and_the_first_workaround_fixes_it(lab, tmp_path, scenario):
    host, f = prove(lab, tmp_path, scenario, "nftables")
    if scenario.workaround is None:
        return
    commands = [c for c in f["workarounds"][0]["commands"] if as_written(lab, c) not in scenario.not_run]
    assert commands, f
    for command in commands:  # what the report tells the admin to run, as printed
        host.run(lab, command)
    results = probe_all(lab, scenario, (), LOST)
    assert not failing(results), [str(r) for r in results.values()]
    if scenario.workaround == "input-forward-drop":  # the evaluation now agrees nothing drops
        _, doc = scan(lab, host.write_root(tmp_path / "rescan"))
        again = finding(doc, "input-forward-drop")
        assert again is None or again["severity"] != "blocker", again


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_iptables_backend_works_or_scan_says_why_not(lab, tmp_path, scenario):
    _host, f = prove(lab, tmp_path, scenario, "iptables")
    if f is not None:
        when = "now" if scenario.ipt.fails else "after the switch"
        assert when in f["title"], f["title"]
