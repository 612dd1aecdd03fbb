"""The pre-upgrade gate without root: its decision on builders' evidence (the real scan pipeline),
the policy file, apt's hook input as apt 3.0 really sent it (tests/data/apt/, recorded), the
dnf hooks' parsing, and `gate install|remove` under --root. The real apt upgrade that the gate
refuses or lets through runs in the peer tier (tests/peer/test_apt_gate.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.unit.builders import DEFAULT_NET, LIBVIRT_IPT, ipt, make_evidence, status_xml
from tests.unit.cli_runner import cli_runner
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate.cli import app
from vnetmigrate.errors import InputError
from vnetmigrate.gate import install as hooks
from vnetmigrate.gate.apt import parse_hook_input
from vnetmigrate.gate.packages import PackageChange, libvirt_change, release_of
from vnetmigrate.gate.policy import Policy, parse
from vnetmigrate.scan import analyse
from vnetmigrate.usecases.gate import Request, decide

DATA = Path(__file__).resolve().parents[1] / "data" / "apt"
RECORDED = DATA / "pre-install-pkgs-v3-libvirt-11.3-to-12.9.txt"
HOOKS = Path(__file__).resolve().parents[2] / "vnetmigrate" / "gate" / "hooks"


def run(*args: str, input: str | None = None):
    return cli_runner().invoke(app, list(args), input=input)


# -- versions and transactions ----------------------------------------------------------------

@pytest.mark.parametrize("version, release", [
    ("11.3.0-3+deb13u3", (11, 3)), ("12.9.0-1~bpo13+1", (12, 9)), ("1:10.0.0-2ubuntu8", (10, 0)),
    ("0:11.6.0-1.fc43", (11, 6)), ("11.6.0-1.fc43", (11, 6)), ("12.9", (12, 9))])
def test_package_versions_name_their_libvirt_release(version, release):
    assert release_of(version) == release


@pytest.mark.parametrize("version", ["", "latest", "12", "x12.9.0"])
def test_a_version_that_names_no_release_is_refused(version):
    with pytest.raises(InputError, match="expected a libvirt version"):
        release_of(version)


def test_apt_3_0s_recorded_hook_input_is_the_libvirt_upgrade():
    changes = parse_hook_input(RECORDED.read_text())
    # nine .debs unpacked, then the same nine configured; kmod arrives for the first time
    assert len(changes) == 18
    assert PackageChange("kmod", None, "34.2-2") in changes
    change = libvirt_change(changes)
    assert (change.installed, change.incoming) == ("11.3.0-3+deb13u3", "12.9.0-1~bpo13+1")
    assert change.packages == ("libvirt-daemon-driver-network", "libvirt-daemon", "libvirt-daemon-common", "libvirt0")


def test_a_transaction_without_a_libvirt_version_change_is_not_judged():
    text = RECORDED.read_text()
    head, _, actions = text.partition("\n\n")
    others = "\n".join(line for line in actions.splitlines() if line.startswith(("kmod ", "libkmod2 ")))
    assert libvirt_change(parse_hook_input(f"{head}\n\n{others}\n")) is None
    # a first installation and a removal of the driver are not upgrades either
    assert libvirt_change([PackageChange("libvirt-daemon-driver-network", None, "12.9.0-1")]) is None
    assert libvirt_change([PackageChange("libvirt-daemon-driver-network", "11.3.0-3", None)]) is None


def test_the_version_2_protocol_and_a_removal_line_are_read():
    text = "VERSION 2\nAPT::Architecture=amd64\n\nlibvirt0 9.0.0-4 < 11.3.0-3 /var/cache/apt/archives/x.deb\n" \
           "libvirt-daemon 9.0.0-4 > - **REMOVE**\n"
    assert parse_hook_input(text) == [PackageChange("libvirt0", "9.0.0-4", "11.3.0-3"),
                                      PackageChange("libvirt-daemon", "9.0.0-4", None)]


@pytest.mark.parametrize("text, message", [
    ("/var/cache/apt/archives/libvirt0.deb\n", "does not start with a VERSION line"),
    ("VERSION 1\n\n", "protocol version 1"),
    ("VERSION 3\nAPT::Architecture=amd64\n", "no end"),
    ("VERSION 3\n\nlibvirt0 11.3.0 amd64 same < 12.9.0 amd64 same\n", "line 3: expected 9 fields")])
def test_malformed_hook_input_is_one_readable_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_hook_input(text)


# -- the policy file ----------------------------------------------------------------------------

def test_the_policy_file_reads_block_warn_and_off_with_comments():
    assert parse("# the gate\n\npolicy = warn   # for now\n", "f") == "warn"
    assert parse('policy="off"\n', "f") == "off"
    assert parse("", "f") == "block"


def test_a_malformed_policy_file_stops_the_gate_with_one_line_naming_it(tmp_path):
    conf = tmp_path / "etc/vnetmigrate/gate.conf"
    conf.parent.mkdir(parents=True)
    for text, message in (("policy = blok\n", "line 1: policy must be block, warn or off, not 'blok'"),
                          ("# ok\nmode = warn\n", "line 2: expected 'policy = block|warn|off', got 'mode = warn'")):
        conf.write_text(text)
        res = run("gate", "--root", str(tmp_path), "--incoming", "12.9.0-1")
        assert res.exit_code == 1
        assert unwrapped(res.stderr).splitlines()[0] == f"vnetmigrate gate: error: {conf} {message}"
        assert "Traceback" not in res.stderr + res.stdout


def test_policy_off_answers_without_reading_the_host(tmp_path):
    conf = tmp_path / "gate.conf"
    conf.write_text("policy = off\n")
    res = run("gate", "--root", str(tmp_path), "--config", str(conf), "--incoming", "12.9", "--format", "json")
    doc = valid_envelope(res.stdout)
    assert res.exit_code == 0 and doc["status"] == "skipped" and doc["data"]["verdict"] is None
    assert doc["data"]["policy_file"] == str(conf)


# -- the decision, on the real scan pipeline ----------------------------------------------------

FEDORA_40 = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40 (Server Edition)"\n'


def _fedora(docker: bool):
    """A Fedora 40 host with libvirt 10.1 on iptables (network.conf unset): Fedora 41's libvirt
    prefers nftables, where Docker's FORWARD DROP cuts guests off."""
    files = {"/etc/os-release": FEDORA_40, "/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
             "/run/libvirt/network/default.xml": status_xml(backend="iptables")}
    if docker:
        files["/etc/docker/daemon.json"] = '{"iptables": true}'
    return analyse(make_evidence(files=files, ipv4_save=ipt(LIBVIRT_IPT, policy="DROP" if docker else "ACCEPT",
                                                            docker=docker), libvirt_version="10.1.0"), target_version=(11, 6))


