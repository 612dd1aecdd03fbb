"""What `vnetmigrate scan` does once its options are parsed, without typer: both cli/scan.py (the
typer command) and cli/fast.py (scan's fast path) call `scan` here, under cli/policy.guarded."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.policy import Format, State, emit, require_root


def scan(netns: str | None = None, root: Path = Path("/"), from_dir: Path | None = None,
         save_evidence: Path | None = None, state_dir: Path | None = None, target_version: str | None = None,
         deadline: float = 120.0, format: Format = Format.text, output: Path | None = None) -> int:
    from vnetmigrate.gcpause import paused

    with paused():  # the model of a big host is millions of objects that live until the end
        return _scan(netns, root, from_dir, save_evidence, state_dir, target_version, deadline, format, output)


def _scan(netns, root: Path, from_dir: Path | None, save_evidence: Path | None, state_dir: Path | None,
          target_version: str | None, deadline: float, format, output) -> int:
    from vnetmigrate.errors import InputError

    # The analysis' imports (~40 ms) wait until the host is being read: a slow listing is time
    # enough for them (_prepare_analysis).
    target = None
    if target_version is not None:
        from vnetmigrate.libvirt.versions import OLDEST, parse_release

        target = parse_release(target_version)
        if target < OLDEST:
            raise InputError(f"--target-version {target_version}: releases from {OLDEST[0]}.{OLDEST[1]} on are modelled")
    if deadline != deadline or deadline == float("inf"):  # NaN passes click's min=1
        raise InputError(f"--deadline {deadline}: not a number of seconds")
    if from_dir is not None:
        if netns or save_evidence or state_dir or root != Path("/") or deadline != 120.0:
            raise InputError("--from analyses saved evidence: it cannot be combined with --netns, --root, --state-dir, "
                             "--save-evidence or --deadline")
        from vnetmigrate.bundlefile import load_evidence  # tarfile and the compressors: --from only

        ev = load_evidence(from_dir)
        ev.meta["source"] = "saved"
    else:
        require_root("scan", hint="run it with sudo, or analyse saved evidence with --from DIR")
        if not root.is_dir():
            raise InputError(f"--root {root}: not a directory")
        ev = _collect(str(root), netns, str(state_dir) if state_dir else None, deadline)
    from vnetmigrate.cli.progress import progress
    from vnetmigrate.reports.envelope import scan_envelope
    from vnetmigrate.scan import analyse

    with progress("checking the host (evaluating guests' packets)", State.verbosity):
        result = analyse(ev, target_version=target)
    if save_evidence is not None:  # after the analysis: it may read anonymous sets (facts/nftsets.py)
        try:
            ev.save(save_evidence)
        except OSError as exc:
            raise InputError(f"cannot save evidence to {save_evidence}: {exc.strerror or exc}")
    emit(scan_envelope(result), format.value, output)
    return int(result.exit_code)


def _collect(root: str, netns: str | None, state_dir: str | None, deadline: float):
    from vnetmigrate.cli.progress import progress
    from vnetmigrate.collect import COLLECTORS, collect_live

    units = [name for name, _ in COLLECTORS]
    with progress("reading the host", State.verbosity) as p:
        return collect_live(root=root, netns=netns, state_dir=state_dir, deadline=deadline,
                            progress=lambda unit: p.reading(unit, units.index(unit) + 1, len(units)),
                            while_waiting=[_prepare_analysis])


def _prepare_analysis() -> None:
    """The analysis' and the report's imports (~60 ms), done while a slow listing runs."""
    from vnetmigrate.reports.envelope import scan_envelope  # noqa: F401
    from vnetmigrate.scan import prepare

    prepare()
