"""The reports of plan, migrate, rollback and history: text (rich), Markdown and the CLI's choice.

Results come from the use cases' own code on recorded real libvirt data (tests/unit/command_outputs).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.unit.command_outputs import COMMITTED, ROLLED_BACK, STUCK, journals, plans, results
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import too_wide, unwrapped, words
from vnetmigrate import __version__
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports import txn_markdown, txn_terminal
from vnetmigrate.usecases.migrate import REFUSED_BLOCKERS, MigrateResult
from vnetmigrate.usecases.plan import Blocker
from vnetmigrate.usecases.rollback import RollbackResult


@pytest.fixture(scope="module")
def plan():
    return plans()


def text(result) -> str:
    return txn_terminal.to_text(result)


def test_plan_text_says_what_changes_in_order(plan):
    lines = text(plan["to-nftables"]).splitlines()
    assert lines[:6] == [
        "Migration of libvirt's firewall: iptables -> nftables (modelled as libvirt 11.3)",
        "  networks moved: default",
        "  add: 28 nftables commands",
        "  remove (ipv4): 19 rules, 7 chains",
        "  remove (ipv6): 0 rules, 7 chains",
        "  restart: none"]
    assert lines[6:9] == ["  network.conf:", "    --- a/etc/libvirt/network.conf", "    +++ b/etc/libvirt/network.conf"]
    assert '    +firewall_backend = "nftables"' in lines
    steps = lines.index("Steps:")
    assert lines[steps + 1] == "  1. [nft] add the nftables rules of 1 network" and lines[steps + 6].startswith("  6. [verify]")
    assert lines[-3:] == ["Note: test", "BLOCKER docker-forward-drop: Docker's FORWARD DROP policy blocks guest traffic",
                          "  after the migration"]


def test_prose_wraps_at_80_columns_but_ids_never_break(plan):
    """A blocker's title wraps at 80 columns under an indent (a pipe has no width, so the
    renderer wraps, not rich); its id stays on the first line and a long word (a path, a
    command's argument) is never broken."""
    path = "/etc/libvirt/" + "x" * 90
    long = replace(plan["to-nftables"], blockers=(Blocker("some-id", "word " * 30 + path, "", False, "plan"),))
    out = text(long).splitlines()
    first = next(i for i, ln in enumerate(out) if ln.startswith("BLOCKER"))
    block = out[first:]
    assert block[0].startswith("BLOCKER some-id: word word")
    assert all(len(ln) <= 80 for ln in block if path not in ln) and len(block) > 2
    assert all(ln.startswith("  ") for ln in block[1:]) and f"  {path}" in block
    assert block[-1].endswith("[cannot be forced]") and " ".join(block).split() == \
        ["BLOCKER", "some-id:", *["word"] * 30, path, "[cannot", "be", "forced]"]


def test_nothing_to_do_and_forced_blockers(plan):
    assert text(plan["to-iptables"]).startswith(
        "Nothing to do: libvirt's rules are already in iptables and network.conf says so.\n")
    forced = text(plan["with-restart"])
    assert "  restart: systemctl restart libvirtd\n" in forced
    assert "BLOCKER docker-forward-drop (forced): " not in forced  # that plan has no Docker blocker
    marked = replace(plan["to-nftables"], blockers=tuple(replace(b, forced=True) for b in plan["to-nftables"].blockers))
    assert "BLOCKER docker-forward-drop (forced): Docker's" in text(marked)


def test_migrate_last_words(plan):
    p = plan["with-restart"]
    assert text(MigrateResult(p, ExitCode.OK, dry_run=True)).endswith("\nDry run: nothing was changed.\n")
    assert text(MigrateResult(p, ExitCode.BLOCKERS, refused=REFUSED_BLOCKERS)).endswith(  # wrapped at 80 columns
        "\nRefused: blockers found; nothing was changed (use --force BLOCKER_ID for each\n  forcible one).\n")
    assert text(MigrateResult(p, ExitCode.OK, transaction=COMMITTED)).endswith(
        f"\nTransaction {COMMITTED.id} committed: libvirt's rules are in\n  nftables, verified.\n")
    failed = text(MigrateResult(p, ExitCode.ROLLED_BACK, transaction=ROLLED_BACK)).splitlines()
    assert failed[-4:] == [f"Transaction {ROLLED_BACK.id} FAILED at step 6: restart failed:", "  exit 1",
                           "  everything it did was rolled back; the old state is verified back",
                           "  note: the daemon was restarted again"]
    stuck = text(MigrateResult(p, ExitCode.NEEDS_ATTENTION, transaction=STUCK))
    assert f"Transaction {STUCK.id} FAILED at the commit: restart failed:\n  exit 1\n" \
           "  its ROLLBACK IS INCOMPLETE: the host needs attention\n  - restart: exit 1\n" \
           "  - differs from the snapshot: ip libvirt_network: missing\n" \
           f"  retry with `vnetmigrate rollback {STUCK.id}` (with\n" \
           "    --restart-command CMD or --no-restart if restarting the daemon is what\n    failed)\n" in stuck


def test_migrate_reports_the_recovery_it_ran_first(plan):
    out = text(MigrateResult(plan["to-iptables"], ExitCode.OK, recovered=(ROLLED_BACK,)))
    assert out.startswith(f"Interrupted transaction found first:\n  {ROLLED_BACK.id}: rolled back; the old state "
                          "is verified back\n    note: the daemon was restarted again\nNothing to do")


def test_rollback_and_history_text(tmp_path):
    assert unwrapped(text(RollbackResult(tmp_path, ()))) == f"nothing to roll back in {tmp_path}\n"
    assert text(RollbackResult(tmp_path, (STUCK,))).startswith(
        f"{STUCK.id}: ROLLBACK INCOMPLETE: the host needs attention\n  - restart: exit 1\n")
    out = results(tmp_path)["history three"]
    lines = text(out).splitlines()
    assert re.fullmatch(r"ID +STATUS +STEPS  TITLE", lines[0])
    assert re.fullmatch(r"20260103T000000\.000000Z-cccccc corrupt +-", lines[1])  # no trailing spaces
    # its error wrapped at 80 columns under the row, two columns in: the journal's path stays whole on a line
    journal = tmp_path / "state/txn/20260103T000000.000000Z-cccccc/journal.jsonl"
    bbb = next(i for i, line in enumerate(lines) if line.startswith("20260102T000000.000000Z-bbbbbb"))
    assert all(line.startswith("  ") for line in lines[2:bbb]) and not too_wide("\n".join(lines[2:bbb]))
    assert unwrapped("\n".join(lines[2:bbb])) == f"  journal {journal} is corrupt at line 1: Expecting value: line 1 " \
                                                 "column 1 (char 0)"
    assert lines[bbb].split()[:3] == ["20260102T000000.000000Z-bbbbbb", "incomplete", "0/3"]
    assert lines[bbb + 1] == "  nft: Error: no such table"  # the table's errors start in one column
    assert lines[bbb + 2].split() == ["20260101T000000.000000Z-aaaaaa", "committed", "0/2", "migrate", "to", "nftables"]


def test_colours_only_on_a_terminal(plan):
    buf = io.StringIO()
    txn_terminal.render(plan["to-nftables"], Console(file=buf, force_terminal=True, color_system="standard"))
    assert "\x1b[1;31mBLOCKER\x1b[0m docker-forward-drop" in buf.getvalue()
    assert "\x1b[" not in text(plan["to-nftables"])


def test_control_characters_from_the_host_are_shown_not_sent(plan):
    hostile = replace(plan["to-nftables"], notes=("libvirt \x1b[2J version",))
    assert "Note: libvirt \\x1b[2J version" in text(hostile)


def test_markdown_of_a_plan_escapes_and_fences(plan):
    hostile = replace(plan["to-nftables"], blockers=(Blocker("x", "<script>alert(1)</script> *bold*", "", True,
                                                                   "scan"),))
    md = txn_markdown.render(hostile)
    assert md.startswith("# vnetmigrate plan: blockers\n")
    assert "**Migration of libvirt's firewall: iptables → nftables** (modelled as libvirt 11.3)" in md
    assert "| 1 | `nft` | add the nftables rules of 1 network |" in md
    assert "| 5 | `file` | set firewall\\_backend = \"nftables\" in network.conf |" in md
    assert "```diff\n--- a/etc/libvirt/network.conf" in md
    assert "<script>" not in md and "\\<script\\>" in md and "\\*bold\\*" in md
    assert md.rstrip().endswith("exit code 4*")


def test_markdown_of_migrate_rollback_and_history(plan, tmp_path):
    md = txn_markdown.render(MigrateResult(plan["with-restart"], ExitCode.NEEDS_ATTENTION, transaction=STUCK))
    assert "## Result" in md and "**FAILED** at the commit" in md and "**ROLLBACK IS INCOMPLETE**" in md
    assert f"`vnetmigrate rollback {STUCK.id}`" in md
    hist = txn_markdown.render(results(tmp_path)["history three"])
    assert "| `20260103T000000.000000Z-cccccc` | corrupt | - |" in hist
    assert txn_markdown.render(RollbackResult(tmp_path, ())).startswith("# vnetmigrate rollback: ok\n")


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_history_cli_in_every_format_and_to_a_file(tmp_path, fmt):
    state = journals(tmp_path / "state")
    out = tmp_path / f"history.{fmt}"
    res = CliRunner().invoke(app, ["history", "--state-dir", str(state), "--format", fmt, "-o", str(out)])
    assert res.exit_code == 6 and res.stdout == ""
    written = out.read_text()
    assert "20260103T000000.000000Z-cccccc" in written
    shown = CliRunner().invoke(app, ["history", "--state-dir", str(state), "--format", fmt])
    if fmt == "json":  # but for when each ran and for how long
        run = re.compile(r'^  "(started_at|duration)": .*$', re.M)
        assert run.sub("", shown.stdout) == run.sub("", written)
    else:
        assert shown.stdout == written
    if fmt == "json":
        assert [t["status"] for t in valid_envelope(written, "history-v1")["data"]["transactions"]] == [
            "corrupt", "incomplete", "committed"]


def test_repair_text_says_what_why_and_what_is_left_then_how_it_ended(tmp_path):
    out = results(tmp_path)
    back = txn_terminal.to_text(out["repair rolled back"])
    assert back.startswith("Repair FAILED and was rolled back (transaction ")
    assert "  libvirt-rules-missing: move libvirt back to its iptables backend" in back
    # the why is prose, wrapped at 80 columns under its head
    assert "    why: the nftables backend cannot work on this host (see\n         nftables-prerequisites)" in back
    assert max(len(line) for line in back.split("why: ")[1].split("also repairs")[0].splitlines()) <= 80
    assert "    also repairs: nftables-prerequisites, libvirt-leftover-chains" in back
    assert "  5. [file] set firewall_backend = \"iptables\" in network.conf" in back
    assert "  blocker ip-forwarding-off: no automatic repair: see the scan's workarounds" in back
    assert "everything it did was rolled back; the old state is verified back" in back
    done = txn_terminal.to_text(out["repair committed"])
    assert done.startswith("Repaired (1 repair, transaction 20260101T000000.000000Z-aaaaaa); scan after:\n  ready\n")
    assert "Interrupted transaction found first:" in done and done.rstrip().endswith("Scan after the repair: ready")
    assert "(undo:\n  vnetmigrate rollback 20260101T000000.000000Z-aaaaaa)" in done  # the command whole
    dry = txn_terminal.to_text(out["repair dry-run"])
    assert dry.startswith("Repair plan (dry run): 1 repair, 10 steps; 1 finding left\n")
    assert dry.rstrip().endswith("Dry run: nothing was changed.")


def test_quiet_migrate_prints_how_it_ended_not_the_plan_heading(plan, tmp_path):
    """`migrate -q` is for scripts and cron mail: its one line is the outcome."""
    p = plan["with-restart"]
    runs = {
        "committed": (MigrateResult(p, ExitCode.OK, transaction=COMMITTED),
                      f"Transaction {COMMITTED.id} committed: libvirt's rules are in nftables, verified."),
        "failed": (MigrateResult(p, ExitCode.ROLLED_BACK, transaction=ROLLED_BACK),
                   f"Transaction {ROLLED_BACK.id} FAILED at step 6: restart failed: exit 1"),
        "refused": (MigrateResult(p, ExitCode.BLOCKERS, refused=REFUSED_BLOCKERS), "Refused: blockers found; "
                    "nothing was changed (use --force BLOCKER_ID for each forcible one)."),
        "dry run": (MigrateResult(p, ExitCode.OK, dry_run=True), "Dry run: nothing was changed."),
        "nothing to do": (MigrateResult(plan["to-iptables"], ExitCode.OK, recovered=(ROLLED_BACK,)),
                          text(plan["to-iptables"]).splitlines()[0]),
    }
    for name, (result, line) in runs.items():
        assert txn_terminal.quiet_line(result) == line, name
    assert txn_terminal.quiet_line(p) == text(p).splitlines()[0]  # plan: its heading
    assert txn_terminal.quiet_line(results(tmp_path)["rollback two"]) == \
        f"{ROLLED_BACK.id}: rolled back; the old state is verified back"


def test_repair_with_nothing_it_can_apply_does_not_say_nothing_to_repair(tmp_path):
    from dataclasses import replace as changed

    from vnetmigrate.usecases.repair import Left

    dry = results(tmp_path)["repair dry-run"]
    left = (Left("ip-forwarding-off", "blocker", "net.ipv4.ip_forward is 0", "no automatic repair: see the scan's "
                 "workarounds"),)
    lines = text(changed(dry, remedies=(), steps=(), left=left)).splitlines()
    assert lines[1:4] == ["No automatic repair for what scan found.", "Left as they are:",
                          "  blocker ip-forwarding-off: no automatic repair: see the scan's workarounds"]
    assert "Nothing to repair." in text(changed(dry, remedies=(), steps=(), left=()))


def test_the_scan_after_a_repair_shows_one_of_many_alike_findings():
    from vnetmigrate.usecases.repair import Verdict

    many = tuple(("libvirt-rules-missing", "blocker", f"Network net{i} (vbr{i}) is active but 10 of its nftables "
                  "rules are missing") for i in range(500))
    lines = txn_terminal._plain(txn_terminal.verdict_lines("Scan after the repair: ", Verdict("x", 4, many)))
    assert lines.splitlines()[1:] == [  # wrapped at 80 columns under the finding
        "  blocker libvirt-rules-missing: Network net0 (vbr0) is active but 10 of its",
        "    nftables rules are missing",
        "    ... and 499 more libvirt-rules-missing findings like this one (--format json",
        "    lists them all)"]


def test_repair_markdown_says_what_why_and_what_is_left_then_how_it_ended(tmp_path):
    """repair's Markdown has the terminal's facts in its order (results of the use case's own
    planner on recorded real libvirt 11.3 data), escaped as every Markdown report is."""
    out = results(tmp_path)
    back = txn_markdown.render(out["repair rolled back"])
    assert back.startswith("# vnetmigrate repair: rolled-back\n\nScan before the repair: **guests are broken now")
    assert "- `libvirt-rules-missing`: move libvirt back to its iptables backend and pin firewall\\_backend" in back
    assert "  - why: the nftables backend cannot work on this host (see nftables-prerequisites)" in back
    assert "  - also repairs: `nftables-prerequisites`, `libvirt-leftover-chains`" in back
    assert "| 5 | `file` | set firewall\\_backend = \"iptables\" in network.conf |" in back
    assert "Restart: `systemctl restart libvirtd`" in back
    assert "## Left as they are\n\n- blocker `ip-forwarding-off`: no automatic repair: see the scan's workarounds" in back
    assert "**FAILED** at step 6: restart failed: exit 1" in back and back.rstrip().endswith("exit code 5*")
    assert back.index("## Repairs") < back.index("## Steps") < back.index("## Left as they are") < back.index("## Result")
    done = txn_markdown.render(out["repair committed"])
    assert "## Interrupted transactions found first" in done
    assert ("committed: repaired, verified (undo: `vnetmigrate rollback 20260101T000000.000000Z-aaaaaa`).\n\n"
            "Scan after the repair: **ready**\n") in done
    assert txn_markdown.render(out["repair dry-run"]).rstrip().endswith(
        f"## Result\n\nDry run: nothing was changed.\n\n*vnetmigrate {__version__}, exit code 4*")
    assert "**Refused:** not confirmed; nothing was changed." in txn_markdown.render(out["repair not confirmed"])
    hostile = replace(out["repair stuck"], notes=("<script>alert(1)</script> *bold*",))
    md = txn_markdown.render(hostile)
    assert "<script>" not in md and "- \\<script\\>alert(1)\\</script\\> \\*bold\\*" in md
    assert "**ROLLBACK IS INCOMPLETE**" in md
