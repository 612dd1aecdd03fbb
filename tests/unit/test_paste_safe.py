"""Workaround commands are safe to paste: in the scanned namespace, with the iptables binary the
evidence names, tolerant of absent files, one command per step, one sysctl.d file."""

import json
import shlex
import subprocess

from tests.render import scenarios
from vnetmigrate.checks._commands import SYSCTL_FORWARD_FILE, json_file_set, pin_backend
from vnetmigrate.scan import analyse


def docker_finding(netns=None):
    ev = scenarios.docker_evidence()
    ev.meta["netns"] = netns
    return next(f for f in analyse(ev).findings if f.id == "docker-forward-drop")


def test_with_netns_every_command_runs_in_that_namespace():
    plain, inside = docker_finding(), docker_finding("vnm-lab 1")
    for w_plain, w_inside in zip(plain.workarounds, inside.workarounds):
        for cmd, wrapped in zip(w_plain.commands, w_inside.commands):
            argv = shlex.split(wrapped)
            assert argv[:4] == ["ip", "netns", "exec", "vnm-lab 1"], wrapped
            assert argv[4:] == shlex.split(cmd) or argv[4:] == ["sh", "-c", cmd], wrapped


def test_one_iptables_binary_the_one_the_evidence_names():
    f = docker_finding()
    named = {e.detail.split("(")[1].rstrip(")") for e in f.evidence if e.detail.startswith("policy DROP")}
    assert named == {"iptables-nft"}
    binaries = {w for wa in f.workarounds for c in wa.commands for w in c.split() if w.startswith("iptables")}
    assert binaries == named


def test_daemon_json_is_edited_by_a_command_without_jq(tmp_path):
    f = docker_finding()
    no_drop = next(w for w in f.workarounds if "ip-forward-no-drop" in w.hint)
    assert no_drop.commands[0] == json_file_set("/etc/docker/daemon.json", "ip-forward-no-drop", True)
    target = tmp_path / "daemon.json"
    target.write_text('{"iptables": true}')
    subprocess.run(shlex.split(json_file_set(str(target), "ip-forward-no-drop", True)), check=True)
    assert json.loads(target.read_text()) == {"iptables": True, "ip-forward-no-drop": True}
    target.unlink()  # absent: created
    subprocess.run(shlex.split(json_file_set(str(target), "firewall-backend", "nftables")), check=True)
    assert json.loads(target.read_text()) == {"firewall-backend": "nftables"}


def test_pinning_works_when_network_conf_is_absent(tmp_path):
    conf = tmp_path / "network.conf"
    cmd = pin_backend("iptables").replace("/etc/libvirt/network.conf", str(conf))
    done = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""  # grep -s: no "No such file" noise
    assert conf.read_text() == 'firewall_backend = "iptables"\n'


def test_one_sysctl_file_for_ipv4_forwarding():
    f = docker_finding()
    files = {w for wa in f.workarounds for c in wa.commands for w in c.split() if "/etc/sysctl.d/" in w}
    assert files == {SYSCTL_FORWARD_FILE}


def test_evidence_shows_daemon_json_values_as_json():
    f = docker_finding()
    assert any(e.detail == '"iptables": true' for e in f.evidence)
