"""Lists that grow with the host are summarised for reading (vnetmigrate.words.names and
shorten_lists), and the tool's own short lists are left whole."""

from __future__ import annotations

from vnetmigrate.words import LONG, names, shorten_lists


def test_names_shows_five_and_counts_the_rest():
    assert names([]) == ""
    assert names(["a", "b", "c", "d", "e"]) == "a, b, c, d, e"
    assert names([f"net{i}" for i in range(500)]) == "net0, net1, net2, net3, net4 and 495 more"


def test_long_runs_of_names_in_a_title_are_summarised_where_they_stand():
    title = "IPv6 guests of " + ", ".join(f"net{i}" for i in range(LONG + 1)) + " are cut off"
    assert shorten_lists(title) == f"IPv6 guests of net0, net1, net2, net3, net4 and {LONG - 4} more are cut off"
    bridges = "(" + ", ".join(f"virbr{i}" for i in range(40)) + ")"
    assert shorten_lists(f"bind {bridges} to `libvirt`") == "bind (virbr0, virbr1, virbr2, virbr3, virbr4 and 35 more) to `libvirt`"


def test_short_lists_and_prose_stay_whole():
    kinds = "dhcp, dns-udp, dns-tcp, forward-tcp, forward-udp, forward-icmp, reply-tcp, reply-udp, reply-icmp, port-forward"
    assert shorten_lists(f"the guests' packets ({kinds}) are dropped") == f"the guests' packets ({kinds}) are dropped"
    twelve = ", ".join(f"n{i}" for i in range(LONG))
    assert shorten_lists(twelve) == twelve
    prose = "a sysctl.d file, a firewall script, or a unit file: " + ", ".join(["two words"] * 20)
    assert shorten_lists(prose) == prose


def test_a_long_name_from_the_host_costs_one_pass():
    """Titles carry host names and paths: a 200,000-character word is read once (a pattern that
    retried from each character took 12 s for 20,000). Run apart, with a generous limit, so a
    quadratic regression fails here instead of stalling the suite."""
    import subprocess
    import sys

    code = ("from vnetmigrate.words import shorten_lists as s; w = 'x' * 200000; "
            "assert s(w + ', ' + w) == w + ', ' + w and s(', '.join([w] * 14)).endswith(' and 9 more')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
