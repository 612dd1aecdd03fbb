#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 or later (see LICENSE in the vnetmigrate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vnetmigrate_migrate
short_description: Switch libvirt's firewall backend (iptables <-> nftables) with vnetmigrate migrate
version_added: "0.1.0"
description:
  - Runs C(vnetmigrate migrate --format json) on the managed host, one journaled transaction that
    adds the new backend's rules for every active network, verifies them, removes the old
    backend's rules (libvirt's only), rewrites C(network.conf), restarts libvirt's network daemon
    and verifies again; a failed migration is rolled back by the tool itself.
  - In check mode it runs C(vnetmigrate plan) instead, which changes nothing, and reports what
    would change.
  - With C(--diff) it shows the plan's changes, C(network.conf)'s unified diff and the rules
    added and removed per place (from the plan the tool made).
  - Reports C(changed) only when a transaction committed (or an interrupted one was rolled back
    first). A host already on the target backend gives C(changed=false), so a second run is a
    no-op.
  - Fails, with the tool's message, when blockers stop the migration (listed in I(blockers); name
    a forcible one in I(force) to go ahead anyway), when the migration failed and was rolled back
    (exit 5), or when a rollback could not restore everything (exit 6).
author:
  - vnetmigrate contributors
options:
  to:
    description:
      - The backend to migrate libvirt's firewall to.
    type: str
    choices: [nftables, iptables]
    default: nftables
  force:
    description:
      - Blocker ids to go ahead despite (C(--force ID) each). Some blockers cannot be forced.
    type: list
    elements: str
    default: []
  restart_command:
    description:
      - Command that restarts libvirt's network daemon (C(--restart-command)) instead of
        C(systemctl restart) of the daemon the host runs.
    type: str
  no_restart:
    description:
      - Do not restart libvirt's network daemon (C(--no-restart)); scan then warns
        C(libvirt-restart-pending) until it restarts.
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
      - Read and write configuration files under this directory instead of C(/) (C(--root)).
    type: path
  state_dir:
    description:
      - Where the transaction's journal and lock live (C(--state-dir)); default
        C(/var/lib/vnetmigrate) under I(root).
    type: path
notes:
  - Supports check mode (C(vnetmigrate plan)) and diff mode.
  - I(restart_command) and I(no_restart) are mutually exclusive.
seealso:
  - module: vnetmigrate.kvm.vnetmigrate_scan
  - module: vnetmigrate.kvm.vnetmigrate_rollback
"""

EXAMPLES = r"""
- name: What would change (vnetmigrate plan)
  vnetmigrate.kvm.vnetmigrate_migrate:
  check_mode: true
  diff: true
  become: true
  register: plan
  failed_when: plan.exit_code | default(1) not in [0, 4]   # blockers are data here

- name: Migrate to nftables
  vnetmigrate.kvm.vnetmigrate_migrate:
    to: nftables
  become: true
  register: migration

- name: Go back to iptables, restarting libvirt with a command of our own
  vnetmigrate.kvm.vnetmigrate_migrate:
    to: iptables
    restart_command: systemctl restart libvirtd
  become: true
"""

RETURN = r"""
exit_code:
  description: The exit code of the command (0 done or nothing to do, 4 blockers, 5 rolled back, 6 needs attention).
  returned: always
  type: int
  sample: 0
status:
  description: The envelope's status (ok, blockers, rolled-back, needs-attention).
  returned: always
  type: str
  sample: ok
target:
  description: The backend migrated (or planned) to.
  returned: always
  type: str
  sample: nftables
blockers:
  description: The blockers of the migration (scan's that concern the target, then the plan's own), each with
    id, title, detail, forcible, and forced (named in I(force)).
  returned: always
  type: list
  elements: dict
steps:
  description: The steps of the plan, in order (empty when there is nothing to do).
  returned: always
  type: list
  elements: dict
  sample: [{"index": 1, "kind": "nft", "title": "add libvirt's nftables rules for default"}]
summary:
  description: The plan's summary (from, to, networks moved, rules added and removed, network.conf diff).
  returned: when the tool could make a plan
  type: dict
transaction:
  description: The migration's transaction (id, status, error, ...); null in check mode and when nothing ran.
  returned: always
  type: dict
  sample: {"id": "20261206T120000Z-1a2b", "status": "committed", "error": null}
envelope:
  description: The whole JSON envelope (schema plan-v1 in check mode, txn-v1 otherwise).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vnetmigrate.kvm.plugins.module_utils.vnetmigrate_cli import (
    COMMON_ARGS, CommandError, blockers_line, fail, host_args, plan_diff, restart_args, run)


# The options as DOCUMENTATION describes them (a unit test compares the two).
ARGUMENT_SPEC = dict(
    COMMON_ARGS,
    to=dict(type="str", choices=["nftables", "iptables"], default="nftables"),
    force=dict(type="list", elements="str", default=[]),
    restart_command=dict(type="str"),
    no_restart=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("restart_command", "no_restart")])
    p = module.params
    argv = ["--to", p["to"]] + restart_args(p) + host_args(p)
    if module.check_mode:
        command = "plan"
    else:
        command = "migrate"
        for blocker in p["force"]:
            argv += ["--force", blocker]
    try:
        rc, envelope = run(module, command, argv)
    except CommandError as e:
        fail(module, e)
    data = envelope.get("data") or {}
    blockers = [dict(b, forced=bool(b.get("forced") or (b.get("forcible") and b.get("id") in p["force"])))
                for b in data.get("blockers") or []]
    txn = data.get("transaction")
    recovered = data.get("recovered") or []
    if module.check_mode:
        changed = bool(data.get("steps"))
    else:
        changed = bool(recovered) or bool(txn and txn.get("status") in ("committed", "rolled-back", "needs-attention"))
    result = dict(changed=changed, exit_code=rc, status=envelope.get("status"), target=data.get("target", p["to"]),
                  blockers=blockers, steps=data.get("steps") or [], transaction=txn, envelope=envelope)
    if data.get("summary") is not None:
        result["summary"] = data["summary"]
    if module._diff and data.get("steps"):
        result["diff"] = dict(prepared=plan_diff(data))
    unforced = [b for b in blockers if not b["forced"]]
    if unforced:
        verb = "would refuse" if module.check_mode else "refused"
        module.fail_json(msg="migrate %s: blockers: %s" % (verb, blockers_line(unforced)), **result)
    if rc == 0 and envelope.get("status") == "ok":
        module.exit_json(**result)
    if txn and txn.get("status") == "rolled-back":
        msg = "the migration failed and was rolled back: %s" % (txn.get("error") or "see transaction")
    elif txn and txn.get("status") == "needs-attention":
        msg = "the migration failed and its rollback could not restore everything (vnetmigrate rollback %s " \
              "retries): %s" % (txn.get("id"), txn.get("error") or "")
    else:
        msg = data.get("refused") or "vnetmigrate %s exited with %d (%s)" % (command, rc, envelope.get("status"))
    module.fail_json(msg=msg, **result)


if __name__ == "__main__":
    main()
