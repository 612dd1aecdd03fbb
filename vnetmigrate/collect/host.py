"""Live access to a host: run commands, read files, ask libnftables — and record it all.

`LiveHost` is the only place that touches the machine while looking. Everything it sees
goes into an `Evidence` as it is seen. Configuration files are read under `root` (``--root``);
kernel files (/proc, /sys) are always the live kernel's, in the current network namespace.
"""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from vnetmigrate import bounded
from vnetmigrate.evidence import CommandRecord, Evidence, FileRecord
from vnetmigrate.programs import EXTRA_PATH, which

__all__ = ["LiveHost", "NftJson", "which"]


class NftJson:
    """libnftables with JSON output, or the `nft` binary's `-j` where the binding is missing."""

    # libnftables keeps what it listed (its cache of every rule, and the output) until the
    # context's next command or its end: ~350 MB after a chain of 50,000 rules, held while this
    # process parses the JSON. Past this much output the context is renewed to let it go.
    BIG_OUTPUT = 1 << 20

    def __init__(self) -> None:
        self.binding = False
        self._nft = self._context()
        self.binding = self._nft is not None

    @staticmethod
    def _context():
        try:
            import nftables  # type: ignore[import-not-found]
        except ImportError:
            return None
        try:
            nft = nftables.Nftables()
            nft.set_json_output(True)
            nft.set_handle_output(True)
        except Exception:  # the binding is present but libnftables cannot be loaded
            return None
        return nft

    def _renew(self) -> None:
        """A fresh context; the old one's memory goes back to the system (glibc keeps freed
        heap pages resident unless asked to trim them)."""
        self._nft = None  # frees the old context, its cache and output
        try:
            import ctypes

            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: the memory is free, only not returned
            pass
        self._nft = self._context()
        self.binding = self._nft is not None

    @property
    def via(self) -> str:
        return "libnftables" if self.binding else "exec"

    def available(self) -> bool:
        return self.binding or which("nft") is not None

    def cmd(self, text: str, timeout: float = 120) -> tuple[int | None, str, str, str | None]:
        """Run one nft command with JSON output: (rc, stdout, stderr, error)."""
        if self._nft is not None:
            rc, out, err = self._nft.cmd(text)
            if len(out) > self.BIG_OUTPUT:
                self._renew()
            return rc, out, err, None
        nft = which("nft")
        if nft is None:
            return None, "", "", "nft is not installed and python3-nftables is missing"
        try:
            # one argument: nft joins its arguments with spaces anyway, and a JSON command's
            # names keep their own spaces
            proc = subprocess.run([nft, "-j", "-a", text], capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, "", "", f"timed out after {timeout:.0f} s"
        return proc.returncode, proc.stdout, proc.stderr, None


class LiveHost:
    """Reads the live host (optionally another filesystem root) into an Evidence.

    `deadline` (seconds from now; None: none) bounds the whole collection, not only each
    command: a command that would start after it is not run, one running at it is stopped,
    and both are recorded as errors, so the analysis says "cannot tell" for what they read.

    `while_waiting`: work done the first time a command is slow to answer, while it runs (a job
    that returns False waits for the next one): `iptables-nft -S` of a 50,000-rule chain keeps
    the kernel busy for 0.6 s with this process idle (docs/kernel-and-tools.md §10). scan
    imports its analysis then, and the collectors make listings that do not depend on that
    command ahead of their turn (`prefetch_nft`): recorded in their turn, the evidence is the same.
    `eager`: that work is done as soon as more than one process runs (a batch of listings,
    `run_all`), not only when one is slow: migrate's listings each answer within a few ms, and
    its imports (~40 ms) then overlap the children's run on the other core instead of
    following it.
    """

    def __init__(self, evidence: Evidence, root: str = "/", nft: NftJson | None = None,
                 deadline: float | None = None, while_waiting: list[Callable[[], object]] | None = None,
                 eager: bool = False):
        self.ev = evidence
        self.while_waiting = list(while_waiting or ())
        self.eager = eager
        self._prefetched: dict[tuple[str, str], tuple] = {}
        # libvirt's tables read over netlink ahead of their turn (collect/nft.py), by key
        self.prefetched_tables: dict[str, tuple | None] = {}  # None: refused, libnftables listed it ahead
        self.root = Path(root)
        self.nft = nft or NftJson()
        self.deadline = deadline
        self._ends = None if deadline is None else time.monotonic() + deadline
        self._missed = 0

    def _budget(self, key: str, argv: tuple[str, ...], timeout: float, record: bool = True) -> float | CommandRecord:
        """The time `key` may take; a record of it not run once the deadline has passed (not
        `record`: that record is only returned, for a listing not recorded itself)."""
        if self._ends is None:
            return timeout
        left = self._ends - time.monotonic()
        if left > 0:
            return min(timeout, left)
        missed = CommandRecord(key, argv, None, error=f"not run: the deadline of {self.deadline:g} s had passed")
        if not record:
            return missed
        self._missed += 1
        if self._missed == 1:
            self.ev.add_error("collect.deadline", f"the scan's deadline of {self.deadline:g} s passed: what was not "
                                                  "read by then is unknown (see the commands not run)")
        return self.ev.add_command(missed)

    # -- commands -----------------------------------------------------------
    def run(self, key: str, argv: list[str], timeout: float = 60) -> CommandRecord:
        """One command, recorded in the evidence (its output, exit status and duration)."""
        return self.run_all([(key, argv)], timeout)[0]

    # Listings that do not depend on each other run side by side, this many at a time: each is a
    # short process (iptables-nft -S of one chain: ~3 ms, mostly its start-up), so a dozen of
    # them one after the other were a fifth of a small host's scan.
    AT_ONCE = 8

    def run_all(self, jobs: list[tuple[str, list[str]] | CommandRecord], timeout: float = 60,
                record: bool = True) -> list[CommandRecord]:
        """`run` for each (key, argv), several processes at a time; the records are made (and
        added to the evidence) in the order of `jobs`, as `run` one by one would make them. A
        job that is a record already (made from another listing) is added in its turn. Not
        `record`: nothing is added, and a command that could not be run gives a record of why."""
        # A window, not batches: the next process starts as soon as the oldest is collected, so
        # a batch's slowest process no longer holds the next batch back.
        started = [self._start(job, timeout, record) for job in jobs[:self.AT_ONCE]]
        if self.eager and self.while_waiting and sum(isinstance(job, tuple) for job in started) > 1:
            self._work_while_waiting()
        out: list[CommandRecord] = []
        for i in range(len(jobs)):
            job = started[i]
            if isinstance(job, tuple):
                out.append(self._finish(*job, record=record))
            else:
                out.append(self.ev.add_command(job) if job is jobs[i] else job)
            started[i] = None  # its process and output go as soon as they are recorded
            if i + self.AT_ONCE < len(jobs):
                started.append(self._start(jobs[i + self.AT_ONCE], timeout, record))
        return out

    def _start(self, job: tuple[str, list[str]] | CommandRecord, timeout: float, record: bool = True):
        """A started process (key, argv, proc, start, timeout), the job itself when it is a
        record, or the record of why it was not started."""
        if isinstance(job, CommandRecord):
            return job
        key, argv = job
        add = self.ev.add_command if record else (lambda rec: rec)
        exe = which(argv[0])
        if exe is None:
            return add(CommandRecord(key, tuple(argv), None, error=f"{argv[0]}: not installed"))
        budget = self._budget(key, tuple(argv), timeout, record)
        if isinstance(budget, CommandRecord):
            return budget
        start = time.monotonic()
        try:
            proc = subprocess.Popen([exe, *argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, env=_command_env())
        except OSError as exc:
            return add(CommandRecord(key, tuple(argv), None, error=str(exc)))
        return key, argv, proc, start, budget

    # A listing's first output later than this (the ~3 ms listings answer well within it): a
    # slow one, during which `while_waiting` is done.
    SLOW = 0.02

    def _finish(self, key: str, argv: list[str], proc: subprocess.Popen, start: float, timeout: float,
                record: bool = True) -> CommandRecord:
        add = self.ev.add_command if record else (lambda rec: rec)
        if self.while_waiting and not _answers(proc, self.SLOW):
            self._work_while_waiting()
        try:
            stdout, stderr = proc.communicate(timeout=max(0.0, start + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return add(CommandRecord(key, tuple(argv), None, duration=timeout, error=f"timed out after {timeout:.3g} s"))
        return add(CommandRecord(
            key, tuple(argv), proc.returncode,
            stdout=stdout.decode("utf-8", "replace"), stderr=stderr.decode("utf-8", "replace"),
            duration=round(time.monotonic() - start, 4)))

    def _work_while_waiting(self) -> None:
        """`while_waiting`'s work, while started processes run; a job that returns False waits
        for the next time."""
        work, self.while_waiting = self.while_waiting, []
        for job in work:
            try:
                if job() is False:  # not yet: at the next slow command (or batch, when eager)
                    self.while_waiting.append(job)
            except Exception:  # noqa: BLE001 - the work is done again where it belongs, and fails there
                pass

    def nft_json(self, key: str, text: str, parse: bool = True,
                 shown: tuple[str, ...] | None = None) -> tuple[CommandRecord, dict | None]:
        """One nft listing as JSON; the parsed document is returned beside the record (unless
        not `parse`: libvirt's table at 500 networks is 2 MB, which the facts parse anyway). A
        listing `prefetch_nft` made of the same key and text is recorded here, in this one's place.
        `shown`: the command line recorded, for a command given as JSON (collect/nft.py)."""
        argv = shown or ("nft", "-j", *text.split())
        budget = self._budget(key, argv, 120)
        if isinstance(budget, CommandRecord):
            return budget, None
        answer = self._prefetched.pop((key, text), None) or self._nft_answer(text, budget, parse)
        rc, out, err, error, duration, via, doc = answer
        rec = self.ev.add_command(CommandRecord(
            key, argv, rc, stdout=out, stderr=err, error=error, duration=duration, via=via))
        return rec, doc

    def prefetch_nft(self, key: str, text: str, parse: bool = True) -> None:
        """Make the listing `nft_json(key, text)` will record, now, while a slow command runs
        (`while_waiting`): only when the listing does not depend on what comes between."""
        self._prefetched[(key, text)] = self._nft_answer(text, 120, parse)

    def _nft_answer(self, text: str, timeout: float, parse: bool = True) -> tuple:
        start = time.monotonic()
        rc, out, err, error = self.nft.cmd(text, timeout=timeout)
        duration = round(time.monotonic() - start, 4)
        doc = None
        if parse and rc == 0 and out:
            try:
                doc = json.loads(out)
            except json.JSONDecodeError:
                doc = None
        return rc, out, err, error, duration, self.nft.via, doc

    def netlink_chains(self):
        """A reader of chains over netlink (collect/nfnl_chain.py), None when no socket can be had."""
        from vnetmigrate.collect.nfnl_chain import ChainReader

        try:
            return ChainReader()
        except OSError:
            return None

    # -- files --------------------------------------------------------------
    def _local(self, path: str, kernel: bool) -> Path:
        if kernel:
            return Path(path)
        return self.root / path.lstrip("/")

    def read(self, path: str, kernel: bool = False) -> FileRecord:
        """Read `path` (under --root unless it is live kernel state).

        Read with vnetmigrate.bounded: only regular files (a FIFO or device planted under --root
        must not block or be consumed), whole or not at all (a file over the limit is refused,
        never cut short). A file that exists but cannot be read is recorded as an error of
        collection, not as absent.
        """
        local = self._local(path, kernel)
        try:
            data = bounded.read_bytes(local, bounded.CONFIG_LIMIT)
        except FileNotFoundError:
            return self.ev.add_file(FileRecord(path, None, "absent"))
        except bounded.Unreadable as exc:
            if exc.errno == errno.EISDIR:
                return self.ev.add_file(FileRecord(path, None, "is a directory"))
            self.ev.add_error("collect.files", f"{path}: {exc.reason}")
            return self.ev.add_file(FileRecord(path, None, exc.reason))
        return self.ev.add_file(FileRecord(path, data.decode("utf-8", "replace")))

    def listdir(self, path: str, suffix: str = "", kernel: bool = False, read: bool = True,
                prefix: str = "") -> list[str] | None:
        """List a directory's entries (those starting with `prefix` and ending in `suffix`) and,
        unless read=False, read each of them."""
        local = self._local(path, kernel)
        try:
            names = sorted(n for n in os.listdir(local) if n.endswith(suffix) and n.startswith(prefix))
        except OSError:
            self.ev.listings[path] = None
            return None
        self.ev.listings[path] = names
        for name in names if read else ():
            self.read(f"{path.rstrip('/')}/{name}", kernel=kernel)
        return names

    def exists(self, path: str) -> bool:
        return self._local(path, False).exists()


def _answers(proc: subprocess.Popen, within: float) -> bool:
    """Whether `proc` writes to its stdout (or closes it) within `within` seconds."""
    poller = select.poll()  # not select(): a descriptor past 1023 is out of its range
    poller.register(proc.stdout, select.POLLIN)
    return bool(poller.poll(within * 1000))


def _command_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), *EXTRA_PATH])
    return env
