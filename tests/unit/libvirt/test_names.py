"""validate_ifname: the kernel's rules, and our stricter character set."""

import pytest

from vnetmigrate.libvirt import InvalidName, is_valid_ifname, validate_ifname

ACCEPTED = ["virbr0", "virbr10", "eth0", "enp1s0f1", "br-lan", "bond0.100", "wlp0s20f3", "a", "_x",
            "x" * 15, "vnet123", "macvtap0", "docker0", "0abc"]

REJECTED = [
    ("", "empty"),
    ("x" * 16, "16 bytes: IFNAMSIZ counts the NUL"),
    (".", "kernel refuses"),
    ("..", "kernel refuses"),
    ("a/b", "kernel refuses '/'"),
    ("a b", "kernel refuses whitespace"),
    ("a\tb", "kernel refuses whitespace"),
    ("eth0:1", "kernel refuses ':' (address labels)"),
    ('virbr0"; flush ruleset', "nft/shell injection"),
    ("virbr0;reboot", "shell separator"),
    ("virbr+", "iptables wildcard"),
    ("veth0@if3", "ip link's name@peer notation"),
    ("virbr*", "nft wildcard"),
    ("-j", "option-like"),
    ("$(id)", "shell expansion"),
    ("vïrbr0", "non-ASCII"),
    ("a\nb", "newline"),
    ("br'0", "quote"),
]


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepts_real_names(name):
    assert validate_ifname(name) == name
    assert is_valid_ifname(name)


@pytest.mark.parametrize("name,why", REJECTED)
def test_rejects(name, why):
    with pytest.raises(InvalidName):
        validate_ifname(name)
    assert not is_valid_ifname(name)


def test_error_is_a_valueerror_with_the_name():
    with pytest.raises(ValueError, match="flush ruleset"):
        validate_ifname('virbr0"; flush ruleset')


def test_non_string_refused():
    with pytest.raises(InvalidName):
        validate_ifname(None)  # type: ignore[arg-type]
