"""Throwaway network namespaces for the model's lab tests (root only).

A namespace is named ``vnm-model-<pid>-<random>`` and deleted in a ``finally``, whatever
the test did. Commands run with ``ip netns exec``; libnftables JSON is applied by a child
Python in the namespace (a libnftables context talks to the namespace it was created in).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
_COUNTERS = re.compile(r" packets \d+ bytes \d+")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("lab test: needs root for network namespaces")
    for tool in ("ip", "nft", "iptables-nft-restore", "iptables-nft-save"):
        if shutil.which(tool, path=ENV["PATH"]) is None:
            pytest.skip(f"lab test: {tool} is not installed")


class Netns:
    def __init__(self, name: str):
        self.name = name

    def run(self, *argv: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ip", "netns", "exec", self.name, *argv], input=input, text=True,
                              capture_output=True, env=ENV, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def add_bridge(self, name: str) -> None:
        self.run("ip", "link", "add", name, "type", "bridge")

    def nft_file(self, text: str) -> None:
        self.run("nft", "-f", "-", input=text)

    def nft_json(self, commands: list[dict]) -> None:
        code = ("import json, sys, nftables\n"
                "n = nftables.Nftables()\n"
                "rc, out, err = n.json_cmd({'nftables': json.load(sys.stdin)})\n"
                "sys.stderr.write(err); sys.exit(rc)\n")
        self.run(sys.executable, "-c", code, input=json.dumps(commands))

    def restore(self, family: int, text: str) -> None:
        tool = "iptables-nft-restore" if family == 4 else "ip6tables-nft-restore"
        self.run(tool, "--noflush", input=text)

    def ruleset(self) -> str:
        return strip_counters(self.run("nft", "list", "ruleset").stdout)

    def save(self, family: int) -> str:
        return self.run("iptables-nft-save" if family == 4 else "ip6tables-nft-save").stdout


def strip_counters(text: str) -> str:
    return _COUNTERS.sub("", text)


@contextlib.contextmanager
def netns() -> Iterator[Netns]:
    require_root()
    name = f"vnm-model-{os.getpid()}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, env=ENV)
    try:
        yield Netns(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], env=ENV)
