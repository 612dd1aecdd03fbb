"""The version registry."""

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import SUPPORTED_VERSIONS, Backend, get_version
from vnetmigrate.libvirt.versions import VERSIONS


@pytest.mark.parametrize("text,expected", [("11.3", "11.3"), ("11.3.0", "11.3"), ("v11.3.0", "11.3"),
                                           ("9.0.0", "9.0"), (" 9.0", "9.0")])
def test_lookup(text, expected):
    assert get_version(text).version == expected


@pytest.mark.parametrize("text", ["11.3.1", "10.4", "11", "", "latest"])
def test_unknown_versions_refused(text):
    with pytest.raises(InputError, match="not modelled"):
        get_version(text)


def test_registry_is_consistent():
    assert SUPPORTED_VERSIONS == tuple(VERSIONS) and "9.0" in VERSIONS and "11.3" in VERSIONS
    for v in VERSIONS.values():
        assert v.backends and v.supports(Backend.IPTABLES)
        # only releases with the nftables backend (>= 10.4) save removal recipes
        assert v.removal_recipe == v.supports(Backend.NFTABLES)
    assert get_version("11.3", "nftables").nft_checksum == "tc"
    with pytest.raises(InputError):
        get_version("9.0", Backend.NFTABLES)
