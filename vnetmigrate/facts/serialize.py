"""HostFacts -> the documented `data.facts` object of the JSON output."""

from __future__ import annotations

from typing import Any

from vnetmigrate.facts import HostFacts


def _system(facts: HostFacts) -> dict[str, Any] | None:
    s = facts.system
    if s is None:
        return None
    return {
        "os": {"id": s.os.id, "version_id": s.os.version_id, "pretty_name": s.os.pretty_name},
        "iptables_variant": s.iptables_variant,
        "tools": sorted(k for k, v in s.tools.items() if v),
        "ip_forward": s.ip_forward,
        "ipv6_forwarding": s.ipv6_forwarding,
        "legacy_tables": {k: list(v) for k, v in s.legacy_tables.items()},
        "nft_via": s.nft_via,
    }


def _modelled_as(lv) -> str | None:
    """How the model reads this host's libvirt release, when it is not exact for it."""
    from vnetmigrate.libvirt.versions import resolve

    if not lv.installed:
        return None
    return resolve(tuple(lv.version[:2]) if lv.version else None)[1]


def _libvirt(facts: HostFacts) -> dict[str, Any] | None:
    lv = facts.libvirt
    if lv is None:
        return None
    return {
        "installed": lv.installed,
        "version": lv.version_text,
        "configured_backend": lv.configured_backend,
        "configured_line": lv.configured_line,
        "effective_backend": lv.effective.backend,
        "effective_reason": lv.effective.reason,
        "effective_assumed": lv.effective.assumption,
        "after_upgrade_backend": lv.after_upgrade.backend,
        "after_upgrade_reason": lv.after_upgrade.reason,
        "upgrade_to": ".".join(map(str, lv.upgrade_to)) if lv.upgrade_to else None,
        "modelled_as": _modelled_as(lv),
        "networks": [{
            "name": n.name, "active": n.active, "autostart": n.autostart, "bridge": n.bridge,
            "forward_mode": n.forward_mode, "forward_dev": n.forward_dev, "subnets": list(n.subnets),
            "rules_backend": n.status_backend,
        } for n in lv.networks],
    }


def _libvirt_rules(facts: HostFacts) -> dict[str, Any] | None:
    r = facts.libvirt_rules
    if r is None:
        return None
    return {
        "iptables_chains": [{"family": c.family, "source": c.source, "table": c.table, "chain": c.name,
                             "rules": len(c.rules), "empty": c.empty} for c in r.ipt_chains],
        "nftables_tables": [{"family": t.family, "chains": list(t.chains), "rules": len(t.rules)}
                            for t in r.nft_tables],
        "iptables_rule_count": r.ipt_rule_count,
        "nftables_rule_count": r.nft_rule_count,
    }


def _docker(facts: HostFacts) -> dict[str, Any] | None:
    d = facts.docker
    if d is None:
        return None
    ipt = facts.iptables
    return {
        "present": d.present,
        "daemon_json": d.daemon_json,
        "daemon_json_error": d.daemon_json_error,
        "chains": {k: list(v) for k, v in d.chains.items()},
        "forward_policy": {f: ipt.policy(f, "filter", "FORWARD") if ipt else None for f in ("ipv4", "ipv6")},
    }


def _nftables(facts: HostFacts) -> dict[str, Any] | None:
    if facts.nft is None:
        return None
    return {"base_chains": [{"family": c.family, "table": c.table, "chain": c.name, "type": c.type,
                             "hook": c.hook, "priority": c.prio, "policy": c.policy}
                            for c in facts.nft.base_chains()]}


def facts_to_dict(facts: HostFacts) -> dict[str, Any]:
    return {"system": _system(facts), "libvirt": _libvirt(facts), "libvirt_rules": _libvirt_rules(facts),
            "docker": _docker(facts), "nftables": _nftables(facts)}
