"""The version registry: which behaviour models which libvirt release, and when it says so."""

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import SUPPORTED_VERSIONS, Backend, get_version
from vnetmigrate.libvirt.versions import TABLE_COMMENT, VERSIONS, modelled_notice, nearest_version, resolve


@pytest.mark.parametrize("text,expected", [
    ("11.3", "11.3"), ("11.3.0", "11.3"), ("v11.3.0", "11.3"), ("9.0.0", "9.0"), (" 9.0", "9.0"),
    ("9.5", "9.0"), ("10.3.0", "9.0"),            # no nftables backend before 10.4
    ("10.4.0", "10.4"), ("10.6.0", "10.9"), ("10.9.0", "10.9"),
    ("10.10.0", "11.3"), ("11.0.0", "11.3"), ("11.3.1", "11.3"), ("11.6.0", "11.3"), ("11.10.0", "11.3"),
    ("12.0.0", "12.9"), ("12.4.0", "12.9"), ("12.9.0", "12.9"), ("13.2.0", "12.9"),
])
def test_any_release_from_9_0_is_modelled(text, expected):
    assert get_version(text).version == expected


@pytest.mark.parametrize("text", ["8.10", "8.0.0", "11", "", "latest", "11.x", "1.2.3.4"])
def test_unknown_versions_refused(text):
    with pytest.raises(InputError, match="not modelled"):
        get_version(text)


@pytest.mark.parametrize("release", [(9, 0), (10, 4), (10, 9), (11, 3), (12, 9)])
def test_checked_releases_are_exact(release):
    version, notice = resolve(release)
    assert notice is None and nearest_version(release) == (version, True)


@pytest.mark.parametrize("text,words", [
    ("10.6", ["10.6 is modelled as 10.9", "not pinned"]),
    ("11.1.0", ["11.1 is modelled as 11.3", "not pinned"]),
    ("12.4.0", ["12.4 is modelled as 12.9", "not pinned"]),
    ("13.0", ["13.0 is modelled as 12.9", "newer than any release checked"]),
])
def test_inexact_releases_say_how_they_are_modelled(text, words):
    notice = modelled_notice(text)
    assert notice and all(w in notice for w in words), notice


def test_unknown_host_version_is_modelled_with_a_notice():
    version, notice = resolve(None)
    assert version.version == "11.3" and "unknown version" in notice
    assert resolve(None, Backend.IPTABLES)[0].version == "11.3"


def test_behaviours_per_release():
    """What each registered behaviour is (docs/libvirt-versions.md has the sources)."""
    v9, v104, v109, v113, v129 = (VERSIONS[k] for k in ("9.0", "10.4", "10.9", "11.3", "12.9"))
    assert SUPPORTED_VERSIONS == ("9.0", "10.4", "10.9", "11.3", "12.9")
    assert not v9.supports(Backend.NFTABLES) and not v9.removal_recipe
    for v in (v104, v109, v113, v129):
        assert v.supports(Backend.NFTABLES) and v.supports(Backend.IPTABLES) and v.removal_recipe
    assert [v.nft_checksum for v in (v104, v109, v113, v129)] == [None, None, "tc", "tc"]
    assert [v.nft_forward_dev_by_name for v in (v104, v109, v113, v129)] == [False, True, True, True]
    assert [v.nft_table_comment for v in (v104, v109, v113)] == [None, None, None]
    assert v129.nft_table_comment == TABLE_COMMENT
    for v in VERSIONS.values():
        assert v.source and v.first <= v.checked_from


def test_backend_restrictions():
    with pytest.raises(InputError, match="no nftables backend"):
        get_version("9.0", Backend.NFTABLES)
    with pytest.raises(InputError, match="no nftables backend"):
        get_version("10.3.0", "nftables")
    assert get_version("10.4", "nftables").version == "10.4"
    # a 9.x host modelled for its nftables future: the oldest entry that has the backend
    assert nearest_version((9, 0), Backend.NFTABLES)[0].version == "10.4"


def test_the_docs_table_lists_every_registered_behaviour():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "libvirt-versions.md").read_text()
    for name in SUPPORTED_VERSIONS:
        assert f"| {name} |" in doc, f"docs/libvirt-versions.md has no row modelled as {name}"
