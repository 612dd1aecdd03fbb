"""`vnetmigrate rules` through typer's CliRunner (and, as root, into a kernel)."""

import json

import pytest
from typer.testing import CliRunner

from tests.unit.schema_check import valid_envelope
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.libvirt import iptables_restore, nft_commands, nft_text, parse_network
from vnetmigrate.libvirt.listing import expected_iptables
from vnetmigrate.rules.iptables_save import parse_save

from .lab import netns
from .samples import SAMPLES

runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    out = []
    for name in ("nat-dev-snat", "route-dev", "open"):
        p = tmp_path / f"{name}.xml"
        p.write_text(SAMPLES[name])
        out.append(p)
    return out


def nets(files):
    return [parse_network(p.read_text(), str(p)) for p in files]


def run(*args):
    res = runner.invoke(app, ["rules", *map(str, args)])
    return res


def test_nft_default(files):
    res = run(*files)
    assert res.exit_code == ExitCode.OK, res.output
    head, _, body = res.stdout.partition("\nadd table")
    assert "add table" + body == nft_text(nets(files), "11.3")
    assert "networks in start order: a, c" in head and "no rules for: e (open)" in head
    assert "#   tc filter add dev vnmbr1 prio 2 protocol ip parent 1: u32" in head


def test_iptables_restore_both_and_one_family(files):
    res = run("--backend", "iptables", "--libvirt-version", "9.0", *files)
    assert res.exit_code == ExitCode.OK, res.output
    assert iptables_restore(nets(files), "9.0", "ipv4") in res.stdout
    assert iptables_restore(nets(files), "9.0", "ipv6") in res.stdout
    one = run("-b", "iptables", "--family", "ipv6", "-o", files[0].parent / "out.txt", *files)
    assert one.exit_code == ExitCode.OK and one.stdout == ""
    text = (files[0].parent / "out.txt").read_text()
    assert "ip6tables-restore" in text and iptables_restore(nets(files), "11.3", "ipv4") not in text


