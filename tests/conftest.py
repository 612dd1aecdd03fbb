"""For every tier: a check (or derivation) that reads a fact it does not declare fails the test
that ran it (vnetmigrate.checks.registry.STRICT_ENV), also in the CLI processes tests start."""

import os

os.environ["VNETMIGRATE_STRICT_FACTS"] = "1"
