"""Debian 13's real sos report on real libvirt 11.3 with Docker's rules: its analysis agrees with
the live scan of the same host (the same findings where sos has the facts, "cannot tell" where
it has not), for the nftables backend and for Debian's default (firewall_backend unset).
tests/peer/sos.py runs it; tests/data/sos/ holds a recording the unit tier replays."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.peer.require import require_peer
from tests.peer.sos import BACKENDS, REPO, disagreements, sos_host, summary, unavailable_reason

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b or "unset")
def test_sos_analysis_agrees_with_the_live_scan(tmp_path, backend):
    require_peer("11.3")
    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    with sos_host(tmp_path, backend) as host:
        archive = host.sos_report(tmp_path / "out")
        code, live = host.scan()
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "report", str(archive), "--format", "json"],
                          capture_output=True, text=True, cwd=REPO)
    doc = json.loads(proc.stdout)
    assert live["errors"] == []
    assert disagreements(summary(code, live), proc.returncode, doc) == []
    if backend == "nftables":  # the blocker comes from sos's files alone
        assert ("docker-forward-drop", "blocker") in {(f["id"], f["severity"]) for f in doc["data"]["findings"]}
    print(f"\n{backend or 'unset'}: live {live['status']} {sorted((f['id'], f['severity']) for f in live['data']['findings'])}"
          f"\n  sos {doc['status']} {sorted((f['id'], f['severity']) for f in doc['data']['findings'])}"
          f" (cannot tell: {sorted(e['unit'] for e in doc['errors'])})")
