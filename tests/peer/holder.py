"""PID 1 of a peer's private PID namespace: sets up its mounts, then holds them.

Started (by libvirtd.py) as
    nsenter --net=/run/netns/NS unshare --mount --propagation private --pid --fork \
        --kill-child python3 holder.py SPEC_JSON
so it lives in the peer's network namespace, in a fresh mount namespace and as PID 1 of a
fresh PID namespace. Why each:

* the mount namespace keeps the daemon's private /etc/libvirt, /run, /var/lib/libvirt, ...
  (bind mounts of a state directory) away from the machine's own; it lives as long as this
  process does, so /run/libvirt survives daemon restarts exactly as on a real host;
* PID 1 of a PID namespace: when it exits, the kernel kills every process in the namespace
  (libvirtd, dnsmasq, anything they forked), so nothing can outlive the peer; and orphans
  (libvirtd --daemon, dnsmasq double-fork) are re-parented here and reaped instead of
  piling up as zombies under this machine's init, which does not reap;
* stdin is a pipe from the owning Python process: EOF means the owner is gone (even by
  SIGKILL), and this process exits, taking the whole peer with it.

Only the standard library: this runs under whatever python3 started it, outside any venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {proc.stderr.strip()}")


def apply(op: list[str]) -> None:
    kind, *rest = op
    if kind == "private":          # stop mount events leaking back to the machine
        _mount("--make-rprivate", rest[0])
    elif kind == "bind":
        _mount("--bind", rest[0], rest[1])
    elif kind == "rbind":
        _mount("--rbind", rest[0], rest[1])
    elif kind == "ro":             # per-mount read-only flag: the filesystem stays rw elsewhere
        _mount("-o", "remount,bind,ro", rest[0])
    elif kind == "tmpfs":
        _mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", rest[0])
    elif kind == "proc":
        _mount("-t", "proc", "proc", rest[0])
    elif kind == "sysfs":          # mounted from inside the netns: shows its interfaces only
        _mount("-t", "sysfs", "sysfs", rest[0])
    elif kind == "umount":
        proc = subprocess.run(["umount", "-l", rest[0]], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"umount {rest[0]}: {proc.stderr.strip()}")
    else:
        raise RuntimeError(f"unknown mount operation {op!r}")


def _exit_on_eof() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        for op in spec["mounts"]:
            apply(op)
    except Exception as exc:  # reported to the owner, who raises it
        print(f"error: {exc}", flush=True)
        sys.exit(1)
    threading.Thread(target=_exit_on_eof, daemon=True).start()
    print("ready", flush=True)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.2)


if __name__ == "__main__":
    main()