@pytest.mark.parametrize("policy, decision, code", [("block", "refused", 4), ("warn", "allowed-with-blockers", 0)])
def test_a_blocker_after_the_upgrade_refuses_it_unless_the_policy_says_warn(policy, decision, code):
    req = Request(root=Path("/"), incoming="11.6.0-1.fc41", installed="10.1.0-1.fc40")
    result = decide(req, Policy(policy, "/etc/vnetmigrate/gate.conf"), _fedora(docker=True))
    assert (result.decision, int(result.exit_code)) == (decision, code)
    assert "docker-forward-drop" in {b.id for b in result.blockers}
    assert (result.backend_now, result.backend_after) == ("iptables", "nftables")
    from vnetmigrate.reports.gate import to_json, to_text

    text = to_text(result).splitlines()
    assert text[0].startswith("vnetmigrate gate: libvirt 10.1.0-1.fc40 -> 11.6.0-1.fc41: ")
    assert any("[docker-forward-drop]" in line for line in text) and len(text) <= 10
    assert ("to upgrade anyway: set policy = warn" in text[-1]) == (policy == "block")
    doc = valid_envelope(to_json(result))
    assert doc["data"]["decision"] == decision and doc["exit_code"] == code


def test_a_healthy_host_lets_the_upgrade_through():
    result = decide(Request(root=Path("/"), incoming="11.6"), Policy("block", None), _fedora(docker=False))
    assert result.decision == "allowed" and result.blockers == () and int(result.exit_code) == 0
    assert result.installed == "10.1.0"  # read on the host when the hook does not say


# -- the hooks' own parsing -------------------------------------------------------------------

