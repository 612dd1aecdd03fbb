"""The input-forward-drop finding: which chain drops which of the guests' packets, the path
the evaluator followed, what other findings already explain, and the exact fix."""

from __future__ import annotations

from collections import defaultdict

from vnetmigrate.checks._accept_rules import commands, split_base
from vnetmigrate.checks._commands import pin_backend, restart_libvirt_network
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend

MAX_UNKNOWN = 12  # evidence lines about undecided probes; the rest are counted


def _where(drop) -> str:
    end = drop.by.end
    return f"{end.chain} {end.rule}"


def _persist_hint(passes, facts) -> str:
    hints = []
    svc = facts.nftables_service
    for p in passes:
        family, table, _ = split_base(p)
        if p.kind != "nft":
            hints.append(f"{p.base}: in the saved iptables rules its owner restores "
                         "(/etc/sysconfig/iptables, /etc/iptables/rules.v4, or the tool that adds them)")
        elif table == "firewalld":
            hints.append(f"{p.base}: firewalld owns it: put the bridges in firewalld's `libvirt` zone instead")
        elif svc is not None and svc.config:
            hints.append(f"{p.base}: in {svc.config} (nftables.service), or whatever file creates table "
                         f"{family} {table}")
        else:
            hints.append(f"{p.base}: in the configuration that creates table {family} {table}")
    return "; ".join(hints)


def _probe_lines(drops) -> list[Citation]:
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for d in drops:
        key = (d.when, d.probe.network, d.probe.bridge)
        if d.probe.kind not in groups[key]:
            groups[key].append(d.probe.kind + ("" if d.probe.packet.family == "ip" else " (IPv6)"))
    return [Citation("probe", f"{when}: network {net} ({br})", "dropped: " + ", ".join(kinds))
            for (when, net, br), kinds in groups.items()]


def finding(drops, unknown, facts, notes=()) -> Finding:
    own = [d for d in drops if d.explained is None]
    others = [d for d in drops if d.explained is not None]
    by_base: dict[str, list] = defaultdict(list)
    for d in own:
        by_base[d.by.base].append(d)
    ev: list[Citation] = []
    for base, ds in by_base.items():
        first = ds[0]
        verdict = first.by.verdict
        ev.append(Citation("chain" if first.by.end.rule == "policy" else "rule", _where(first),
                           f"{first.by.end.text or 'policy ' + verdict} ({verdict}s; base chain {base}, "
                           f"{first.by.hook} hook, priority {first.by.prio})"))
        ev += _probe_lines(ds)
        ev.append(Citation("path", f"{first.probe.id} ({first.when})", first.probe.description + ": " +
                           " | ".join(str(p) for p in first.result.path)))
    explained: dict[tuple[str, str], list] = defaultdict(list)
    for d in others:
        explained[(d.explained, d.by.base)].append(d)
    for (fid, base), ds in explained.items():
        kinds = sorted({d.probe.kind for d in ds})
        whens = sorted({d.when for d in ds}, key=lambda w: w != "now")
        ev.append(Citation("fact", _where(ds[0]), f"drops {', '.join(kinds)} ({' and '.join(whens)}): "
                                                  f"the same drop finding {fid} reports, with its fix"))
    for when, probe, r in unknown[:MAX_UNKNOWN]:
        why = "; ".join(r.reasons or r.notes) or "blocked, by different chains in different cases"
        ev.append(Citation("probe", f"{probe.id} ({when})", f"{probe.description}: not decided: {why}"))
    if len(unknown) > MAX_UNKNOWN:
        ev.append(Citation("fact", "undecided probes", f"{len(unknown) - MAX_UNKNOWN} more not shown"))
    ev += notes
    if own:
        return _blocker(own, by_base, ev, facts)
    if unknown:
        return Finding("input-forward-drop", Severity.WARNING,
                       f"Whether guests' traffic passes could not be decided for {len(unknown)} probe(s)",
                       "Evaluating the guests' packets against the ruleset reached rules or chains the evaluator "
                       "cannot decide (listed). They may drop DHCP, DNS or forwarded traffic; check them by hand "
                       "or with `nft monitor trace`.", evidence=tuple(ev))
    ids = sorted({d.explained for d in others})
    return Finding("input-forward-drop", Severity.INFO,
                   f"Packet evaluation confirms the drops {', '.join(ids)} reports",
                   "Every drop of guests' traffic found by evaluating packets is one another finding already "
                   "reports with its fix.", evidence=tuple(ev))


def _blocker(own, by_base, ev, facts) -> Finding:
    whens = sorted({d.when for d in own}, key=lambda w: w != "now")
    bases = list(by_base)
    passes = [ds[0].by for ds in by_base.values()]
    cmds = [c for base, ds in by_base.items() for c in commands(ds[0].by, [d.probe for d in ds])]
    workarounds = [Workaround(
        "Accept libvirt's traffic at the head of each base chain that drops it (an accept ends only its own "
        "base chain, so every dropping chain needs one); then make the rules persistent where each chain "
        "comes from: " + _persist_hint(passes, facts), tuple(dict.fromkeys(cmds)), id="accept-guest-traffic")]
    now_iptables = facts.libvirt.effective.backend == Backend.IPTABLES
    if whens == ["after the switch"] and now_iptables:
        workarounds.append(Workaround("Keep libvirt on its iptables backend, where these drops do not hit guests "
                                      "today", (pin_backend(Backend.IPTABLES), restart_libvirt_network())))
    kinds = sorted({d.probe.kind for d in own})
    verb = "drops" if len(bases) == 1 else "drop"
    return Finding(
        "input-forward-drop", Severity.BLOCKER,
        f"{', '.join(bases)} {verb} libvirt guests' traffic {' and '.join(whens)}",
        f"Evaluating the guests' packets ({', '.join(kinds)}) against every table's base chains, as the kernel "
        "runs them, ends in a drop or reject in the chains listed. An accept in libvirt's own rules cannot "
        "override a drop in another base chain; each of these chains must accept the traffic itself.",
        evidence=tuple(ev), workarounds=tuple(workarounds))
