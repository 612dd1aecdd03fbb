"""SHA-256 without importing hashlib: hashlib loads OpenSSL's binding (_hashlib), ~3 ms of
every migration's start-up, for the few fingerprints a transaction hashes. CPython's own
implementation gives the same digests (hashlib falls back to it where OpenSSL is missing);
tests/unit/test_sha256.py compares the two."""

try:
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - other Python versions name it otherwise
    try:
        from _sha2 import sha256  # type: ignore[no-redef]  # Python 3.12 and later
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

__all__ = ["sha256"]
