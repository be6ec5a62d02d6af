"""The one password hasher of jamii: argon2id with its parameters stated here.

Parameters (argon2-cffi `PasswordHasher`): argon2id, time_cost=2, memory_cost=19 MiB
(19,456 KiB), parallelism=1, 32-byte hash, 16-byte salt. This is the first of OWASP's
equivalent argon2id configurations (Password Storage Cheat Sheet: "m=19456 (19 MiB), t=2,
p=1"). RFC 9106's second recommended option (t=3, 64 MiB, p=4, argon2-cffi's default) was
what jamii used before: about 0.12-0.3 s and 64 MiB and four threads for every attempt, which
let a stranger tie up a small two-core server by typing passwords. At these parameters one
verify takes about 25 ms and 19 MiB on one core, and the sign-in throttle
(`jamii.core.store._signin`) bounds how many a client or a login can ask for.

A hash made with other parameters (older accounts) still verifies; `needs_rehash` says so,
and a successful sign-in stores a fresh hash at these parameters.

Invite codes are not passwords: they are random 60-bit codes, stored as sha256.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

HASHER = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                        parallelism=PARALLELISM, hash_len=HASH_LEN, salt_len=SALT_LEN,
                        type=Type.ID)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random secret nobody knows, made at the same parameters as real ones."""
    return HASHER.hash(secrets.token_urlsafe(24))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches `stored_hash`.

    With no stored hash (an unknown login, or a person without a password) the password is
    checked against a dummy hash of the same parameters, so every answer costs one argon2
    verify and a stranger cannot tell from the time taken which logins exist."""
    try:
        return HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
