import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import netconf

SHIPPED = """# Master configuration file for the network driver.
#
# firewall_backend:
#
#   determines which subsystem to use to setup firewall packet
#   filtering rules for virtual networks.
#
#firewall_backend = "nftables"
"""


def test_shipped_file_has_no_setting():
    assert netconf.parse(SHIPPED).firewall_backend is None


def test_setting_with_line_and_trailing_comment():
    conf = netconf.parse(SHIPPED + 'firewall_backend = "iptables"  # pinned before upgrade\n')
    assert conf.firewall_backend.value == "iptables"
    assert conf.firewall_backend.line == 9


def test_first_assignment_wins_as_in_libvirt_and_other_settings_parse():
    # libvirt's virConfGetValue returns the first entry of its list: the first assignment
    text = "firewall_backend = 'nftables'\nlog_level = 3\nsome_list = [ \"a\",\n  \"b\" ]\nfirewall_backend = \"iptables\"\n"
    conf = netconf.parse(text)
    assert conf.firewall_backend.value == "nftables" and conf.firewall_backend.line == 1
    assert conf.get("some_list").value == ["a", "b"]
    assert conf.get("log_level").value == 3


@pytest.mark.parametrize("text, message", [
    ("firewall_backend = nftables\n", "line 1: value of 'firewall_backend' must be"),
    ("firewall_backend = \"pf\"\n", "line 1: firewall_backend = 'pf' is not one of"),
    ("# ok\nthis is not a setting\n", "line 2: expected 'key = value'"),
    ("x = [ \"a\",\n", "line 1: list for 'x' is not closed"),
])
def test_malformed_is_an_error_with_line(text, message):
    with pytest.raises(InputError) as err:
        netconf.parse(text)
    assert message in err.value.message


@pytest.mark.parametrize("text, expected_tail", [
    (SHIPPED, '#firewall_backend = "nftables"\nfirewall_backend = "iptables"\n'),
    ('firewall_backend = "nftables" # x\nother = 1\n', 'firewall_backend = "iptables"\nother = 1\n'),
    ("other = 1", 'other = 1\nfirewall_backend = "iptables"\n'),
    ("", 'firewall_backend = "iptables"\n'),
])
def test_with_backend_keeps_comments_and_other_settings(text, expected_tail):
    out = netconf.with_backend(text, "iptables")
    assert out.endswith(expected_tail)
    assert netconf.parse(out).firewall_backend.value == "iptables"
    if text.startswith("# Master"):
        assert out.startswith(SHIPPED)


def test_with_backend_rewrites_every_assignment():
    text = 'firewall_backend = "iptables"\n# pinned again below\n  firewall_backend = "iptables"\n'
    out = netconf.with_backend(text, "nftables")
    assert [s.value for s in netconf.parse(out).all("firewall_backend")] == ["nftables", "nftables"]
    assert "# pinned again below" in out


@pytest.mark.parametrize("text, expected", [
    ("#firewall_backend = \"nftables\"\n", '#firewall_backend = "nftables"\nfirewall_backend = "iptables"\n'),
    ('firewall_backend = "nftables"\n  firewall_backend="nftables"\n',
     'firewall_backend = "iptables"\nfirewall_backend = "iptables"\n'),
    ("", 'firewall_backend = "iptables"\n'),
])
def test_pin_command_sets_every_assignment(tmp_path, text, expected):
    """The shell command scan prints to pin a backend, run for real on a copy of the file."""
    import subprocess

    from vnetmigrate.checks._commands import pin_backend

    conf = tmp_path / "network.conf"
    conf.write_text(text)
    cmd = pin_backend("iptables").replace(netconf.PATH, str(conf))
    subprocess.run(["sh", "-c", cmd], check=True)
    assert conf.read_text() == expected
