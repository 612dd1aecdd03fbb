#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 or later (see LICENSE in the vnetmigrate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vnetmigrate_rollback
short_description: Undo a vnetmigrate migration or repair, verified against the snapshot taken before it
version_added: "0.1.0"
description:
  - Runs C(vnetmigrate rollback [ID] --format json) on the managed host. Without I(id) it rolls back
    every interrupted transaction, or else the newest committed one, as the command does.
  - Name the transaction (I(id), e.g. the I(transaction.id) a M(vnetmigrate.kvm.vnetmigrate_migrate)
    task returned) to make the task idempotent; a transaction already rolled back is left alone
    and reported with C(changed=false).
  - In check mode it reads C(vnetmigrate history) and reports what would be rolled back, changing
    nothing.
  - Fails with the tool's message when the rollback could not restore everything (exit 6; run it
    again, possibly with I(restart_command) or I(no_restart)), or on bad input.
author:
  - vnetmigrate contributors
options:
  id:
    description:
      - The transaction to roll back (C(vnetmigrate history) lists them).
    type: str
  force:
    description:
      - Roll back I(id) although a migration committed after it (C(--force)).
    type: bool
    default: false
  restart_command:
    description:
      - Command that restarts libvirt's network daemon during the rollback (C(--restart-command))
        instead of the one the transaction recorded.
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
      - The network namespace the transaction ran in (C(--netns)).
    type: str
  root:
    description:
      - The host's root the transaction ran with (C(--root)).
    type: path
  state_dir:
    description:
      - Where the journals live (C(--state-dir)); default C(/var/lib/vnetmigrate) under I(root).
    type: path
notes:
  - Supports check mode (reads C(vnetmigrate history)).
  - I(restart_command) and I(no_restart) are mutually exclusive.
seealso:
  - module: vnetmigrate.kvm.vnetmigrate_migrate
"""

EXAMPLES = r"""
- name: Migrate, and roll back exactly this migration if the check after it fails
  block:
    - name: Migrate
      vnetmigrate.kvm.vnetmigrate_migrate:
      register: migration
    - name: Verify
      vnetmigrate.kvm.vnetmigrate_scan:
      register: verify
      failed_when: verify.blockers | length > 0
  rescue:
    - name: Roll back
      vnetmigrate.kvm.vnetmigrate_rollback:
        id: "{{ migration.transaction.id }}"
      when: migration.transaction is truthy
  become: true
"""

RETURN = r"""
exit_code:
  description: The exit code of C(vnetmigrate rollback) (0 done or nothing to do, 6 needs attention).
  returned: always
  type: int
  sample: 0
status:
  description: The envelope's status (ok, needs-attention); C(check) in check mode.
  returned: always
  type: str
  sample: ok
transactions:
  description: The transactions rolled back (in check mode, those that would be), each with its id and status.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "20261206T120000Z-1a2b", "status": "rolled-back", "error": null}]
envelope:
  description: The whole JSON envelope (schema txn-v1; history-v1 in check mode).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vnetmigrate.kvm.plugins.module_utils.vnetmigrate_cli import (
    COMMON_ARGS, CommandError, fail, host_args, restart_args, run)

UNDOABLE = ("committed", "incomplete")


def would_roll_back(history, txn_id):
    """What `rollback [ID]` picks, from `history`: ID when it can still be undone; without
    ID every interrupted transaction, else the newest committed one."""
    txns = history.get("transactions") or []
    if txn_id:
        return [t for t in txns if t.get("id") == txn_id and t.get("status") in UNDOABLE]
    interrupted = [t for t in txns if t.get("status") == "incomplete"]
    if interrupted:
        return interrupted
    committed = [t for t in txns if t.get("status") == "committed"]
    return [max(committed, key=lambda t: t.get("started") or 0)] if committed else []


# The options as DOCUMENTATION describes them (a unit test compares the two).
ARGUMENT_SPEC = dict(
    COMMON_ARGS,
    id=dict(type="str"),
    force=dict(type="bool", default=False),
    restart_command=dict(type="str"),
    no_restart=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("restart_command", "no_restart")])
    p = module.params
    if p["force"] and not p["id"]:
        module.fail_json(msg="force needs id: it rolls back that transaction although a later one committed")
    try:
        if module.check_mode:
            rc, envelope = run(module, "history", host_args(p, netns=False))
            picked = would_roll_back(envelope.get("data") or {}, p["id"])
            module.exit_json(changed=bool(picked), exit_code=rc, status="check", transactions=picked, envelope=envelope)
        if p["id"] and not would_roll_back(run(module, "history", host_args(p, netns=False))[1].get("data") or {},
                                           p["id"]):
            # Already rolled back (or never committed): nothing to do, as a second run should find.
            module.exit_json(changed=False, exit_code=0, status="ok", transactions=[], envelope={})
        argv = ([p["id"]] if p["id"] else []) + (["--force"] if p["force"] else []) + restart_args(p) + host_args(p)
        rc, envelope = run(module, "rollback", argv)
    except CommandError as e:
        fail(module, e)
    data = envelope.get("data") or {}
    txns = data.get("transactions") or []
    result = dict(changed=bool(txns), exit_code=rc, status=envelope.get("status"), transactions=txns, envelope=envelope)
    if rc != 0 or envelope.get("status") != "ok":
        bad = [t for t in txns if t.get("status") != "rolled-back"]
        detail = "; ".join("%s: %s" % (t.get("id"), "; ".join(t.get("differences") or t.get("rollback_errors") or [])
                                       or t.get("error") or t.get("status")) for t in bad)
        module.fail_json(msg="the rollback could not restore everything (run it again, possibly with restart_command "
                             "or no_restart): %s" % (detail or envelope.get("status")), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