def _dnf4_function():
    """libvirt_change() from the dnf 4 plugin file, without dnf (python3-dnf is not installed
    here): the function and WATCHED are compiled from the file's own source."""
    tree = ast.parse((HOOKS / "dnf4_plugin.py").read_text())
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "libvirt_change"
            or isinstance(n, ast.Assign) and n.targets[0].id == "WATCHED"]
    space: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "dnf4_plugin.py", "exec"), space)
    return space


def test_the_dnf4_plugin_finds_the_upgrade_in_a_transactions_install_and_remove_sets():
    """Recorded shape of a dnf 4 upgrade's sets (install_set: the new packages; remove_set: the
    ones they replace), as `dnf upgrade libvirt-daemon-driver-network` resolves it on Fedora."""
    space = _dnf4_function()
    from vnetmigrate.gate.packages import WATCHED

    assert space["WATCHED"] == WATCHED  # the plugin and the package agree on what to watch
    change = space["libvirt_change"]
    incoming = [("libvirt-libs", "11.6.0-1.fc43"), ("libvirt-daemon-driver-network", "11.6.0-1.fc43"),
                ("kernel", "6.17.1-300.fc43")]
    outgoing = [("libvirt-daemon-driver-network", "11.0.0-1.fc42"), ("libvirt-libs", "11.0.0-1.fc42")]
    assert change(incoming, outgoing) == ("11.0.0-1.fc42", "11.6.0-1.fc43", "libvirt-daemon-driver-network")
    assert change(incoming, []) is None                    # a first installation
    assert change([], outgoing) is None                    # a removal
    assert change([("kernel", "6.17.1-300.fc43")], [("kernel", "6.16.0-200.fc43")]) is None


def test_the_dnf5_actions_line_is_well_formed_and_its_calls_reach_the_gate(tmp_path):
    """The actions file's one action, split as libdnf5-actions(8) says (five colon-separated
    fields), and the commands dnf5 would run for each action letter after substitution."""
    (tmp_path / "etc/dnf").mkdir(parents=True)
    assert run("gate", "install", "--dnf", "--root", str(tmp_path)).exit_code == 0
    text = (tmp_path / hooks.DNF5.path).read_text()
    (line,) = [x for x in text.splitlines() if x and not x.startswith("#")]
    callback, package_filter, direction, options, command = line.split(":", 4)
    assert (callback, package_filter, direction) == ("pre_transaction", "libvirt-daemon-driver-network", "in")
    assert options.split() == ["enabled=host-only", "raise_error=1"]
    argv = command.split()
    assert argv[0].startswith("/") and argv[0].endswith("vnetmigrate")
    for action, judged in (("I", False), ("R", False), ("U", True)):
        args = [a.replace("${pkg.action}", action).replace("${pkg.name}", "libvirt-daemon-driver-network")
                .replace("${pkg.evr}", "11.6.0-1.fc43") for a in argv[1:]]
        conf = tmp_path / "etc/vnetmigrate/gate.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("policy = off\n")  # judged without root: the policy answers
        res = run(*args, "--root", str(tmp_path))
        assert res.exit_code == 0, res.stderr
        assert bool(res.stdout) == judged
        if judged:
            assert all(x.startswith(("log.NOTICE=", "log.ERROR=", "error=")) for x in res.stdout.splitlines())


def test_the_apt_hook_says_nothing_when_libvirt_does_not_change(tmp_path):
    head, _, actions = RECORDED.read_text().partition("\n\n")
    kmod = "\n".join(x for x in actions.splitlines() if x.startswith("kmod "))
    res = run("gate", "--apt-hook", "--root", str(tmp_path), input=f"{head}\n\n{kmod}\n")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    res = run("gate", "--apt-hook", "--root", str(tmp_path), input="garbage\n")
    assert res.exit_code == 1 and "does not start with a VERSION line" in res.stderr


# -- install and remove -----------------------------------------------------------------------

