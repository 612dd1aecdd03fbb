#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 or later (see LICENSE in the vnetmigrate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vnetmigrate_repair
short_description: Fix what vnetmigrate scan found, as one verified, reversible transaction
version_added: "0.1.0"
description:
  - Runs C(vnetmigrate repair --yes --format json) on the managed host; it scans, turns every
    finding a remedy can fix (libvirt's missing or leftover rules, workarounds for scan's
    blockers, ...) into steps of vnetmigrate's transaction engine, applies and verifies them (a
    failure is rolled back), and scans again.
  - In check mode it runs C(vnetmigrate repair --dry-run) and reports what it would fix
    (I(fixes)) and what it would leave, with why (I(left)); nothing changes.
  - Findings that remain after a repair are data (I(left), I(verdict_after)), not a failure, as in
    M(vnetmigrate.kvm.vnetmigrate_scan). The module fails, with the tool's message, when the repair
    was refused, failed and was rolled back (exit 5), or needs attention (exit 6).
  - C(changed) is true only when a repair transaction committed (or an interrupted transaction
    was rolled back first); a healthy host gives C(changed=false).
  - M(vnetmigrate.kvm.vnetmigrate_rollback) undoes a repair like a migration.
author:
  - vnetmigrate contributors
options:
  only:
    description:
      - Repair only these findings (C(--only ID) each); needed for the repairs that are a choice.
    type: list
    elements: str
    default: []
  skip:
    description:
      - Leave these findings as they are (C(--skip ID) each).
    type: list
    elements: str
    default: []
  restart_command:
    description:
      - Command that restarts libvirt's network daemon (C(--restart-command)).
    type: str
  no_restart:
    description:
      - Do not restart libvirt's network daemon (C(--no-restart)).
    type: bool
    default: false
  executable:
    description:
      - The vnetmigrate program, a path or a name looked up on the host's PATH.
    type: path
    default: vnetmigrate
  netns:
    description:
      - Work inside this network namespace (C(--netns)).
    type: str
  root:
    description:
      - Read and write libvirt's files under this directory instead of C(/) (C(--root)).
    type: path
  state_dir:
    description:
      - Where the transaction's journal and lock live (C(--state-dir)).
    type: path
notes:
  - Supports check mode (C(vnetmigrate repair --dry-run)) and diff mode (the steps).
  - I(restart_command) and I(no_restart) are mutually exclusive.
seealso:
  - module: vnetmigrate.kvm.vnetmigrate_scan
  - module: vnetmigrate.kvm.vnetmigrate_rollback
"""

EXAMPLES = r"""
- name: What would a repair fix?
  vnetmigrate.kvm.vnetmigrate_repair:
  check_mode: true
  become: true
  register: would

- name: Repair the blockers it can fix, nothing else
  vnetmigrate.kvm.vnetmigrate_repair:
    only: "{{ would.fixes }}"
  when: would.fixes | length > 0
  become: true
"""

RETURN = r"""
exit_code:
  description: The exit code of C(vnetmigrate repair) (0 healthy afterwards, 3 or 4 findings remain, 5 rolled
    back, 6 needs attention).
  returned: always
  type: int
  sample: 0
status:
  description: The envelope's status (ok, findings-remain, rolled-back, refused, needs-attention).
  returned: always
  type: str
  sample: ok
fixes:
  description: The findings the repair fixes (in check mode, would fix), one per remedy. A remedy may make
    other findings moot too (I(remedies[].covers)), for instance by moving libvirt back to iptables,
    which answers a missing nftables prerequisite without providing it.
  returned: always
  type: list
  elements: str
  sample: ["libvirt-rules-missing"]
remedies:
  description: The remedies of the plan (finding, summary, why, covers, steps).
  returned: always
  type: list
  elements: dict
left:
  description: The findings the repair leaves, each with finding, severity, title and reason.
  returned: always
  type: list
  elements: dict
steps:
  description: The steps of the repair, in order.
  returned: always
  type: list
  elements: dict
verdict_after:
  description: The scan's verdict after the repair (null in check mode or when nothing ran).
  returned: always
  type: str
  sample: ready
transaction:
  description: The repair's transaction (id, status, error, ...); null when none ran.
  returned: always
  type: dict
envelope:
  description: The whole JSON envelope of C(vnetmigrate repair).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vnetmigrate.kvm.plugins.module_utils.vnetmigrate_cli import (
    COMMON_ARGS, CommandError, fail, host_args, restart_args, run)

OK_CODES = (0, 3, 4)  # healthy afterwards, or findings remain (listed in `left`)


def _fixes(remedies):
    ids = []
    for r in remedies:
        if r.get("finding") and r["finding"] not in ids:
            ids.append(r["finding"])
    return ids


def _diff(steps):
    return "".join("%d. %s\n" % (s.get("index"), s.get("title")) for s in steps)


# The options as DOCUMENTATION describes them (a unit test compares the two).
ARGUMENT_SPEC = dict(
    COMMON_ARGS,
    only=dict(type="list", elements="str", default=[]),
    skip=dict(type="list", elements="str", default=[]),
    restart_command=dict(type="str"),
    no_restart=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("restart_command", "no_restart")])
    p = module.params
    argv = ["--dry-run"] if module.check_mode else ["--yes"]
    for fid in p["only"]:
        argv += ["--only", fid]
    for fid in p["skip"]:
        argv += ["--skip", fid]
    argv += restart_args(p) + host_args(p)
    try:
        rc, envelope = run(module, "repair", argv)
    except CommandError as e:
        fail(module, e)
    data = envelope.get("data") or {}
    txn = data.get("transaction")
    remedies = data.get("remedies") or []
    steps = data.get("steps") or []
    if module.check_mode:
        changed = bool(steps)
    else:
        changed = bool(data.get("recovered")) or bool(txn and txn.get("status") in (
            "committed", "rolled-back", "needs-attention"))
    result = dict(changed=changed, exit_code=rc, status=envelope.get("status"), fixes=_fixes(remedies), remedies=remedies,
                  left=data.get("left") or [], steps=steps, transaction=txn,
                  verdict_after=(data.get("after") or {}).get("verdict"), envelope=envelope)
    if module._diff and steps:
        result["diff"] = dict(prepared=_diff(steps))
    if data.get("refused"):
        module.fail_json(msg="repair refused: %s" % data["refused"], **result)
    if rc in OK_CODES:
        module.exit_json(**result)
    if txn and txn.get("status") == "rolled-back":
        msg = "the repair failed and was rolled back: %s" % (txn.get("error") or "see transaction")
    elif txn and txn.get("status") == "needs-attention":
        msg = "the repair failed and its rollback could not restore everything (vnetmigrate rollback %s " \
              "retries): %s" % (txn.get("id"), txn.get("error") or "")
    else:
        msg = "vnetmigrate repair exited with %d (%s)" % (rc, envelope.get("status"))
    module.fail_json(msg=msg, **result)


if __name__ == "__main__":
    main()
