"""Backend and Family: the conversions every layer relies on, and that they stay plain strings
wherever the project writes them out (JSON, text)."""

from __future__ import annotations

import json

import pytest

from vnetmigrate.firewall import NFT_FAMILIES, Backend, Family


def test_family_conversions_both_ways():
    assert [(f.value, f.nft, f.version, f.iptables) for f in Family] == [
        ("ipv4", "ip", 4, "iptables"), ("ipv6", "ip6", 6, "ip6tables")]
    assert all(Family.of_nft(f.nft) is f and Family.of_version(f.version) is f for f in Family)
    assert NFT_FAMILIES == ("ip", "ip6")


@pytest.mark.parametrize("bad", ["inet", "bridge", "ipv4"])
def test_only_ip_families_have_an_ip_version(bad):
    with pytest.raises(ValueError, match=repr(bad)):
        Family.of_nft(bad)


def test_backend_other_and_binary():
    assert (Backend.NFTABLES.other, Backend.IPTABLES.other) == (Backend.IPTABLES, Backend.NFTABLES)
    assert (Backend.NFTABLES.binary, Backend.IPTABLES.binary) == ("nft", "iptables")
    with pytest.raises(ValueError):
        Backend("ebtables")


def test_they_read_and_write_as_their_names():
    assert Backend("nftables") is Backend.NFTABLES and Backend.NFTABLES == "nftables"
    assert f"{Backend.IPTABLES} {Family.IPV6}" == "iptables ipv6" == " ".join((Backend.IPTABLES, Family.IPV6))
    assert json.dumps({Family.IPV4: Backend.NFTABLES}) == '{"ipv4": "nftables"}'
    assert {"ipv4": 1}[Family.IPV4] == 1  # str hash: usable as a key where strings were
