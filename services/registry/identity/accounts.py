"""Account rows: the phone number's blind index and encryption context, and adding an account.

Used in the caller's transaction by both the running registry (:mod:`.service`) and the
``create-admin`` command (:mod:`.cli`), so an account is stored the same way by either.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict
from services.kit.idnumbers import mask_mobile
from services.kit.ids import new_id
from services.kit.pii import PiiCipher
from services.kit.types import utcnow
from services.registry.identity.models import Account

#: AEAD associated data and blind-index context of the account phone column.
PHONE_CONTEXT = "registry.account.phone"


def phone_index(cipher: PiiCipher, phone: str) -> str:
    return cipher.blind_index(phone, context=PHONE_CONTEXT)


async def add_account(
    session: AsyncSession,
    cipher: PiiCipher,
    *,
    phone: str,
    password_hash: str,
    role: str,
    party_id: uuid.UUID | None,
    display_name: str,
    created_by: str | None,
) -> Account:
    """Insert an account (``phone`` already normalised by ``parse_mobile``); 409 if taken."""
    index = phone_index(cipher, phone)
    if await session.scalar(select(Account.id).where(Account.phone_index == index)):
        raise Conflict(
            "An account with this mobile number already exists", slug="duplicate-account"
        )
    now = utcnow()
    account = Account(
        id=new_id(),
        phone_index=index,
        phone_encrypted=cipher.encrypt(phone, context=PHONE_CONTEXT),
        phone_masked=mask_mobile(phone),
        password_hash=password_hash,
        role=role,
        party_id=party_id,
        display_name=display_name,
        status="active",
        failed_attempts=0,
        locked_until=None,
        password_changed_at=now,
        last_login_at=None,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    return account
