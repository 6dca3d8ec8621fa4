"""Passwords: argon2id hashes, the password policy, and generated first-admin passwords.

Hashing is deliberately slow and memory-hard (argon2-cffi's RFC 9106 low-memory profile:
64 MiB, 3 passes), so it runs in a worker thread and at most ``concurrency`` hashes run at once:
a burst of logins then queues instead of exhausting memory or blocking the event loop.
Passwords are NFKC-normalised first, so one typed on a full-width IME matches the same one
typed on a plain keyboard.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool

from services.kit.idnumbers import InvalidMobile, parse_mobile

MIN_LENGTH = 10
MAX_LENGTH = 128
#: Longest password a login accepts (anything longer cannot be a valid password anyway).
MAX_LOGIN_LENGTH = 1024


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def policy_violation(password: str, phone: str | None = None) -> str | None:
    """Why ``password`` is not acceptable as a new password, or None when it is."""
    password = _normalise(password)
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if password.isdigit():
        return "must not be all digits"
    if len(set(password)) == 1:
        return "must not be one character repeated"
    if phone is not None:
        try:
            same = parse_mobile(password) == phone
        except InvalidMobile:
            same = False
        if same or phone in password:
            return "must not be or contain your mobile number"
    return None


def generate_password() -> str:
    """A random 20-character password (~119 bits) from letters and digits, policy-compliant."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(20))
        if (
            any(c.isdigit() for c in candidate)
            and any(c.isalpha() for c in candidate)
            and policy_violation(candidate) is None
        ):
            return candidate


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Synchronous hash (the CLI); request code uses :class:`Passwords`."""
    return _hasher().hash(_normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, _normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


class Passwords:
    """Hashing and verification off the event loop, with bounded concurrency."""

    def __init__(self, concurrency: int = 4) -> None:
        self._slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await run_in_threadpool(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Checks ``password``; with no hash (unknown phone or client) spends the same time
        verifying against a dummy hash and returns False, so timing does not tell."""
        async with self._slots:
            if password_hash is None:
                await run_in_threadpool(verify_password, _dummy_hash(), password)
                return False
            return await run_in_threadpool(verify_password, password_hash, password)

    async def warm_up(self) -> None:
        """Compute the dummy hash before the first login needs it."""
        await run_in_threadpool(_dummy_hash)
