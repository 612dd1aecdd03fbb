"""Run remedies of `vnetmigrate repair` as one transaction, in-process or as a process that a
crash test kills at a step boundary (tests/crashpoint.py):

    VNETMIGRATE_TEST_CRASH_AT=2:after python -m tests.lab.repair_driver NS ROOT STATE FINDING...

Scan (collect + analyse, as the CLI does with --netns and --root), build each finding's remedy,
run their steps as one plan through the transaction engine. Until the `repair` command exists,
this is how the tests drive the remedies.
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(ns: str, root: Path, state: Path, ids: tuple[str, ...], facts_as=None):
    """(the remedies built, the engine's TxnResult)."""
    from vnetmigrate.collect import collect_live
    from vnetmigrate.netns import entered
    from vnetmigrate.repair import remedies
    from vnetmigrate.scan import analyse
    from vnetmigrate.txn import engine
    from vnetmigrate.txn.statedir import StateDir
    from vnetmigrate.txn.steps import Plan

    result = analyse(collect_live(root=str(root), netns=ns))
    facts = facts_as(result.facts) if facts_as else result.facts
    ctx = remedies.RepairContext(root, ns)
    built = []
    for fid in ids:
        finding = next(f for f in result.findings if f.id == fid)
        assert any(w.repairable for w in finding.workarounds), finding
        remedy = remedies.load_all()[fid](facts, finding, ctx)
        assert isinstance(remedy, remedies.Remedy), remedy
        built.append(remedy)
    plan = Plan("repair " + " ".join(ids), tuple(s for r in built for s in r.steps))
    with entered(ns), StateDir(state) as st:
        return built, engine.run(plan, st, root, netns=ns, command="repair")


def main() -> int:
    from tests import crashpoint

    crashpoint.arm()
    ns, root, state, *ids = sys.argv[1:]
    _, out = run(ns, Path(root), Path(state), tuple(ids))
    print(out.status)
    return 0 if out.status == "committed" else 1


if __name__ == "__main__":
    sys.exit(main())
