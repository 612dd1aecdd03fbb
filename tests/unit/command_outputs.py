"""Real `--format json` documents of every command, made without root, for schema tests.

plan and migrate: the planner's plan of recorded real libvirt 11.3 data (test_txn_planner's
evidence) turned into results by the use case's own code; the transactions' outcomes are
typed values (running one needs root: the lab tier checks those against the schema). history
reads real journals; rules and fleet (of real saved scans) run the CLI; every command's error
envelope too.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.render import scenarios
from tests.unit.fleet_scans import save_fleet
from tests.unit.libvirt.samples import SAMPLES
from tests.unit.test_txn_planner import evidence, plan
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports.envelope import envelope
from vnetmigrate.reports.render import render_result
from vnetmigrate.usecases import history, plan as plan_usecase
from vnetmigrate.usecases.migrate import REFUSED_BLOCKERS, MigrateResult
from vnetmigrate.usecases.outcome import TxnOutcome
from vnetmigrate.usecases.rollback import RollbackResult

TXN = "20260101T000000.000000Z-aaaaaa"
COMMITTED = TxnOutcome(TXN, "committed")
ROLLED_BACK = TxnOutcome(TXN, "rolled-back", error="restart failed: exit 1", failed_step=5,
                         notes=("the daemon was restarted again",))
STUCK = TxnOutcome("20260102T000000.000000Z-bbbbbb", "needs-attention", error="restart failed: exit 1",
                   failed_step=None, rollback_errors=("restart: exit 1",),
                   differences=("ip libvirt_network: missing",))


def plans() -> dict[str, Any]:
    """PlanResults: moving to nftables (Docker's blocker), back to iptables (nothing to do),
    a restart with its guard and dedupe steps, and one the planner refused (no summary)."""
    from tests.unit.builders import LIBVIRT_IPT, ipt
    from vnetmigrate.scan import analyse

    docker = evidence(edit=lambda _recorded: ipt(LIBVIRT_IPT, policy="DROP", docker=True))
    out = {}
    for name, ev, target, restart in (("to-nftables", docker, "nftables", None),
                                      ("to-iptables", evidence(), "iptables", None),
                                      ("with-restart", evidence(), "nftables", ["systemctl", "restart", "libvirtd"])):
        scan = analyse(ev, migration_target=target)
        out[name] = plan_usecase.result_of(plan(ev, target, restart), scan, ("docker-forward-drop",) * (
            name == "with-restart"))
    out["refused"] = replace(out["to-iptables"], summary=None, blockers=(plan_usecase.Blocker(
        "backend-unsupported", "no modelled libvirt version has the iptables backend", "", False, "plan"),))
    return out


def repairs() -> dict[str, Any]:
    """RepairResults of the plans repair makes for a recorded silent switch (libvirt 11.3 without
    act_csum: back to iptables) and a good one (its leftover chains), in each way one can end."""
    from dataclasses import replace as changed

    from tests.unit.test_repair_plan import CSUM_MISSING, CSUM_PRESENT, opts, silent_switch, with_kernel
    from tests.unit.test_checks import NFT_CONF, recorded_host
    from vnetmigrate.scan import analyse
    from vnetmigrate.usecases import repair

    restart = ["systemctl", "restart", "libvirtd"]
    back, _ = repair.planned(analyse(silent_switch(CSUM_MISSING)), opts(), restart, "test")
    good = analyse(with_kernel(recorded_host("11.3-switch", "after", NFT_CONF), CSUM_PRESENT))
    chains, _ = repair.planned(good, opts(), None, "no daemon runs")
    after = repair.Verdict("ready", 0, ())
    return {
        "repair dry-run": changed(back, dry_run=True, exit_code=ExitCode.BLOCKERS),
        "repair committed": changed(chains, transaction=COMMITTED, after=after, recovered=(ROLLED_BACK,)),
        "repair rolled back": changed(back, transaction=ROLLED_BACK, exit_code=ExitCode.ROLLED_BACK),
        "repair not confirmed": changed(back, refused=repair.NOT_CONFIRMED, exit_code=ExitCode.ERROR),
        "repair stuck": changed(back, transaction=STUCK, exit_code=ExitCode.NEEDS_ATTENTION),
    }


def journals(state_dir: Path) -> Path:
    """A state dir with a committed, an unfinished and a corrupt transaction."""
    def write(name: str, *records: dict) -> None:
        d = state_dir / "txn" / name
        d.mkdir(parents=True)
        (d / "journal.jsonl").write_text("".join(json.dumps({"time": 1767225600.0, **r}) + "\n"
                                                 for r in records))

    write("20260101T000000.000000Z-aaaaaa", {"rec": "begin", "title": "migrate to nftables", "steps": 2,
                                             "command": "migrate", "pid": 42}, {"rec": "commit"})
    write("20260102T000000.000000Z-bbbbbb", {"rec": "begin", "title": "migrate to iptables", "steps": 3},
          {"rec": "intent", "step": 0}, {"rec": "failed", "step": 0, "error": "nft: Error: no such table"})
    write("20260103T000000.000000Z-cccccc")
    (state_dir / "txn" / "20260103T000000.000000Z-cccccc" / "journal.jsonl").write_text("garbage\n")
    return state_dir


def results(tmp: Path) -> dict[str, Any]:
    """One typed result per command and situation, by name."""
    p = plans()
    out: dict[str, Any] = {f"plan {k}": v for k, v in p.items()}
    out |= {
        "migrate dry-run": MigrateResult(p["with-restart"], p["with-restart"].exit_code, dry_run=True),
        "migrate refused": MigrateResult(p["to-nftables"], ExitCode.BLOCKERS, refused=REFUSED_BLOCKERS),
        "migrate nothing to do": MigrateResult(p["to-iptables"], ExitCode.OK, recovered=(ROLLED_BACK,)),
        "migrate committed": MigrateResult(p["with-restart"], ExitCode.OK, transaction=COMMITTED),
        "migrate rolled back": MigrateResult(p["with-restart"], ExitCode.ROLLED_BACK, transaction=ROLLED_BACK),
        "migrate stuck": MigrateResult(p["with-restart"], ExitCode.NEEDS_ATTENTION, transaction=STUCK),
        "rollback nothing": RollbackResult(tmp / "none", ()),
        "rollback two": RollbackResult(tmp, (ROLLED_BACK, STUCK)),
        "history empty": history.history(tmp / "none"),
        "history three": history.history(journals(tmp / "state")),
    } | repairs()
    return out


def documents(tmp: Path) -> dict[str, dict[str, Any]]:
    """Every command's JSON, parsed, by name: the results above, rules, scans, and errors."""
    docs = {name: json.loads(render_result(r, "json")) for name, r in results(tmp).items()}
    files = []
    for name in ("nat-dev-snat", "route-dev", "open"):
        files.append(tmp / f"{name}.xml")
        files[-1].write_text(SAMPLES[name])
    for backend in ("nftables", "iptables"):
        res = CliRunner().invoke(__import__("vnetmigrate.cli", fromlist=["app"]).app,
                                 ["rules", "-f", "json", "-b", backend, *map(str, files)])
        docs[f"rules {backend}"] = json.loads(res.stdout)
    docs["scan docker"] = scenarios.envelope(scenarios.docker_evidence())
    save_fleet(tmp / "fleet")
    (tmp / "fleet" / "broken.json").write_text("{")
    docs["fleet six"] = json.loads(CliRunner().invoke(__import__("vnetmigrate.cli", fromlist=["app"]).app,
                                                      ["fleet", str(tmp / "fleet"), "-f", "json"]).stdout)
    docs["scan broken"] = scenarios.envelope(scenarios.broken_evidence())
    from vnetmigrate.reports.bundle import to_json
    from vnetmigrate.usecases.bundle import assemble

    docs["bundle redacted"] = json.loads(to_json(assemble(scenarios.docker_evidence(), [], tmp / "b.tar.gz",
                                                          redact=True)))
    docs |= gate_documents(tmp)
    for command in ("scan", "plan", "migrate", "repair", "rollback", "history", "rules", "fleet", "bundle", "gate"):
        docs[f"{command} error"] = envelope(command, "error", 1, None, [{"unit": command, "message": "it failed"}])
    return docs


def gate_documents(tmp: Path) -> dict[str, dict[str, Any]]:
    """gate: its decision on the real pipeline (a Fedora 40 host with Docker's DROP, judged for
    Fedora 41's libvirt 11.6), and the files `gate install` writes under a root."""
    from tests.unit.test_gate import _fedora
    from vnetmigrate.gate.policy import Policy
    from vnetmigrate.reports.gate import to_json
    from vnetmigrate.usecases.gate import Request, decide

    req = Request(root=tmp, incoming="11.6.0-1.fc41", installed="10.1.0-1.fc40",
                  packages=("libvirt-daemon-driver-network",))
    docs = {"gate refused": json.loads(to_json(decide(req, Policy("block", None), _fedora(docker=True)))),
            "gate allowed": json.loads(to_json(decide(req, Policy("warn", "/etc/vnetmigrate/gate.conf"),
                                                      _fedora(docker=False))))}
    (tmp / "gate-root/etc/apt").mkdir(parents=True)
    docs["gate install"] = json.loads(CliRunner().invoke(__import__("vnetmigrate.cli", fromlist=["app"]).app, [
        "gate", "install", "--apt", "--root", str(tmp / "gate-root"), "-f", "json"]).stdout)
    return docs
