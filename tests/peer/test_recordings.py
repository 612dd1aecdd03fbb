"""Drift test: real libvirt, recorded now, must match the committed recordings.

A failure means libvirt (or nft/iptables, or the Debian packages behind them) now creates
other rules than the committed data says. Look at the diff; if the change is real and
expected, re-record (see tests/data/libvirt/README.md) and commit the new data with a
note in the message of what changed.
"""

from __future__ import annotations

import json

import pytest

from tests.peer.cases import RECORDINGS_DIR, load
from tests.peer.compare import diff_dirs, files

pytestmark = pytest.mark.peer


def committed_units() -> list[str]:
    """combo/case directories and switch scenario directories of the committed data."""
    units: list[str] = []
    if not RECORDINGS_DIR.is_dir():
        return units
    for top in sorted(p for p in RECORDINGS_DIR.iterdir() if p.is_dir()):
        if (top / "scenario.json").exists():
            units.append(top.name)
        else:
            units += [f"{top.name}/{c.name}" for c in sorted(top.iterdir()) if c.is_dir()]
    return units


def test_committed_data_covers_every_case():
    combos, cases = load()
    expected = {f"{combo}/{case.id}" for case in cases for combo in case.combos}
    assert expected <= set(committed_units()), sorted(expected - set(committed_units()))


def test_committed_outcomes_are_the_expected_ones():
    """Which networks start, fail to start or fail to define, per case and combination."""
    _, cases = load()
    wrong = []
    for case in cases:
        for combo in case.combos:
            outcome = json.loads((RECORDINGS_DIR / combo / case.id / "outcome.json").read_text())
            for net in outcome["networks"]:
                stem = net["file"].removesuffix(".xml")
                if net["outcome"] != case.expected(stem):
                    wrong.append(f"{combo}/{case.id}/{stem}: {net['outcome']}")
            if outcome["left_after_destroy"] != {"rules": [], "links": []}:
                wrong.append(f"{combo}/{case.id}: left after destroy {outcome['left_after_destroy']}")
    assert not wrong


def test_real_libvirt_outcomes_are_the_expected_ones(fresh_recording):
    _, problems = fresh_recording
    assert not problems


def test_same_files(fresh_recording):
    fresh, _ = fresh_recording
    assert files(fresh) == files(RECORDINGS_DIR) - {"README.md"}


@pytest.mark.parametrize("combo", sorted(load()[0]))
def test_versions_unchanged(fresh_recording, combo):
    fresh, _ = fresh_recording
    assert (fresh / combo / "versions.json").read_text() == \
        (RECORDINGS_DIR / combo / "versions.json").read_text()


@pytest.mark.parametrize("unit", committed_units())
def test_no_drift(fresh_recording, unit):
    fresh, _ = fresh_recording
    report = diff_dirs(RECORDINGS_DIR / unit, fresh / unit, unit)
    assert not report, "real libvirt differs from the committed recording:\n" + report
