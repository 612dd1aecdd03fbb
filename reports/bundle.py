"""What `vnetmigrate bundle` prints: where the archive went, what it holds, what was left out."""

from __future__ import annotations

from typing import Any

from vnetmigrate.reports.envelope import dumps, envelope
from vnetmigrate.reports.sanitize import sanitized
from vnetmigrate.words import plural


def to_data(result: Any) -> dict[str, Any]:
    items = result.manifest["items"]
    return {"archive": str(result.archive),
            "redaction_map": str(result.redaction_map) if result.redaction_map else None,
            "items": len(items),
            "collected": sum(1 for i in items if i["member"] is not None),
            "absent": sum(1 for i in items if i["member"] is None),
            "timed_out": [i["key"] or i["path"] for i in items if i["timed_out"]],
            "withheld": list(result.withheld),
            "redaction": result.redaction,
            "scan_status": result.scan_status,
            "members": len(result.manifest["members"]) + 1}


def to_json(result: Any) -> str:
    return dumps(envelope("bundle", "ok", int(result.exit_code), to_data(result)))


def to_text(result: Any) -> str:
    d = sanitized(to_data(result))  # withheld paths are the host's file names
    lines = [f"Bundle written: {d['archive']} (mode 0600, {d['members']} members)",
             f"Items: {d['collected']} collected, {d['absent']} absent (the manifest says why)",
             f"Scan verdict in the bundle: {d['scan_status']}"]
    if d["timed_out"]:
        lines.append("Timed out: " + ", ".join(d["timed_out"]))
    if d["withheld"]:
        lines.append("Withheld (secrets, never collected): " + ", ".join(d["withheld"]))
    if d["redaction"] is not None:
        r = d["redaction"]
        lines.append(f"Redacted: {plural(r['addresses'], 'address')}, {plural(r['macs'], 'MAC address')}, "
                     f"{plural(r['names'], 'name')}; "
                     f"the map is {d['redaction_map']} (keep it: it is not in the archive)")
        if r.get("coincidences"):
            lines.append(f"Coincidences: {r['coincidences']} original values equal another value's replacement "
                         "(the addresses fill most of their range); the map lists them: a search for one of "
                         "them in the archive may find that replacement")
    return "\n".join(lines) + "\n"
