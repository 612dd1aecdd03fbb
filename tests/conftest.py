"""Shared by every test tier."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_lock_dir(tmp_path_factory):
    """migrate and rollback lock each network namespace under /run/vnetmigrate (host-wide);
    the tests, and the commands they start, use a directory of their own instead."""
    from vnetmigrate.txn.hostlock import ENV

    os.environ[ENV] = str(tmp_path_factory.mktemp("locks"))
    yield
