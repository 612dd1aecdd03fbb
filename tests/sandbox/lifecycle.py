"""`LabBase`: build the throwaway host/guest/wan namespaces, own their processes, tear all down.

Teardown runs on leaving the ``with`` block whatever the reason (exception, Ctrl-C, and
SIGTERM/SIGHUP, which are turned into SystemExit while a lab is alive) and at interpreter
exit; SIGKILL leaves namespaces behind for `namespaces.sweep()` to find (owner dead).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence

from vnetmigrate.netns import entered
from tests.sandbox import namespaces, topology
from tests.sandbox.topology import Guest, LabNetwork

_ECHO = os.path.join(os.path.dirname(__file__), "echo.py")
_CATCH = (signal.SIGTERM, signal.SIGHUP)
_BLOCK = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_live: set["LabBase"] = set()
_saved_handlers: dict[int, object] = {}


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `with Lab()` and `finally`


def _guard_signals(on: bool) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    if on and not _saved_handlers:
        for sig in _CATCH:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                _saved_handlers[sig] = signal.signal(sig, _raise_exit)
    elif not on:
        for sig, old in _saved_handlers.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        _saved_handlers.clear()


@atexit.register
def _close_all() -> None:
    for lab in list(_live):
        lab.close()


class LabBase:
    """Namespaces, topology and processes. Rules and probes are added by `Lab` (facade)."""

    def __init__(self, networks: Sequence[LabNetwork] = (topology.DEFAULT_NETWORK,), *,
                 uplink: str = "eth0", ipv6: bool = False):
        self.networks = list(networks)
        topology.check_networks(self.networks, uplink)
        self.uplink = uplink
        self.ipv6 = ipv6
        self.host = namespaces.new_name("host")
        self.wan = namespaces.new_name("wan")
        self.guests = [Guest(i, net, namespaces.new_name(f"guest{i}"), f"vnet{i}", topology.guest_mac(i))
                       for i, net in enumerate(self.networks)]
        self.tmpdir: str | None = None
        self._procs: list[subprocess.Popen] = []
        self._servers: dict[str, subprocess.Popen] = {}
        self.started = False

    @property
    def namespaces(self) -> list[str]:
        return [self.host, self.wan, *(g.ns for g in self.guests)]

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> "LabBase":
        _guard_signals(True)
        _live.add(self)
        self.started = True
        try:
            self.tmpdir = tempfile.mkdtemp(prefix="vnm-lab-")
            namespaces.create(self.namespaces)
            for ns in self.namespaces:
                self._sysctls(ns)
            namespaces.sysctl(self.host, "net.ipv4.ip_forward", "1")
            namespaces.ip_batch(self.host, topology.host_batch(self.networks, self.guests,
                                                               self.uplink, self.wan))
            for g in self.guests:
                namespaces.ip_batch(g.ns, topology.guest_batch(g))
            namespaces.ip_batch(self.wan, topology.wan_batch())
        except BaseException:
            self.close()
            raise
        return self

    def _sysctls(self, ns: str) -> None:
        # Set before interfaces exist or move in: "default" is what new interfaces copy.
        for scope in ("all", "default"):
            # New namespaces may inherit the machine's rp_filter; the lab wants none
            # (strict reverse-path filtering would drop DHCP replies to an unaddressed guest).
            namespaces.sysctl(ns, f"net.ipv4.conf.{scope}.rp_filter", "0")
            if not self.ipv6:
                # No IPv6 on lab links: no router solicitations or MLD reports in traces.
                namespaces.sysctl(ns, f"net.ipv6.conf.{scope}.disable_ipv6", "1")

    def close(self) -> None:
        """Tear everything down; safe to call twice; signals wait until it is done."""
        if not self.started:
            return
        blocked = (signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCK)
                   if threading.current_thread() is threading.main_thread() else None)
        try:
            for proc in self._procs:
                _stop(proc)
            self._procs.clear()
            self._servers.clear()
            namespaces.delete(self.namespaces)
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None
        finally:
            self.started = False
            _live.discard(self)
            if not _live:
                _guard_signals(False)
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processes --------------------------------------------------------------
    def spawn(self, ns: str, argv: Sequence[str], **popen: object) -> subprocess.Popen:
        """Start a long-running process inside `ns`; it is killed on teardown."""
        popen.setdefault("stdin", subprocess.DEVNULL)
        with entered(ns):  # the child inherits this thread's namespace
            proc = subprocess.Popen(list(argv), **popen)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        _stop(proc)
        if proc in self._procs:
            self._procs.remove(proc)

    def ensure_server(self, ns: str, tcp: Sequence[int], udp: Sequence[int]) -> None:
        """An echo server in `ns` (one process, all ports), started on first use."""
        if ns in self._servers and self._servers[ns].poll() is None:
            return
        socks = []
        for port in tcp:
            s = _bound(ns, socket.SOCK_STREAM, port)
            s.listen(64)
            socks.append(("tcp", s))
        socks += [("udp", _bound(ns, socket.SOCK_DGRAM, port)) for port in udp]
        try:
            self._servers[ns] = self.spawn(
                ns, [sys.executable, "-I", "-S", _ECHO, *(f"{k}:{s.fileno()}" for k, s in socks)],
                pass_fds=[s.fileno() for _, s in socks])
        finally:
            for _, s in socks:
                s.close()  # the server holds its own copies


def _bound(ns: str, kind: int, port: int) -> socket.socket:
    with entered(ns):
        s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_DGRAM:
        # Ask for each datagram's destination address before the first one can arrive:
        # the echo server answers from it (see echo._udp_echo).
        s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_PKTINFO", 8), 1)
    s.bind(("0.0.0.0", port))
    return s


def _stop(proc: subprocess.Popen, grace: float = 1.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
