"""vnetmigrate.sha256 (what fingerprints hash with) gives hashlib's digests, and migrate's
transaction modules do not import hashlib (OpenSSL's binding, ~3 ms of start-up)."""

import hashlib
import random
import subprocess
import sys

from vnetmigrate.sha256 import sha256


def test_the_digests_are_hashlibs():
    rng = random.Random(7)
    for size in (0, 1, 55, 56, 63, 64, 65, 1000, 100_000):
        data = rng.randbytes(size)
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
        h, ref = sha256(), hashlib.sha256()
        for i in range(0, size, 37):  # fed in pieces, as a fingerprint is
            h.update(data[i:i + 37])
            ref.update(data[i:i + 37])
        assert h.hexdigest() == ref.hexdigest() and h.digest() == ref.digest()


def test_the_transactions_modules_leave_hashlib_alone():
    code = ("import sys, vnetmigrate.txn.engine, vnetmigrate.txn.snapshot, vnetmigrate.txn.iptexact, "
            "vnetmigrate.usecases.migrate; print('hashlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
