import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.rules.iptables_save import parse_save
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
    nat = save.chain("nat", "LIBVIRT_PRT").rules[2]  # the tcp MASQUERADE rule
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


# -- chain-by-chain listings (`iptables-nft -t T -S CHAIN`), as scan reads a live host ------------
from vnetmigrate.collect.iptables import could_match  # noqa: E402
from vnetmigrate.rules.iptables_save import assemble, parse_listing  # noqa: E402


def test_listing_of_builtin_and_user_chain():
    fwd = parse_listing("ipv4", "filter", "FORWARD", "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n", "x")
    assert fwd.policy == "DROP" and fwd.rules[0].target == "DOCKER-USER"
    user = parse_listing("ipv4", "filter", "LIBVIRT_FWX", "-N LIBVIRT_FWX\n-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT\n", "x")
    assert user.policy is None and user.rules[0].in_interface == "virbr0"


@pytest.mark.parametrize("text", ["-A OTHER -j ACCEPT\n", "-P FORWARD\n", "garbage\n"])
def test_listing_of_the_wrong_chain_or_garbage_is_an_error(text):
    with pytest.raises(InputError, match="line 1: unexpected line"):
        parse_listing("ipv4", "filter", "FORWARD", text, "iptables-nft -t filter -S FORWARD")


def test_assemble_keeps_unlisted_chains_by_name_with_policy():
    fwd = parse_listing("ipv4", "filter", "FORWARD", "-P FORWARD DROP\n", "x")
    save = assemble("ipv4", "nft", [fwd], {"filter": [("FORWARD", "DROP"), ("DOCKER", None)]})
    assert save.chain("filter", "FORWARD").listed
    docker = save.chain("filter", "DOCKER")
    assert not docker.listed and docker.rules == () and docker.policy is None


@pytest.mark.parametrize("rule, expected", [
    ("-A DOCKER-BRIDGE -o docker0 -j DOCKER", False),
    ("-A FORWARD -o virbr0 -j X", True),
    ("-A FORWARD -i virbr+ -j X", True),
    ("-A FORWARD ! -o docker0 -j X", True),
    ("-A FORWARD -j X", True),
    ("-A FORWARD -i virbr0 -o docker0 -j X", False),
])
def test_jumps_followed_only_when_they_can_match_libvirt_bridges(rule, expected):
    assert could_match(rule.split(), {"virbr0", "virbr1"}) is expected


def test_a_listings_rules_are_those_the_general_parser_makes():
    """parse_listing's common lines (built without IptRule's __init__) give the rules, words
    and numbering the general parser gives, beside lines it leaves to the general case."""
    from dataclasses import fields

    from tests.bench.hostgen import iptables_forward_text
    from vnetmigrate.rules.iptables_save import parse_save

    text = iptables_forward_text(200)[0].replace(
        "COMMIT", '-A HOST-FORWARD -m comment --comment "a b" -j ACCEPT\n-A HOST-FORWARD -s 10.0.0.1/32 -j DROP\nCOMMIT')
    general = parse_save(text, "ipv4", "nft").chain("filter", "HOST-FORWARD").rules
    listing = "-N HOST-FORWARD\n" + "".join(line + "\n" for line in text.splitlines() if line.startswith("-A HOST-FORWARD"))
    listed = parse_listing("ipv4", "filter", "HOST-FORWARD", listing, "x").rules
    assert len(listed) == 202 and listed == general
    assert [tuple(getattr(r, f.name) for f in fields(r)) for r in listed] == \
        [tuple(getattr(r, f.name) for f in fields(r)) for r in general]
    assert listed[-2].args[-3:] == ("a b", "-j", "ACCEPT") and hash(listed[5]) == hash(general[5])
