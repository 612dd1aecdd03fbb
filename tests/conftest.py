"""For every tier: a check (or derivation) that reads a fact it does not declare fails the test
that ran it (vnetmigrate.checks.registry.STRICT_ENV), also in the CLI processes tests start;
and migrate/rollback lock namespaces in a temporary directory, never under this machine's /run."""

import os

import pytest

os.environ["VNETMIGRATE_STRICT_FACTS"] = "1"


@pytest.fixture(autouse=True, scope="session")
def private_lock_dir(tmp_path_factory):
    """migrate and rollback lock each network namespace under /run/vnetmigrate (host-wide);
    the tests, and the commands they start, use a directory of their own instead."""
    from vnetmigrate.txn.hostlock import ENV

    os.environ[ENV] = str(tmp_path_factory.mktemp("locks"))
    yield
