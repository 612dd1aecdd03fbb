"""The sdist and the Fedora RPM: built for real from a copy of the tree, the RPM with
rpmbuild from the sdist and checked with rpmlint (~20 s together). The Debian package is
built and installed in the peer tier (tests/peer/test_deb_package.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.packaging_tree import OS_ENV, REPO, copy_source
from vnetmigrate import __version__

SPEC = REPO / "packaging/rpm/vnetmigrate.spec"
RPMLINT_CONFIG = REPO / "packaging/rpm/rpmlint.toml"


def _run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=kw.pop("env", OS_ENV),
                          stdin=subprocess.DEVNULL, timeout=600, **kw)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    """The sdist, built the way a packager builds it: the OS Python's `build`, no isolation."""
    if _run(["python3", "-c", "import build, setuptools"]).returncode != 0:
        pytest.skip("the OS Python lacks `build` (./bootstrap test installs python3-build)")
    work = tmp_path_factory.mktemp("sdist")
    src = copy_source(work / "src")
    proc = _run(["python3", "-m", "build", "--sdist", "--no-isolation", "--outdir", str(work / "dist"), str(src)])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (built,) = (work / "dist").glob("vnetmigrate-*.tar.gz")
    return built


def test_the_sdist_carries_man_page_tests_docs_completions_and_packaging(sdist):
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    top = f"vnetmigrate-{__version__}"
    assert sdist.name == f"{top}.tar.gz"
    for path in ("LICENSE", "CHANGELOG.md", "README.md", "HACKING.md", "man/vnetmigrate.8",
                 "completions/vnetmigrate.bash", "completions/_vnetmigrate", "completions/vnetmigrate.fish",
                 "docs/README.md", "tests/conftest.py", "tests/unit/test_packages.py", "debian/control",
                 "packaging/rpm/vnetmigrate.spec", "checks/registry.py", "reports/schemas/scan-v1.schema.json",
                 "ansible/galaxy.yml", "ansible/playbooks/careful_migration.yml"):
        assert path in names, path
    tracked_data = {p.relative_to(REPO).as_posix() for p in (REPO / "tests/data").rglob("*") if p.is_file()}
    assert tracked_data <= names, sorted(tracked_data - names)[:5]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_package_versions_match_the_project():
    spec = SPEC.read_text()
    assert re.search(r"^Version:\s+(\S+)$", spec, re.M).group(1) == __version__
    assert re.search(r"^%changelog\n\* .* - (\S+)-\d+$", spec, re.M).group(1) == __version__
    changelog = (REPO / "debian/changelog").read_text().splitlines()[0]
    assert changelog.startswith(f"vnetmigrate ({__version__}) ")


def test_the_rpm_builds_from_the_sdist_and_is_rpmlint_clean(sdist, tmp_path):
    for tool in ("rpmbuild", "rpmlint"):
        if shutil.which(tool, path=OS_ENV["PATH"]) is None:
            pytest.skip(f"{tool} is missing (./bootstrap test installs rpm and rpmlint)")
    defines = {"_topdir": str(tmp_path / "rpmbuild"), "_sourcedir": str(sdist.parent)}
    env = OS_ENV
    sitelib = _run(["rpm", "--eval", "%{?python3_sitelib}"]).stdout.strip()
    if not sitelib:
        # No python-rpm-macros (Debian's rpm): define the two the spec uses for the OS Python,
        # and have pip install in Debian's system layout (else it picks /usr/local). Debian's
        # brp-compress uses `read -d`, which its /bin/sh (dash) lacks: run it with bash.
        sitelib = _run(["python3", "-c", "import sysconfig; print(sysconfig.get_path('purelib', 'deb_system'))"]
                       ).stdout.strip()
        defines |= {"__python3": "/usr/bin/python3", "python3_sitelib": sitelib,
                    "__brp_compress": "/bin/bash /usr/lib/rpm/brp-compress %{_prefix}"}
        env = {**OS_ENV, "DEB_PYTHON_INSTALL_LAYOUT": "deb_system"}
    argv = ["rpmbuild", "-bb", "--nodeps"]     # --nodeps: the build dependencies are Fedora's names
    for name, value in defines.items():
        argv += ["--define", f"{name} {value}"]
    proc = _run([*argv, str(SPEC)], env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (rpm,) = (tmp_path / "rpmbuild/RPMS/noarch").glob(f"vnetmigrate-{__version__}-1*.noarch.rpm")

    files = set(_run(["rpm", "-qlp", str(rpm)]).stdout.split())
    for path in ("/usr/bin/vnetmigrate", "/usr/share/man/man8/vnetmigrate.8.gz",
                 "/usr/share/bash-completion/completions/vnetmigrate", "/usr/share/zsh/site-functions/_vnetmigrate",
                 "/usr/share/fish/vendor_completions.d/vnetmigrate.fish",
                 f"/usr/share/licenses/vnetmigrate-{__version__}/LICENSE"):
        assert path in files, path
    assert f"{sitelib}/vnetmigrate/checks/registry.py" in files
    # The libvirt hook `vnetmigrate repair` installs comes from the package, executable.
    modes = _run(["rpm", "-qp", "--queryformat", "[%{FILEMODES:perms} %{FILENAMES}\\n]", str(rpm)]).stdout
    assert f"-rwxr-xr-x {sitelib}/vnetmigrate/data/libvirt-network-hook" in modes.splitlines(), modes
    # the pre-upgrade gate's hook templates (`vnetmigrate gate install --dnf` writes them out)
    assert {f"{sitelib}/vnetmigrate/gate/hooks/{name}" for name in ("dnf5.actions", "dnf4_plugin.py")} <= files
    assert not [f for f in files if "/tests/" in f or "sandbox" in f]
    requires = _run(["rpm", "-qpR", str(rpm)]).stdout.splitlines()
    assert "python3-typer >= 0.15" in requires and "python3-nftables" in requires, requires

    lint = _run(["rpmlint", "-c", str(RPMLINT_CONFIG), str(SPEC), str(rpm)])
    assert lint.returncode == 0 and " 0 errors, 0 warnings" in lint.stdout, lint.stdout + lint.stderr
