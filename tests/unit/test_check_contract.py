"""The checks' contract: a check gets only the facts it declares, derived facts are built once
per run, a check others defer to runs once and first, and what the commands ask of checks is
the checks' own metadata.

Every check's unit tests run through the restricted view (tests/conftest.py makes a read of an
undeclared fact fail the test), so passing tests prove each check declares what it reads.
"""

from __future__ import annotations

import dataclasses

import pytest

from vnetmigrate.checks import all_checks, moot_for_migration, run_all, tool_findings
from vnetmigrate.checks.registry import FACT_NAMES, REGISTRY, STRICT_ENV, Check, check, run
from vnetmigrate.derived import all_derivations
from vnetmigrate.derived.view import UndeclaredFact
from vnetmigrate.facts import HostFacts, build
from vnetmigrate.findings import Finding, Severity
from tests.unit.test_checks import NFT_CONF, host


def adhoc(id: str, fn, needs=("libvirt",), **kw) -> Check:
    """A check outside the registry, as @check would make it."""
    return Check(id, id, Severity.WARNING, needs, fn, "tests", **kw)


@pytest.fixture(scope="module")
def facts() -> HostFacts:
    return build(host(NFT_CONF, backend="nftables", policy="DROP", docker=True, leftover=True, nft=True))


# -- walking the registry ----------------------------------------------------------------
def test_every_declaration_names_something_that_exists():
    derivations = all_derivations()
    persist = {name for name, _units, _files in __import__("vnetmigrate.facts.persist", fromlist=["x"]).MANAGERS}
    tools = {"docker", "ufw", "firewalld", "nftables.service"} | persist  # matrix.firewall_managers' names
    for c in all_checks():
        assert set(c.reads) <= FACT_NAMES, c.id
        assert not set(c.needs) & set(c.optional), c.id
        for name in c.derived:
            assert set(derivations[name].needs) <= set(c.needs), (c.id, name)
        assert set(c.defers_to) <= set(REGISTRY) - {c.id}, c.id
        assert c.applies_to_backend in (None, "iptables", "nftables"), c.id
        assert set(c.concerns_tools) <= tools, c.id
    for d in derivations.values():
        assert set(d.needs + d.optional) <= FACT_NAMES, d.name


def test_every_check_declares_what_it_reads_on_a_host_that_exercises_them_all(facts):
    out = run_all(facts)  # strict: an undeclared read raises here
    assert not out.errors and not out.skipped
    assert {"docker-forward-drop", "input-forward-drop", "libvirt-leftover-chains"} <= {f.id for f in out.findings}


def test_a_declaration_that_cannot_be_honoured_is_refused_at_import():
    def fn(facts):
        return ()

    with pytest.raises(RuntimeError, match="no such facts: dockr"):
        check("test-typo", "t", Severity.INFO, needs=("dockr",))(fn)
    with pytest.raises(RuntimeError, match="derived fact packet_verdicts needs libvirt, nft"):
        check("test-derived", "t", Severity.INFO, needs=("libvirt",), derived=("packet_verdicts",))(fn)
    assert "test-typo" not in REGISTRY and "test-derived" not in REGISTRY


# -- the view ----------------------------------------------------------------------------
def test_reading_an_undeclared_fact_is_a_programming_error_that_fails_tests(facts):
    def reads_docker(f):
        return [Finding("test-reader", Severity.INFO, f"docker present: {f.docker.present}", "")]

    with pytest.raises(UndeclaredFact, match="check test-reader reads facts.docker but does not declare it"):
        run(facts, [adhoc("test-reader", reads_docker)])
    assert run(facts, [adhoc("test-reader", reads_docker, optional=("docker",))]).findings[0].title == \
        "docker present: True"


def test_outside_the_tests_an_undeclared_read_is_reported_as_that_checks_error(facts, monkeypatch):
    monkeypatch.delenv(STRICT_ENV)

    def reads_ufw(f):
        return [f.ufw]

    out = run(facts, [adhoc("test-reader", reads_ufw), *all_checks()])
    assert out.errors[0] == {"unit": "check.test-reader",
                             "message": "UndeclaredFact: check test-reader reads facts.ufw but does not declare it "
                                        "(add it to needs, optional or derived)"}
    assert len(out.errors) == 1 and out.findings == run_all(facts).findings  # the others still run


