"""What `repair` plans for hosts as real libvirt 11.3 left them (recorded switch scenarios):
which remedy each finding gets, why, the steps, and what it leaves. Pure: no host is touched
(the lab tests apply these plans to a kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_checks import NFT_CONF, recorded_host
from tests.unit.wrapping import unwrapped
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import FileRecord
from vnetmigrate.scan import analyse
from vnetmigrate.usecases import repair

CSUM_MISSING = "CONFIG_NF_TABLES=y\nCONFIG_NET_CLS_U32=y\nCONFIG_NET_SCH_HTB=m\n# CONFIG_NET_ACT_CSUM is not set\n"
CSUM_PRESENT = "CONFIG_NF_TABLES=y\nCONFIG_NET_CLS_U32=y\nCONFIG_NET_SCH_HTB=m\nCONFIG_NET_ACT_CSUM=m\n"
IPT_CONF = 'firewall_backend = "iptables"\n'


def with_kernel(ev, config: str):
    ev.meta["kernel_release"] = "6.18.0"
    ev.add_file(FileRecord("/proc/config.gz", config, None))
    return ev


def opts(**kw) -> repair.Options:
    return repair.Options(None, Path("/"), Path("/nonexistent-state"), **kw)


def planned(ev, restart=("systemctl", "restart", "libvirtd"), **kw):
    result, plan = repair.planned(analyse(ev), opts(**kw), list(restart) if restart else None, "test")
    return result, plan


def silent_switch(config: str):
    return with_kernel(recorded_host("11.3-switch-no-act-csum", "after", NFT_CONF), config)


def test_silent_switch_without_act_csum_goes_back_to_iptables_and_pins_it():
    result, plan = planned(silent_switch(CSUM_MISSING))
    (rem,) = result.remedies
    assert rem.finding == "libvirt-rules-missing" and "back to its iptables backend" in rem.summary
    assert "nftables-prerequisites" in rem.why and "pins the backend" in rem.why
    assert {"nftables-prerequisites", "libvirt-leftover-chains"} <= set(rem.covers)
    kinds = [s.kind for s in result.steps]
    assert kinds[:3] == ["ipt", "ipt", "verify"] and "file" in kinds and kinds[-1] == "verify"
    assert kinds.count("restart") == 1 and "dedupe" in kinds
    conf = next(s for s in plan.steps if s.kind == "file")
    assert conf.content == 'firewall_backend = "iptables"\n' and conf.old_content == NFT_CONF
    assert plan.meta["repair"] == ["libvirt-rules-missing"]
    assert {x.finding for x in result.left} & set(rem.covers) == set()  # covered, not "left"


def test_silent_switch_without_a_restart_command_still_pins_and_says_it_does_not_restart():
    result, plan = planned(silent_switch(CSUM_MISSING), restart=None)
    assert "restart" not in [s.kind for s in result.steps]
    assert "does not restart libvirt's network daemon (test)" in result.remedies[0].why


def test_missing_rules_in_a_backend_that_works_are_re_created_there():
    result, plan = planned(silent_switch(CSUM_PRESENT))
    rem = next(r for r in result.remedies if r.finding == "libvirt-rules-missing")
    assert rem.summary.startswith("re-create the nftables rules of default, nat-dual, route")
    assert [s.kind for s in result.steps][:2] == ["nft", "verify"]
    added = plan.steps[0].commands
    assert {c["insert"]["rule"]["chain"] for c in added} == {"guest_output", "guest_input", "guest_cross",
                                                            "guest_nat"}
    assert "file" not in [s.kind for s in result.steps]


def test_leftover_chains_after_a_good_switch_are_removed_with_their_jumps_only():
    ev = with_kernel(recorded_host("11.3-switch", "after", NFT_CONF), CSUM_PRESENT)
    result, plan = planned(ev)
    (rem,) = result.remedies
    assert rem.finding == "libvirt-leftover-chains" and rem.summary.startswith("remove libvirt's leftovers")
    ipv4 = next(s for s in plan.steps if s.kind == "ipt" and s.family.value == "ipv4")
    assert "-D FORWARD -j LIBVIRT_FWX" in ipv4.fragment and "-X LIBVIRT_FWX" in ipv4.fragment
    assert "-F" not in ipv4.fragment.split()  # never a flush: a late rule makes the kernel refuse
    assert plan.steps[-1].kind == "verify"


def test_emptied_libvirt_network_tables_after_a_switch_back_are_deleted():
    ev = recorded_host("11.3-switch-back", "after", IPT_CONF)
    result, plan = planned(ev)
    (rem,) = [r for r in result.remedies if r.finding.startswith("libvirt-leftover")]
    nft = next(s for s in plan.steps if s.kind == "nft")
    assert {"delete": {"table": {"family": "ip", "name": "libvirt_network"}}} in nft.commands


def test_a_libvirt_chain_holding_someone_elses_rule_is_kept_and_named():
    extra = "-A LIBVIRT_FWX -s 10.9.9.9/32 -j ACCEPT\n"
    ev = with_kernel(recorded_host("11.3-switch", "after", NFT_CONF, extra_ipt=extra), CSUM_PRESENT)
    result, plan = planned(ev)
    ipv4 = next(s for s in plan.steps if s.kind == "ipt" and s.family.value == "ipv4")
    assert "LIBVIRT_FWX" not in ipv4.fragment and "-X LIBVIRT_FWI" in ipv4.fragment
    assert "LIBVIRT_FWX (holds rules that are not libvirt's)" in result.remedies[0].why
    unexpected = next(x for x in result.left if x.finding == "libvirt-unexpected-rules")
    assert "never touches a rule it does not own" in unexpected.reason


def test_only_and_skip_choose_the_findings():
    ev = silent_switch(CSUM_MISSING)
    skipped, _ = planned(ev, skip=("libvirt-rules-missing",))
    assert "libvirt-rules-missing" not in {r.finding for r in skipped.remedies}
    assert next(x for x in skipped.left if x.finding == "libvirt-rules-missing").reason == "skipped (--skip)"
    only, _ = planned(ev, only=("libvirt-leftover-chains",))
    assert [r.finding for r in only.remedies] == ["libvirt-leftover-chains"]
    assert next(x for x in only.left if x.finding == "libvirt-rules-missing").reason == "not named by --only"


@pytest.mark.parametrize("kw, message", [
    ({"only": ("Bad Id",)}, "--only 'Bad Id': not a finding id"),
    ({"skip": ("x;rm",)}, "--skip 'x;rm': not a finding id"),
    ({"only": ("a",), "skip": ("a",)}, "--only and --skip both name a"),
    ({"only": ("libvirt-leftover-chain",)}, "--only libvirt-leftover-chain: repair has no remedy for it"),
    ({"skip": ("dockr-forward-drop", "zz")}, "--skip dockr-forward-drop, zz: repair has no remedy for them"),
    ({"restart_command": "true", "no_restart": True}, "exclude each other"),
])
def test_bad_options_are_one_readable_error(kw, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        repair.check_options(opts(**kw))


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="repair needs root before it reads its options")
@pytest.mark.parametrize("argv, code, message", [
    (["repair"], 1, "there is no terminal to confirm on: pass --yes"),
    (["repair", "--yes", "--only", "Bad Id"], 1, "--only 'Bad Id': not a finding id"),
    (["repair", "--dry-run", "--restart-command", "true", "--no-restart"], 1, "exclude each other"),
    (["repair", "--format", "html"], 2, "html"),  # markdown is a format of repair's since it matched plan's
])
def test_repair_cli_refuses_bad_input_with_one_line_before_reading_the_host(tmp_path, argv, code, message):
    from tests.unit.cli_runner import cli_runner
    from vnetmigrate.cli import app

    result = cli_runner().invoke(app, [*argv, "--root", str(tmp_path), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == code and message in unwrapped(result.stderr), result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "state").exists()
