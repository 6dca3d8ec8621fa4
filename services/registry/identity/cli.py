"""Identity commands of ``python -m services.registry``: ``create-admin`` and ``rotate-keys``.

``create-admin --phone 13800000000 [--name NAME] [--password-stdin]`` creates the first admin
account without any built-in password: it generates a strong random one and prints it once on
stdout (or reads one from stdin). It uses the registry's settings (``REGISTRY_DATABASE_URL``,
``JIASAO_VAR_DIR`` / ``JIASAO_PII_*`` for the phone encryption keys) and needs the schema to
exist already (``python -m services.registry migrate``).

``rotate-keys`` adds a new active token signing key to the key file; the running registry
signs with it within seconds, and tokens signed with the old keys keep verifying.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from services.kit.auth import SigningKeyError, SigningKeys, jwt_key_file, rotate_jwt_keys
from services.kit.db import Database
from services.kit.errors import Conflict
from services.kit.idnumbers import InvalidMobile, mask_mobile, parse_mobile
from services.kit.pii import PiiCipher, PiiKeyError, load_pii_cipher
from services.kit.settings import PlatformSettings, service_settings
from services.registry.identity.accounts import add_account, phone_index
from services.registry.identity.models import Account
from services.registry.identity.passwords import (
    MAX_LENGTH,
    generate_password,
    hash_password,
    policy_violation,
)

COMMANDS = ("create-admin", "rotate-keys")
_NAME = re.compile(r"^\S(.*\S)?$")
EXIT_USAGE = 2
EXIT_REFUSED = 1
MIGRATE_HINT = (
    "the registry database has no accounts table yet: run "
    "`python -m services.registry migrate` (or `make migrate`) first"
)


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser(
        "create-admin",
        help="create an admin account; prints its generated password once",
        description="Create an admin account. The password is generated and printed once on "
        "stdout unless --password-stdin is given. Run `migrate` first.",
    )
    create.add_argument("--phone", required=True, help="the admin's mainland mobile number")
    create.add_argument("--name", default="Administrator", help="display name (max 50)")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of generating one",
    )
    sub.add_parser(
        "rotate-keys",
        help="add a new active token signing key (old keys keep verifying)",
        description="Add a new active key to the token signing key file.",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "create-admin":
            return create_admin(args.phone, args.name, password_stdin=args.password_stdin)
        return rotate_keys()
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


def create_admin(phone_text: str, name: str, *, password_stdin: bool) -> int:
    try:
        phone = parse_mobile(phone_text)
    except InvalidMobile as exc:
        raise CommandError(f"--phone: {exc}") from exc
    if not _NAME.match(name) or len(name) > 50:
        raise CommandError("--name: 1 to 50 characters, no leading or trailing spaces")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if (problem := policy_violation(password, phone)) is not None:
            raise CommandError(f"password: {problem}")
    else:
        password = generate_password()
    assert len(password) <= MAX_LENGTH

    platform = PlatformSettings()
    settings = service_settings("registry", platform)
    try:
        cipher = load_pii_cipher(platform)
    except PiiKeyError as exc:
        raise CommandError(str(exc)) from exc
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not Path(url.database).exists():
            raise CommandError(f"{url.database} does not exist; {MIGRATE_HINT}")
    account = asyncio.run(_insert_admin(settings.database_url, cipher, phone, name, password))
    print(
        f"Created admin account {account.id} for {mask_mobile(phone)} ({name}).",
        file=sys.stderr,
    )
    if not password_stdin:
        print(
            "Its password follows on stdout. It is shown only this once and stored only as a "
            "hash: keep it safe, and change it after the first login (POST /api/v1/auth/password).",
            file=sys.stderr,
        )
        print(password, flush=True)
    return 0


async def _insert_admin(
    database_url: str, cipher: PiiCipher, phone: str, name: str, password: str
) -> Account:
    db = Database(database_url)
    try:
        try:
            async with db.read_engine.connect() as connection:
                has_table = await connection.run_sync(
                    lambda sync: inspect(sync).has_table("accounts")
                )
        except Exception as exc:  # connection refused, bad credentials, ...
            raise CommandError(f"cannot reach the registry database: {exc}") from exc
        if not has_table:
            raise CommandError(MIGRATE_HINT)
        index = phone_index(cipher, phone)
        async with db.read() as session:
            existing = await session.scalar(select(Account).where(Account.phone_index == index))
        if existing is not None:
            what = "an admin" if existing.role == "admin" else f"a {existing.role} account"
            raise CommandError(
                f"{mask_mobile(phone)} already belongs to {what} ({existing.id}); nothing done",
                EXIT_REFUSED,
            )
        password_hash = hash_password(password)
        try:
            async with db.write() as session:
                return await add_account(
                    session,
                    cipher,
                    phone=phone,
                    password_hash=password_hash,
                    role="admin",
                    party_id=None,
                    display_name=name,
                    created_by="cli",
                )
        except Conflict as exc:
            raise CommandError(
                f"{mask_mobile(phone)} already has an account", EXIT_REFUSED
            ) from exc
    finally:
        await db.dispose()


def rotate_keys() -> int:
    path = jwt_key_file(PlatformSettings())
    try:
        SigningKeys.load(path)  # refuse to touch a missing or malformed file
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from exc
    kid = rotate_jwt_keys(path)
    print(
        f"New active signing key {kid} in {path}. The registry signs with it within seconds; "
        "tokens signed with the older keys keep verifying until they expire.",
        file=sys.stderr,
    )
    print(kid)
    return 0
