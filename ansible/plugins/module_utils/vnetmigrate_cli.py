# -*- coding: utf-8 -*-
# GNU General Public License v2.0 or later (see LICENSE in the vnetmigrate repository)
"""Run the installed `vnetmigrate` command on the managed host and read its JSON envelope.

Every module of this collection goes through `run`: it adds `--format json`, parses the one
envelope the command prints (schema_version, command, status, exit_code, data, errors; the
schemas ship in the vnetmigrate package under vnetmigrate/reports/schemas/) and turns a failed
command into `fail_json` with the tool's own one-line message. The modules never parse the text
output and never reimplement a decision the tool makes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The options every command that reads or changes the host takes, with the same meaning as on
# the command line (vnetmigrate(8)).
COMMON_ARGS = dict(
    executable=dict(type="path", default="vnetmigrate"),
    netns=dict(type="str"),
    root=dict(type="path"),
    state_dir=dict(type="path"),
)

SCHEMA_VERSION = 1


class CommandError(Exception):
    """The command failed: one line for people, and what the module returns beside it."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def executable(module):
    """The vnetmigrate program: a path as given, or the name looked up on PATH (and sbin)."""
    name = module.params["executable"]
    if "/" in name:
        return name
    found = module.get_bin_path(name, required=False)
    if not found:
        raise CommandError("%s not found on this host: install vnetmigrate (its README) or set the executable "
                           "option" % name)
    return found


def host_args(params, netns=True, root=True):
    """--netns/--root/--state-dir as the module's options give them."""
    argv = []
    if netns and params.get("netns"):
        argv += ["--netns", params["netns"]]
    if root and params.get("root"):
        argv += ["--root", params["root"]]
    if params.get("state_dir"):
        argv += ["--state-dir", params["state_dir"]]
    return argv


def restart_args(params):
    if params.get("no_restart"):
        return ["--no-restart"]
    if params.get("restart_command"):
        return ["--restart-command", params["restart_command"]]
    return []


def _first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def run(module, command, argv):
    """Run `vnetmigrate COMMAND ARGV --format json` and return (rc, envelope).

    Raises CommandError when the program is missing, prints no envelope or one of another
    schema version, or reports status "error" (bad input, not root, a missing tool: exit 1 or
    2). Every other exit code is the command's answer, for the module to read.
    """
    cmd = [executable(module), command] + list(argv) + ["--format", "json"]
    rc, out, err = module.run_command(cmd, environ_update={"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    try:
        envelope = json.loads(out)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "status" not in envelope:
        msg = _first_line(err) or _first_line(out) or "%s %s exited with %d and printed nothing" % (
            cmd[0], command, rc)
        raise CommandError(msg, exit_code=rc, cmd=cmd, stderr=err)
    if envelope.get("schema_version") != SCHEMA_VERSION:
        raise CommandError("%s printed schema_version %r; this collection reads %d: upgrade the collection "
                           "or vnetmigrate" % (cmd[0], envelope.get("schema_version"), SCHEMA_VERSION),
                           exit_code=rc, cmd=cmd)
    if envelope["status"] == "error":
        errors = envelope.get("errors") or []
        msg = _first_line(errors[0].get("message")) if errors else ""
        raise CommandError(msg or _first_line(err) or "vnetmigrate %s exited with %d" % (command, rc),
                           exit_code=rc, cmd=cmd, envelope=envelope, stderr=err)
    return rc, envelope


def fail(module, error):
    module.fail_json(msg=error.msg, **error.result)


def blockers_line(blockers):
    """'id: title; id: title' for a failure message (the ids are the tool's stable finding ids)."""
    return "; ".join("%s: %s" % (b.get("id"), b.get("title")) for b in blockers)


def plan_diff(data):
    """The plan's changes as Ansible's --diff shows them: network.conf's unified diff (as the
    tool prints it) and the rules added and removed per place, then the steps in order."""
    summary = data.get("summary") or {}
    lines = []
    conf = summary.get("network_conf") or ""
    if conf:
        lines.append(conf.rstrip("\n"))
    added = summary.get("add") or {}
    removed = summary.get("remove") or {}
    if added or removed:
        lines.append("rules (libvirt's, %s -> %s; networks %s):" % (
            summary.get("from"), summary.get("to"), ", ".join(summary.get("networks_moved") or []) or "none"))
        for what, count in sorted(added.items()):
            lines.append("+ %d %s" % (count, what.replace("_", " ")))
        for place, counts in sorted(removed.items()):
            shown = ", ".join("%d %s" % (n, kind) for kind, n in sorted(counts.items()) if n)
            if shown:
                lines.append("- %s: %s" % (place, shown))
    if summary.get("restart"):
        lines.append("restart: %s" % " ".join(summary["restart"]))
    steps = data.get("steps") or []
    if steps:
        lines.append("steps:")
        lines.extend("  %d. %s" % (s.get("index"), s.get("title")) for s in steps)
    return "\n".join(lines) + "\n" if lines else ""