def test_install_and_remove_are_idempotent_and_list_the_files(tmp_path):
    (tmp_path / "etc/apt/apt.conf.d").mkdir(parents=True)
    (tmp_path / "etc/dnf").mkdir(parents=True)
    (tmp_path / "usr/lib/python3.13/site-packages/dnf-plugins").mkdir(parents=True)
    root = str(tmp_path)
    apt_conf = tmp_path / "etc/apt/apt.conf.d/80vnetmigrate-gate"
    first = valid_envelope(run("gate", "install", "--apt", "--dnf", "--root", root, "-f", "json").stdout)
    changes = {f["path"]: f["change"] for f in first["data"]["files"]}
    assert changes == {str(apt_conf): "written",
                       str(tmp_path / hooks.DNF5.path): "written", str(tmp_path / hooks.DNF4_CONF.path): "written",
                       str(tmp_path / "usr/lib/python3.13/site-packages/dnf-plugins/vnetmigrate_gate.py"): "written"}
    assert any("libdnf5-plugin-actions is not installed" in n for n in first["data"]["notes"])
    conf = apt_conf.read_text()
    command = conf.split('DPkg::Pre-Install-Pkgs { "', 1)[1].split(" gate --apt-hook", 1)[0]
    assert f'DPkg::Tools::Options::{command}::Version "3";' in conf
    assert "@VNETMIGRATE@" not in (tmp_path / "usr/lib/python3.13/site-packages/dnf-plugins/"
                                              "vnetmigrate_gate.py").read_text()
    again = run("gate", "install", "--apt", "--dnf", "--root", root)
    assert again.exit_code == 0 and again.stdout.startswith("vnetmigrate gate install: nothing to do")
    assert again.stdout.count("\n  unchanged ") == 4
    # an admin's own file of the same name is never removed
    (tmp_path / hooks.DNF4_CONF.path).write_text("[main]\nenabled = 0\n")
    gone = run("gate", "remove", "--apt", "--dnf", "--root", root)
    assert gone.exit_code == 0 and gone.stdout.count("\n  removed ") == 3
    assert "was not written by vnetmigrate: left in place" in gone.stdout
    assert not apt_conf.exists() and (tmp_path / hooks.DNF4_CONF.path).exists()
    twice = valid_envelope(run("gate", "remove", "--apt", "--root", root, "-f", "json").stdout)
    assert [f["change"] for f in twice["data"]["files"]] == ["absent"]


def test_install_refuses_a_root_without_that_package_manager(tmp_path):
    res = run("gate", "install", "--apt", "--root", str(tmp_path))
    assert res.exit_code == 1 and f"apt is not installed under {tmp_path}" in unwrapped(res.stderr)
    assert list(tmp_path.iterdir()) == []
    res = run("gate", "install", "--root", str(tmp_path))
    assert res.exit_code == 1 and "--apt, --dnf or both" in unwrapped(res.stderr)
    res = run("gate", "--apt", "--incoming", "12.9")
    assert res.exit_code == 1 and "gate install|remove" in unwrapped(res.stderr)


def test_an_error_envelope_fits_the_schema(tmp_path):
    res = run("gate", "--root", str(tmp_path), "--incoming", "twelve", "--format", "json")
    doc = valid_envelope(res.stdout)
    assert res.exit_code == 1 and doc["status"] == "error" and "twelve" in doc["errors"][0]["message"]
    assert json.loads(res.stdout)["command"] == "gate"


def test_a_blocker_on_every_network_is_one_line_and_a_count():
    """apt's terminal is busy: 500 alike blockers are the first and a count, a list of 500
    networks is five names and a count."""
    from dataclasses import replace

    from vnetmigrate.reports.gate import to_text
    from vnetmigrate.usecases.gate import Issue

    req = Request(root=Path("/"), incoming="11.6.0-1.fc41", installed="10.1.0-1.fc40")
    result = decide(req, Policy("block", "/etc/vnetmigrate/gate.conf"), _fedora(docker=True))
    nets = ", ".join(f"net{i}" for i in range(500))
    many = replace(result, blockers=(Issue("ip-forwarding-off", f"guests of {nets} cannot reach anything"),
                                     *(Issue("libvirt-rules-missing", f"Network net{i} lacks its rules") for i in range(500))),
                   warnings=tuple(Issue("backend-switch-on-upgrade", "w") for _ in range(3)))
    text = to_text(many).splitlines()
    assert "  blocker: guests of net0, net1, net2, net3, net4 and 495 more cannot reach anything [ip-forwarding-off]" in text
    at = text.index("  blocker: Network net0 lacks its rules [libvirt-rules-missing]")
    assert text[at + 1] == "    ... and 499 more libvirt-rules-missing (vnetmigrate scan lists them)"
    assert "  3 warning(s): backend-switch-on-upgrade" in text and len(text) <= 12
