"""Read and change the firewall of the current network namespace (the engine enters --netns).

nftables goes through libnftables (one call with a JSON batch, one kernel transaction),
or `nft -j -f -` where the binding is missing. iptables-nft goes through the real
`iptables-nft-restore --noflush` / `iptables-nft -S`. libnftables contexts are kept, one per
namespace and output mode: a context's netlink socket belongs to the namespace of the thread that
opened it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any, Callable, TypeVar

from vnetmigrate.errors import EnvironmentProblem, VnmError
from vnetmigrate.firewall import Family
from vnetmigrate.programs import which
from vnetmigrate.specs import TABLES_NAMES
from vnetmigrate.txn import nftgen

# Families of iptables rules: iptables-nft, and legacy x_tables (only where the kernel already
# lists the table in /proc/net/ip*_tables_names: opening a missing one would create it).
IPT = {"ipv4": ("iptables-nft", "iptables-nft-restore", "ip"),
       "ipv6": ("ip6tables-nft", "ip6tables-nft-restore", "ip6"),
       "ipv4-legacy": ("iptables-legacy", "iptables-legacy-restore", None),
       "ipv6-legacy": ("ip6tables-legacy", "ip6tables-legacy-restore", None)}
# The same files scan records (specs.TABLES_NAMES), read here under /proc/thread-self/net.
LEGACY_NAMES = {f"{family}-legacy": path.rsplit("/", 1)[1] for family, path in TABLES_NAMES.items()}


T = TypeVar("T")


class KernelError(VnmError):
    """The kernel (or nft / iptables) refused a change or a listing."""


class NothingChanged(KernelError):
    """The kernel refused a change whole, in one transaction: none of it happened, so the step
    that asked for it has nothing to undo (and undoing it would take what someone else added to
    its objects meanwhile: the reason it was refused)."""


class PartlyChanged(KernelError):
    """The first kernel transactions of a change happened, a later one was refused whole:
    `changed` names the objects the ones that happened touch (all a rollback may restore)."""

    def __init__(self, message: str, changed: Any):
        super().__init__(message)
        self.changed = changed


def _binding():
    try:
        import nftables  # type: ignore[import-not-found]

        return nftables.Nftables
    except ImportError:
        return None


_CONTEXTS: dict[tuple[int, int, int, bool, bool], Any] = {}


def _context(cls, json_output: bool, handles: bool = False):
    """One libnftables context per network namespace and output mode, reused: creating one
    costs about a millisecond, a migration lists objects some 200 times, and freeing one after
    a commit waits (_apply). A context talks to the namespace it was made in, so the namespace
    is part of the key (its inode cannot be reused while the context's socket holds it), and
    the process too (a forked child must not talk through its parent's socket)."""
    st = os.stat("/proc/thread-self/ns/net")
    key = (os.getpid(), st.st_dev, st.st_ino, json_output, handles)
    nft = _CONTEXTS.get(key)
    if nft is None:
        nft = cls()
        nft.set_json_output(json_output)
        if handles:
            nft.set_handle_output(True)
        _CONTEXTS[key] = nft
    return nft


def _tool(name: str) -> str:
    exe = which(name)
    if exe is None:
        raise EnvironmentProblem(f"{name} is not installed", hint="install nftables and iptables")
    return exe


def nft_apply(commands: list[dict[str, Any]]) -> None:
    """Run libnftables JSON commands as one batch: one kernel transaction."""
    _apply(json.dumps({"nftables": commands}), True, tables_of(commands))


def nft_apply_text(text: str, tables: set[tuple[str, str]] | None) -> None:
    """Run `nft -f` text as one batch (one kernel transaction); `tables`: what it changes."""
    _apply(text, False, tables)


def _apply(text: str, json_input: bool, tables: set[tuple[str, str]] | None) -> None:
    """One batch through the binding, else the nft command. libnftables 1.0.6 reads JSON input
    only with JSON output on (what the binding's `json_cmd` sets); no echo is asked for, so
    nothing is printed back."""
    before = nftgen.current()
    cls = _binding()
    if cls is not None:
        # The namespace's kept context, not a new one: freeing a context closes its netlink
        # socket, which right after a commit that deleted anything waits for the kernel to free
        # it (13-25 ms per rollback step at 100 networks, docs/kernel-and-tools.md §13).
        rc, _out, err = _context(cls, json_input).cmd(text)
        if rc != 0:
            raise KernelError(f"nftables refused the change: {_first_error(str(err))}")
    else:
        argv = [_tool("nft"), *(["-j"] if json_input else []), "-f", "-"]
        proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise KernelError(f"nftables refused the change: {_first_error(proc.stderr)}")
    committed_once(before, tables)


def tables_of(commands: list[dict[str, Any]]) -> set[tuple[str, str]] | None:
    """The (family, table) pairs libnftables JSON commands change; None when one does not say."""
    out = set()
    for command in commands:
        for what in command.values():
            if not isinstance(what, dict):
                return None
            for kind, obj in what.items():
                name = (obj.get("name") if kind == "table" else obj.get("table")) if isinstance(obj, dict) else None
                if name is None or "family" not in obj:
                    return None
                out.add((obj["family"], name))
    return out


def committed_once(before: tuple[int, int] | None, tables: set[tuple[str, str]] | None) -> None:
    """After one kernel transaction of ours that changed only `tables` (None: unknown): when
    the generation moved by exactly one, no one else committed, so every listing of another
    table made at `before` still holds; it is kept for the new generation (a migration lists
    libvirt's iptables chains once instead of after each of its steps)."""
    after = nftgen.current()
    if before is None or after is None or tables is None or after != (before[0], before[1] + 1):
        return
    for what, entry in list(_STABLE.items()):
        words = what.split()
        if entry[0] == before and len(words) >= 3 and (words[1], words[2]) not in tables:
            _STABLE[what] = (after, *entry[1:])
    for key, (gen, out) in list(_SHOWN.items()):
        if gen == before and (Family(key[0]).nft, key[1]) not in tables:
            _SHOWN[key] = (after, out)


def _first_error(err: str) -> str:
    """nft repeats the whole (JSON) input after an error: keep its own words."""
    lines = [ln for ln in err.splitlines() if ln.startswith("Error")]
    return ("; ".join(lines) or err.strip())[:1000]


def nft_list(what: str) -> dict[str, Any] | None:
    """`nft -j list WHAT`; None when the object does not exist."""
    text = nft_list_text(what)
    if text is None:
        return None
    return json.loads(text) if text.strip() else {"nftables": []}


def nft_list_text(what: str, json_output: bool = True, handles: bool = False) -> str | None:
    """The text of `nft [-j] [-a] list WHAT`, unparsed; None when the object does not exist.

    Plain text (no handles) takes half the time of JSON and is a fifth of its size (1,000
    rules: 10 ms, 80 kB against 20 ms, 416 kB): what fingerprints use.
    """
    cls = _binding()
    if cls is not None:
        rc, out, err = _context(cls, json_output, handles).cmd(f"list {what}")
    else:
        flags = (["-j"] if json_output else []) + (["-a"] if handles else [])
        proc = subprocess.run([_tool("nft"), *flags, *f"list {what}".split()], capture_output=True, text=True,
                              timeout=120)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    if rc != 0:
        if "No such file or directory" in err:
            return None
        raise KernelError(f"`nft list {what}` failed: {err.strip()}")
    return out


_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def without_counters(text: str) -> str:
    """nft text without what changes by itself: packet counters."""
    return _COUNTER.sub("counter", text)


_HANDLE = re.compile(r" # handle \d+$", re.M)


def without_handles(text: str) -> str:
    """`nft -a list` text as `nft list` prints it: each object's trailing `# handle N` cut."""
    return _HANDLE.sub("", text)


# The last listing of each object, with the (namespace cookie, generation) it was made at: its
# text with handles (`nft -a`), and without handles or packet counters.
_STABLE: dict[str, tuple[tuple[int, int], tuple[str | None, str | None]]] = {}


def nft_list_stable(what: str, at: tuple[int, int] | None = None) -> str | None:
    """`nft list WHAT` as plain text without packet counters; None when it does not exist.

    Reused while the namespace's nftables generation is the one it was listed at (txn/nftgen.py):
    nothing has committed since, so it is still what the kernel holds. The fingerprints before
    and after each step and the verification after it list the same tables: one listing serves.
    `at`: see _at_generation.
    """
    return nft_list_stable_at(what, at)[2]


def nft_list_handles(what: str) -> tuple[tuple[int, int] | None, str | None]:
    """(generation, `nft -a list WHAT` text) from the same listing nft_list_stable keeps: the
    handles of exactly the rules a fingerprint saw. The generation is None when the kernel
    cannot tell it (then the text may be older than the next commit: nothing to build on)."""
    gen, raw, _text = nft_list_stable_at(what)
    return gen, raw


def nft_list_stable_at(what: str, at: tuple[int, int] | None = None) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """(generation, text with handles, text without handles or counters), listed once per
    generation. One listing with handles serves both: cutting them gives `nft list`'s text
    byte for byte (tests/lab/test_txn_listings.py)."""
    gen, (raw, text) = _at_generation(_STABLE, what, lambda: _listing(what), at=at)
    return gen, raw, text


def _listing(what: str) -> tuple[str | None, str | None]:
    raw = nft_list_text(what, json_output=False, handles=True)
    return raw, None if raw is None else without_counters(without_handles(raw))


def _at_generation(cache: dict[Any, tuple[tuple[int, int], Any]], key: Any, read: Callable[[], T],
                   generation: bool = True, at: tuple[int, int] | None = None) -> tuple[tuple[int, int] | None, T]:
    """(generation, what `read()` returns): kept in `cache` under `key` with the namespace's
    nftables generation it was read at (txn/nftgen.py), and reused while that generation
    holds: nothing has committed since, so it is still what the kernel holds. Kept only when
    nothing committed while reading; the generation is None when the kernel cannot tell it, or
    the caller says the object has none (`generation` False: legacy x_tables), and then it is
    read every time.

    `at`: the generation the caller has just read and reads again once it is done with a
    series of listings (snapshot.probe), throwing the series away when it moved: what is kept
    at `at` is taken without asking the kernel again (~50 us each); anything else is read as
    above."""
    if at is not None:
        hit = cache.get(key)
        if hit is not None and hit[0] == at:
            return hit
    before = nftgen.current() if generation else None
    hit = cache.get(key)
    if before is not None and hit is not None and hit[0] == before:
        return hit
    value = read()
    if before is not None and nftgen.current() == before:  # nothing committed while reading
        cache[key] = (before, value)
        return before, value
    cache.pop(key, None)
    return None, value


def chains(at: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Every chain of every table (no rules): 10 ms even on a 50,000-rule host, ~2 ms with
    libvirt's rules of 100 networks. Reused while the generation it was listed at holds, like
    nft_list_stable (each fingerprint and verification asks; a migration, 8 times at 4
    generations); each caller gets its own copies. `at`: see _at_generation."""
    _gen, listed = _at_generation(_CHAINS, "chains", _chain_listing, at=at)
    return [dict(c) for c in listed]


def _chain_listing() -> list[dict[str, Any]]:
    doc = nft_list("chains") or {}
    return [item["chain"] for item in doc.get("nftables", []) if "chain" in item]


_CHAINS: dict[str, tuple[tuple[int, int], list[dict[str, Any]]]] = {}  # "chains": the last listing, by generation


def tables() -> set[tuple[str, str]]:
    """Every (family, table). Costly on a big ruleset: libnftables 1.0.6 reads every rule of
    every table for `list tables` (0.3 s with libvirt's rules of 300 networks, against 20 ms for
    `list chains`); table_exists asks about one table without that."""
    doc = nft_list("tables") or {}
    return {(i["table"]["family"], i["table"]["name"]) for i in doc.get("nftables", []) if "table" in i}


def table_exists(family: str, name: str) -> bool:
    """Whether table `name` of `family` exists, without reading its rules: a table holding a
    chain is known by `list chains`; one holding none is listed alone (no rule to read)."""
    if any(c["family"] == family and c["table"] == name for c in chains()):
        return True
    return nft_list_text(f"table {family} {name}", json_output=False) is not None


def ipt_list(family: str, table: str, chain: str) -> list[str]:
    """`iptables-nft -t TABLE -S CHAIN` without the -P/-N line: the chain's rules, in order."""
    return [line for line in ipt_show(family, table, chain).splitlines() if line.startswith("-A ")]


# The last `iptables-nft -S CHAIN` output of each chain, with the generation it was made at:
# iptables-nft chains are nftables chains, so it holds while the generation does (like _STABLE).
_SHOWN: dict[tuple[str, str, str], tuple[tuple[int, int], str]] = {}


def ipt_show(family: str, table: str, chain: str) -> str:
    """The whole output of `iptables-nft -t TABLE -S CHAIN` (-P or -N line first); for
    iptables-nft, reused while the namespace's nftables generation is unchanged."""
    nft = not family.endswith("-legacy")  # x_tables have no generation: read every time
    return _at_generation(_SHOWN, (family, table, chain), lambda: _show(family, table, chain), generation=nft)[1]


def _show(family: str, table: str, chain: str) -> str:
    proc = subprocess.run([_tool(IPT[family][0]), "-w", "-t", table, "-S", chain], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise KernelError(f"`{IPT[family][0]} -t {table} -S {chain}` failed: {proc.stderr.strip()}")
    return proc.stdout


def ipt_shown(family: str, table: str, chain: str, output: str, generation: tuple[int, int] | None) -> None:
    """What `iptables-nft -t TABLE -S CHAIN` printed while the generation was `generation`
    (scan's listing, txn/iptexact.py's proof): what ipt_show answers while it still is."""
    if generation is not None and not family.endswith("-legacy"):
        _SHOWN[(family, table, chain)] = (generation, output)


def ipt_show_table(family: str, table: str) -> str:
    """`iptables -t TABLE -S`: every chain of one table (legacy tables are small)."""
    proc = subprocess.run([_tool(IPT[family][0]), "-w", "-t", table, "-S"], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise KernelError(f"`{IPT[family][0]} -t {table} -S` failed: {proc.stderr.strip()}")
    return proc.stdout


def legacy_tables(family: str) -> set[str]:
    """The legacy tables of `family` the kernel has in this thread's namespace."""
    try:
        with open(f"/proc/thread-self/net/{LEGACY_NAMES[family]}") as fh:
            return set(fh.read().split())
    except FileNotFoundError:  # x_tables not loaded at all: no legacy table anywhere
        return set()


def legacy_remove(family: str, table: str, chains: list[str]) -> None:
    """Through python-iptables: delete the jumps to `chains` from the built-in chains of a
    legacy table, flush and delete the chains; one commit. Only the built-in chains' rules are
    read (reading or writing a CHECKSUM rule with python-iptables creates the family's other
    legacy tables, see HACKING.md; libvirt's CHECKSUM rule sits in LIBVIRT_PRT, only flushed)."""
    if table not in legacy_tables(family):
        return
    try:
        import iptc  # type: ignore[import-untyped]
    except Exception as exc:
        raise EnvironmentProblem(f"python-iptables is unavailable: {exc}")
    tbl = (iptc.Table if family == "ipv4-legacy" else iptc.Table6)(table)
    tbl.refresh()  # python-iptables caches tables per name: bind this one to the current namespace
    tbl.autocommit = False
    try:
        for chain in tbl.chains:
            if tbl.builtin_chain(chain.name):
                for rule in list(chain.rules):
                    if rule.target is not None and rule.target.name in chains:
                        chain.delete_rule(rule)
        for name in chains:
            if tbl.is_chain(name):
                iptc.Chain(tbl, name).flush()
                tbl.delete_chain(name)
        tbl.commit()
    except iptc.IPTCError as exc:
        raise KernelError(f"python-iptables could not change legacy table {table} ({family}): {exc}")
    finally:
        tbl.refresh()
        tbl.autocommit = True


def ipt_restore(family: str, text: str) -> None:
    """`iptables-nft-restore --noflush` (ip6tables for ipv6): one kernel transaction per table."""
    proc = subprocess.run([_tool(IPT[family][1]), "-w", "--noflush"], input=text, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise KernelError(f"{IPT[family][1]} refused the change: {proc.stderr.strip()}\n--- input ---\n{text}")
