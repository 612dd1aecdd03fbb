"""The Ansible collection in ansible/ (vnetmigrate.kvm), checked with ansible-core itself.

- `ansible-doc` renders every module (DOCUMENTATION, EXAMPLES and RETURN parse as Ansible reads
  them), and each module's ARGUMENT_SPEC says what its DOCUMENTATION says;
- `ansible-galaxy collection build` accepts galaxy.yml;
- the modules, run as Ansible runs them on a managed host (a JSON arguments file), refuse bad
  arguments and pass the tool's own one-line message through `fail_json`.

The engine over SSH, against a fleet of lab hosts: tests/lab/test_ansible_fleet.py.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv/bin"
MODULES = ("vnetmigrate_scan", "vnetmigrate_migrate", "vnetmigrate_repair", "vnetmigrate_rollback")
FQCN = "vnetmigrate.kvm"

pytestmark = pytest.mark.skipif(not (BIN / "ansible-doc").exists(),
                                reason="ansible-core is not installed in .venv (the test extras: ./bootstrap test)")


@pytest.fixture(scope="module")
def collections(tmp_path_factory) -> Path:
    """A collections path holding this checkout's collection, as `ansible-galaxy collection
    install` would lay it out."""
    top = tmp_path_factory.mktemp("collections")
    link = top / "ansible_collections/vnetmigrate/kvm"
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO / "ansible")
    return top


def ansible_env(collections: Path, home: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections), "HOME": str(home),
            "ANSIBLE_HOME": str(home / ".ansible"), "ANSIBLE_NOCOLOR": "1", "LC_ALL": "C.UTF-8"}


@pytest.fixture(scope="module")
def docs(collections, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("home")
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", *(f"{FQCN}.{m}" for m in MODULES)],
                          capture_output=True, text=True, timeout=120, env=ansible_env(collections, home))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def spec_of(collections: Path, name: str) -> dict:
    sys.path.insert(0, str(collections))
    try:
        return importlib.import_module(f"ansible_collections.{FQCN}.plugins.modules.{name}").ARGUMENT_SPEC
    finally:
        sys.path.remove(str(collections))


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_every_module_and_the_spec_matches_the_documentation(docs, collections, name):
    doc = docs[f"{FQCN}.{name}"]
    assert doc["doc"]["module"] == name and doc["doc"]["short_description"]
    assert doc["return"] and doc["examples"].strip()
    options = doc["doc"]["options"]
    spec = spec_of(collections, name)
    assert set(options) == set(spec)
    for opt, arg in spec.items():
        documented = options[opt]
        assert documented["type"] == arg.get("type", "str"), opt
        assert documented.get("default") == arg.get("default"), opt
        assert documented.get("choices") == arg.get("choices"), opt
        assert documented.get("elements") == arg.get("elements"), opt
    # Every example uses the module's documented options only.
    for task in yaml.safe_load(doc["examples"]):
        tasks = task.get("block", [task]) if isinstance(task, dict) else []
        for t in tasks:
            for key, args in t.items():
                if key.endswith(name):
                    assert set(args or {}) <= set(options), (key, args)
    # Return values: no `rc` (Ansible counts a non-zero rc as a failure; blockers are data).
    assert "rc" not in doc["return"] and "exit_code" in doc["return"]


def test_galaxy_builds_the_collection(collections, tmp_path):
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(REPO / "ansible"),
                           "--output-path", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env=ansible_env(collections, tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = tmp_path.glob("vnetmigrate-kvm-*.tar.gz")
    import tarfile

    with tarfile.open(built) as tar:
        names = set(tar.getnames())
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= names
    assert "plugins/module_utils/vnetmigrate_cli.py" in names and "playbooks/careful_migration.yml" in names


def run_module(collections: Path, name: str, args: dict, tmp_path: Path) -> tuple[int, dict]:
    """Run a module the way Ansible does on the managed host: its file, with an arguments file."""
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"_ansible_check_mode": False, **args}}))
    path = REPO / "ansible/plugins/modules" / f"{name}.py"
    proc = subprocess.run([sys.executable, str(path), str(argfile)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(collections), "PATH": f"{BIN}:/usr/sbin:/usr/bin:/bin"})
    return proc.returncode, json.loads(proc.stdout)


def test_an_unknown_option_or_a_bad_choice_is_refused_before_anything_runs(collections, tmp_path):
    rc, out = run_module(collections, "vnetmigrate_migrate", {"to": "ebtables"}, tmp_path)
    assert rc == 1 and out["failed"] and "value of to must be one of: nftables, iptables" in out["msg"]
    rc, out = run_module(collections, "vnetmigrate_scan", {"bogus": 1}, tmp_path)
    assert rc == 1 and "Unsupported parameters" in out["msg"] and "bogus" in out["msg"]
    rc, out = run_module(collections, "vnetmigrate_rollback", {"no_restart": True, "restart_command": "true"}, tmp_path)
    assert rc == 1 and "mutually exclusive: restart_command|no_restart" in out["msg"]
    rc, out = run_module(collections, "vnetmigrate_rollback", {"force": True}, tmp_path)
    assert rc == 1 and out["msg"].startswith("force needs id")


def test_a_missing_vnetmigrate_is_one_line(collections, tmp_path):
    rc, out = run_module(collections, "vnetmigrate_scan", {"executable": "vnetmigrate-not-installed"}, tmp_path)
    assert rc == 1 and out["msg"] == ("vnetmigrate-not-installed not found on this host: install vnetmigrate "
                                      "(its README) or set the executable option")


def test_the_tools_own_error_message_is_the_failure(collections, tmp_path):
    """The CLI's error envelope (exit 1) becomes fail_json with its one-line message. (A release
    scan cannot model is refused before anything is read.)"""
    direct = subprocess.run([str(BIN / "vnetmigrate"), "scan", "--target-version", "banana", "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    envelope = json.loads(direct.stdout)
    assert direct.returncode == 1 and envelope["status"] == "error"
    rc, out = run_module(collections, "vnetmigrate_scan", {"target_version": "banana"}, tmp_path)
    assert rc == 1 and out["failed"] and out["msg"] == envelope["errors"][0]["message"]
    assert out["msg"].startswith("libvirt version 'banana' is not modelled") and "\n" not in out["msg"]
    assert out["exit_code"] == 1 and "changed" not in out or not out["changed"]
