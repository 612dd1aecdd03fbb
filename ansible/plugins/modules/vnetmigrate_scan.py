#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 or later (see LICENSE in the vnetmigrate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vnetmigrate_scan
short_description: Inspect a KVM host's libvirt firewall read-only with vnetmigrate scan
version_added: "0.1.0"
description:
  - Runs C(vnetmigrate scan --format json) on the managed host and returns its JSON envelope
    (schema C(scan-v1), shipped with vnetmigrate under C(vnetmigrate/reports/schemas/)) as the
    fact C(vnetmigrate_scan), with the verdict and the findings by severity beside it.
  - Never changes anything, so it runs in check mode too and always reports C(changed=false).
  - Blockers and warnings are data, not failures. The module fails only when the scan itself
    fails (not root, bad input, vnetmigrate missing), with the tool's one-line message.
  - Needs vnetmigrate on the managed host and root (become) there.
author:
  - vnetmigrate contributors
options:
  executable:
    description:
      - The vnetmigrate program, a path or a name looked up on the host's PATH.
    type: path
    default: vnetmigrate
  netns:
    description:
      - Look inside this network namespace (C(--netns)).
    type: str
  root:
    description:
      - Read configuration files under this directory instead of C(/) (C(--root)).
    type: path
  state_dir:
    description:
      - Where vnetmigrate keeps its transaction journals (C(--state-dir)); scan reports interrupted
        transactions found there. Default C(/var/lib/vnetmigrate) under I(root).
    type: path
  target_version:
    description:
      - Judge "after the upgrade" for this libvirt release (C(--target-version X.Y)) instead of
        the next one of the host's distribution. The host's own release (I(libvirt_version) of
        an earlier scan) judges the host as it is, without an upgrade, which is what a check
        right after a migration wants to know.
    type: str
  output:
    description:
      - Also write the JSON scan to this file on the managed host (as C(--output) would);
        collect it with M(ansible.builtin.fetch) and read a fleet at once with
        C(vnetmigrate fleet).
    type: path
notes:
  - Supports check mode (it only reads; I(output) is not written in check mode).
  - The exit code of the scan (0 ready, 3 steps first, 4 blockers) is returned as I(exit_code),
    not as C(rc), because Ansible counts a non-zero C(rc) as a failure and blockers are data.
seealso:
  - module: vnetmigrate.kvm.vnetmigrate_migrate
"""

EXAMPLES = r"""
- name: Scan the host
  vnetmigrate.kvm.vnetmigrate_scan:
  become: true
  register: scan

- name: Report the hosts with blockers
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ scan.blockers | map(attribute='id') | join(', ') }}"
  when: scan.blockers | length > 0

- name: Save the scan for `vnetmigrate fleet`
  vnetmigrate.kvm.vnetmigrate_scan:
    output: /var/tmp/vnetmigrate-scan.json
  become: true
"""

RETURN = r"""
exit_code:
  description: The exit code of C(vnetmigrate scan) (0 ready, 3 ready after steps, 4 blockers).
  returned: always
  type: int
  sample: 4
verdict:
  description: The verdict line of the scan.
  returned: always
  type: str
  sample: do not upgrade yet
status:
  description: The envelope's status (ok, warnings, blockers).
  returned: always
  type: str
  sample: blockers
blockers:
  description: The blocker findings, each with its stable id and title.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "docker-forward-drop", "title": "Docker's FORWARD DROP policy blocks guest traffic after the switch"}]
libvirt_version:
  description: The host's libvirt version as the scan read it (null when not read).
  returned: always
  type: str
  sample: 10.9.0
backend:
  description: The firewall backend libvirt uses now, as scan judged it (facts.libvirt.effective_backend);
    null when libvirt can use none or was not read.
  returned: always
  type: str
  sample: iptables
configured_backend:
  description: C(firewall_backend) in C(network.conf) (null when unset).
  returned: always
  type: str
  sample: iptables
finding_ids:
  description: The ids of every finding, by severity (blocker, warning, info).
  returned: always
  type: dict
  sample: {"blocker": ["docker-forward-drop"], "warning": [], "info": ["docker-present"]}
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: complex
  contains:
    vnetmigrate_scan:
      description: The whole JSON envelope of the scan (schema scan-v1).
      type: dict
      returned: always
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vnetmigrate.kvm.plugins.module_utils.vnetmigrate_cli import (
    COMMON_ARGS, CommandError, fail, host_args, run)

SEVERITIES = ("blocker", "warning", "info")


def write_json(module, path, envelope):
    """The envelope as `scan --output` writes it, atomically (a reader never sees half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".vnetmigrate-scan-")
        with os.fdopen(fd, "w") as f:
            json.dump(envelope, f, indent=2)
            f.write("\n")
    except OSError as e:
        module.fail_json(msg="cannot write %s: %s" % (path, e))
    module.atomic_move(tmp, path)


# The options as DOCUMENTATION describes them (a unit test compares the two).
ARGUMENT_SPEC = dict(COMMON_ARGS, target_version=dict(type="str"), output=dict(type="path"))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    argv = host_args(p)
    if p["target_version"]:
        argv += ["--target-version", p["target_version"]]
    try:
        rc, envelope = run(module, "scan", argv)
    except CommandError as e:
        fail(module, e)
    if p["output"] and not module.check_mode:
        write_json(module, p["output"], envelope)
    data = envelope.get("data") or {}
    findings = data.get("findings") or []
    libvirt = (data.get("facts") or {}).get("libvirt") or {}
    by_severity = dict((s, [f["id"] for f in findings if f.get("severity") == s]) for s in SEVERITIES)
    module.exit_json(
        changed=False, exit_code=rc, verdict=data.get("verdict"), status=envelope.get("status"),
        blockers=[dict(id=f["id"], title=f.get("title")) for f in findings if f.get("severity") == "blocker"],
        libvirt_version=envelope.get("libvirt_version"), backend=libvirt.get("effective_backend"), configured_backend=libvirt.get("configured_backend"),
        finding_ids=by_severity, ansible_facts=dict(vnetmigrate_scan=envelope))


if __name__ == "__main__":
    main()
