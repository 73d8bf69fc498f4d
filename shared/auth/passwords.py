"""Password hashing with bcrypt, pre-hashed so no input is ever truncated.

bcrypt reads at most 72 bytes (bcrypt 5 raises on more). Passwords may be 128 characters,
up to 512 bytes in UTF-8, so every password is first reduced to a fixed 44-byte string:
base64(HMAC-SHA256(key="pmi.password.v1", password)). The HMAC key is a fixed domain label,
not a secret: it only keeps these digests from matching plain SHA-256 hashes leaked
elsewhere ("password shucking"). The choice is recorded in docs/auth.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading

import bcrypt

_PREHASH_LABEL = b"pmi.password.v1"

_dummy_lock = threading.Lock()
_dummy_hashes: dict[int, bytes] = {}


def _prehash(password: str) -> bytes:
    digest = hmac.new(_PREHASH_LABEL, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def hash_password(password: str, cost: int) -> str:
    """A bcrypt hash (``$2b$<cost>$...``) of the pre-hashed password."""
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=cost)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True if ``password`` matches; never raises on odd input (wrong hash → False)."""
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


def burn_equal_time(password: str, cost: int) -> None:
    """Check ``password`` against a dummy hash of the same cost, discarding the answer.

    Called when the email is unknown, so that path takes as long as a wrong password and
    response timing does not reveal which accounts exist.
    """
    with _dummy_lock:
        dummy = _dummy_hashes.get(cost)
        if dummy is None:
            dummy = bcrypt.hashpw(b"pmi-dummy-password", bcrypt.gensalt(rounds=cost))
            _dummy_hashes[cost] = dummy
    bcrypt.checkpw(_prehash(password), dummy)


def needs_rehash(password_hash: str, cost: int) -> bool:
    """True when the stored hash used a different cost than the configured one."""
    try:
        return int(password_hash.split("$")[2]) != cost
    except (IndexError, ValueError):
        return True
