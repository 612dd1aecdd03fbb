import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.facts.iptables import parse_save
from tests.unit.builders import LIBVIRT_IPT, ipt


def test_libvirt_chains_rules_and_policies():
    save = parse_save(ipt(LIBVIRT_IPT, policy="DROP", docker=True), "ipv4", "nft")
    fwd = save.chain("filter", "FORWARD")
    assert fwd.policy == "DROP" and fwd.builtin
    assert [r.target for r in fwd.rules] == ["LIBVIRT_FWX", "LIBVIRT_FWI", "LIBVIRT_FWO", "DOCKER-USER",
                                             "DOCKER-FORWARD"]
    fwi = save.chain("filter", "LIBVIRT_FWI")
    assert fwi.policy is None and not fwi.builtin
    first = fwi.rules[0]
    assert first.index == 1 and first.out_interface == "virbr0" and first.target == "ACCEPT"
    assert first.option("--ctstate") == ("RELATED,ESTABLISHED", False)
    nat = save.chain("nat", "LIBVIRT_PRT").rules[0]
    assert nat.option("-d") == ("192.168.122.0/24", True)


def test_legacy_warning_line_is_noted_not_an_error():
    text = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n" + \
        ipt(LIBVIRT_IPT)
    assert parse_save(text, "ipv4", "nft").legacy_warning
    assert not parse_save(ipt(LIBVIRT_IPT), "ipv4", "nft").legacy_warning


def test_quoted_comment_and_negated_interface():
    text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! -i lo -m comment --comment "allow dns" -j ACCEPT\nCOMMIT\n'
    rule = parse_save(text, "ipv4", "nft").chain("filter", "INPUT").rules[0]
    assert rule.option("--comment") == ("allow dns", False)
    assert rule.option("-i") == ("lo", True)
    assert rule.in_interface is None  # negated: not "traffic from lo"
    assert rule.text == "-A INPUT ! -i lo -m comment --comment 'allow dns' -j ACCEPT"


def test_empty_output_means_no_tables():
    assert parse_save("", "ipv6", "nft").tables == ()


@pytest.mark.parametrize("text, message", [
    ("-A INPUT -j ACCEPT\n", "undeclared chain"),
    ("*filter\n:INPUT ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n", "undeclared chain"),
    ("*filter\n:INPUT ACCEPT [0:0]\n", "no COMMIT"),
    ("*filter\n*nat\nCOMMIT\n", "starts before COMMIT"),
    ("COMMIT\n", "COMMIT outside a table"),
    ("*filter\nhello world\nCOMMIT\n", "unexpected line"),
    ('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "open\nCOMMIT\n', "No closing quotation"),
])
def test_odd_output_is_a_clear_error_with_line(text, message):
    with pytest.raises(InputError) as err:
        parse_save(text, "ipv4", "nft", origin="iptables-nft-save")
    assert message in err.value.message and err.value.message.startswith("iptables-nft-save")