def test_json_envelope(files):
    res = run("-f", "json", *files)
    doc = valid_envelope(res.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("rules", "ok", 0)
    assert doc["data"]["nftables"] == {"nftables": nft_commands(nets(files), "11.3")}
    assert [n["rules"] for n in doc["data"]["networks"]] == [True, True, False]
    doc = valid_envelope(run("-f", "json", "-b", "iptables", *files).stdout)
    assert set(doc["data"]["iptables_restore"]) == {"ipv4", "ipv6"} and "nftables" not in doc["data"]


@pytest.mark.parametrize("args,msg", [
    (["-b", "iptables", "-f", "nft"], "--format nft needs --backend nftables"),
    (["-f", "iptables-restore"], "needs --backend iptables"),
    (["--family", "ipv4"], "--family goes with"),
    (["--libvirt-version", "9.0"], "libvirt 9.0 has no nftables backend"),
    (["--libvirt-version", "8.10"], "not modelled"),
    (["--libvirt-version", "latest"], "not modelled"),
])
def test_usage_errors(files, args, msg):
    res = run(*args, *files)
    assert res.exit_code == ExitCode.ERROR and msg in res.stderr


def test_bad_files(tmp_path):
    missing = run(tmp_path / "nope.xml")
    assert missing.exit_code == ExitCode.ERROR and "cannot read" in missing.stderr
    evil = tmp_path / "evil.xml"
    evil.write_text('<!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]><network><name>&x;</name></network>')
    res = run(evil)
    assert res.exit_code == ExitCode.ERROR and f"{evil}: refused XML" in res.stderr
    inj = tmp_path / "inj.xml"
    inj.write_text("<network><name>x</name><bridge name='virbr0\"; flush ruleset'/></network>")
    res = run(inj)
    assert res.exit_code == ExitCode.ERROR and "flush ruleset" in res.stderr and res.stdout == ""
    binary = tmp_path / "bin.xml"
    binary.write_bytes(b"\xff\xfe<network/>")
    assert "not UTF-8" in run(binary).stderr


def test_networks_libvirt_could_not_run_together_are_refused(tmp_path):
    clash = tmp_path / "clash.xml"
    clash.write_text("<network><name>other</name><forward mode='nat'/><bridge name='virbr0'/>"
                     "<ip address='10.1.1.1' prefix='24'/></network>")
    default = tmp_path / "default.xml"
    default.write_text("<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/>"
                       "<ip address='192.168.122.1' prefix='24'/></network>")
    res = run(default, clash)
    assert res.exit_code == ExitCode.ERROR and "uses the bridge 'virbr0'" in res.stderr and res.stdout == ""
    res = run(default, default)
    assert res.exit_code == ExitCode.ERROR and "uses the name 'default'" in res.stderr


@pytest.mark.lab
def test_outputs_load_into_a_kernel(files):
    """What the command prints loads as documented: nft -f, nft -j -f, iptables-restore."""
    nft_out = run(*files).stdout
    json_out = valid_envelope(run("-f", "json", *files).stdout)["data"]["nftables"]
    v4 = run("-b", "iptables", "--family", "ipv4", *files).stdout
    v6 = run("-b", "iptables", "--family", "ipv6", *files).stdout
    with netns() as a, netns() as b:
        for ns in (a, b):
            for br in ("vnmbr1", "vnmbr3"):
                ns.add_bridge(br)
        a.nft_file(nft_out)
        b.run("nft", "-j", "-f", "-", input=json.dumps(json_out))
        assert a.ruleset() == b.ruleset() and "libvirt_network" in a.ruleset()
        a.restore(4, v4)
        a.restore(6, v6)
        expected = expected_iptables(nets(files), "11.3")
        for fam in (4, 6):
            assert len(list(parse_save(a.save(fam), f"ipv{fam}", "nft").rules())) == sum(len(v) for k, v in expected.items() if k[0] == fam)


def test_every_release_prints_its_own_rules(files):
    """10.4 matches <forward dev> by index and runs no tc; 10.6 (modelled as 10.9, said so)
    matches it by name; 11.x adds the tc filters; 12.x comments its tables."""
    by_release = {}
    for release in ("10.4.0", "10.6.0", "11.3", "12.4.0"):
        res = run("--libvirt-version", release, *files)
        assert res.exit_code == ExitCode.OK, res.stderr
        by_release[release] = res.stdout
    assert 'oif "wan0"' in by_release["10.4.0"] and 'iif "wan0"' in by_release["10.4.0"]
    assert "oifname" not in by_release["10.4.0"] and "oifname" in by_release["10.6.0"]
    assert "# libvirt 10.6.0, nftables backend" in by_release["10.6.0"]
    assert "# libvirt 10.6 is modelled as 10.9" in by_release["10.6.0"]
    assert "modelled as" not in by_release["10.4.0"] + by_release["11.3"]
    assert "tc filter" not in by_release["10.4.0"] + by_release["10.6.0"]
    assert "tc filter add" in by_release["11.3"] and "tc filter add" in by_release["12.4.0"]
    assert "Managed by libvirt" in by_release["12.4.0"] and "Managed by libvirt" not in by_release["11.3"]
    doc = json.loads(run("-f", "json", "--libvirt-version", "12.4.0", *files).stdout)
    assert (doc["data"]["libvirt_version"], doc["data"]["libvirt_release"]) == ("12.9", "12.4.0")
    assert "12.4 is modelled as 12.9" in doc["data"]["modelled_as"]
    assert {"add": {"table": {"family": "ip", "name": "libvirt_network",
                              "comment": "Managed by libvirt for virtual networks: "
                                         "https://libvirt.org/firewall.html#the-virtual-network-driver"}}} \
        in doc["data"]["nftables"]["nftables"]
    assert doc["data"]["tc"]
    doc = json.loads(run("-f", "json", "--libvirt-version", "10.6", *files).stdout)
    assert doc["data"]["tc"] == [] and doc["data"]["libvirt_version"] == "10.9"