def test_a_derived_fact_is_built_once_per_run_and_only_when_read(facts):
    seen = []

    def reader(f):
        seen.append(f.packet_verdicts)
        return ()

    kw = dict(needs=("libvirt", "nft"), derived=("packet_verdicts",))
    run(facts, [adhoc("test-a", reader, **kw), adhoc("test-b", reader, **kw)])
    assert len(seen) == 2 and seen[0] is seen[1] and seen[0].verdicts
    assert {v.when for v in seen[0].verdicts} == {"now"}  # libvirt uses nftables already: nothing to switch
    run(facts, [adhoc("test-a", reader, **kw)])
    assert seen[2] is not seen[0]  # a new run evaluates again (its facts may differ)


# -- relations between checks --------------------------------------------------------------
def test_a_check_others_defer_to_runs_once_first_and_is_reported_only_when_asked_for(facts, monkeypatch):
    calls = []

    def first(f):
        calls.append("first")
        return [Finding("test-first", Severity.BLOCKER, "dropped", "")]

    def second(f):
        return [Finding("test-second", Severity.INFO, f"{len(f.findings_of('test-first'))} from first", "")]

    monkeypatch.setitem(REGISTRY, "test-first", dataclasses.replace(adhoc("test-first", first),
                                                                    severity=Severity.BLOCKER))
    later = adhoc("test-second", second, defers_to=("test-first",))
    out = run(facts, [later, REGISTRY["test-first"]])
    assert calls == ["first"] and [f.id for f in out.findings] == ["test-first", "test-second"]
    assert out.findings[1].title == "1 from first"
    out = run(facts, [later])
    assert [f.id for f in out.findings] == ["test-second"] and out.findings[0].title == "1 from first"
    with pytest.raises(UndeclaredFact, match="reads the findings of test-first but does not declare it"):
        run(facts, [adhoc("test-third", second)])


def test_input_forward_drop_defers_to_the_specific_drop_checks_instead_of_running_them():
    ifd = REGISTRY["input-forward-drop"]
    assert set(ifd.defers_to) == {"docker-forward-drop", "ufw-blocks-guests", "iptables-manager-restrictive",
                                  "port-forward-nat-guest"}
    assert "packet_verdicts" in ifd.derived


# -- what the commands ask of the checks ---------------------------------------------------
def test_plan_leaves_out_the_blockers_of_the_backend_it_leaves_and_those_migrate_handles():
    from vnetmigrate.scan import analyse
    from vnetmigrate.txn import planner
    from vnetmigrate.usecases.plan import blockers

    ev = host(NFT_CONF, backend="nftables", policy="DROP", docker=True, nft=True)  # docker drops guests now

    def plan(target):
        judged = analyse(ev, migration_target=target)
        found = [b.id for b in blockers(planner.build(judged.facts, target, None, "test"), judged)]
        return {f.id for f in judged.findings if f.severity == Severity.BLOCKER}, found

    scanned, found = plan("iptables")
    assert "docker-forward-drop" in scanned and "docker-forward-drop" not in found  # moot on iptables
    scanned, found = plan("nftables")
    assert "docker-forward-drop" in scanned and "docker-forward-drop" in found
    assert moot_for_migration("nftables") == {"libvirt-rules-missing", "interrupted-transaction"}
    assert moot_for_migration("iptables") > moot_for_migration("nftables") | {"docker-forward-drop"}


def test_the_matrix_says_which_finding_makes_a_tool_need_a_workaround():
    from vnetmigrate.scan import analyse

    result = analyse(host(NFT_CONF, backend="nftables", policy="DROP", docker=True, nft=True))
    docker = next(t for t in result.matrix.now.tools if t.tool == "docker")
    assert docker.result.startswith("needs workaround: docker-forward-drop (")
    assert tool_findings()["docker"] == ("docker-forward-drop",)
