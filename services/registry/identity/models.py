"""Identity tables: accounts, refresh tokens, login throttles, partner OAuth clients.

Phone numbers are stored as PII tokens (AEAD) plus a keyed blind index, never in plaintext;
passwords and client secrets as argon2id hashes; refresh tokens as SHA-256 hashes only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.registry.base import Base

#: Roles people log in with; partner platforms use OAuth clients instead of accounts.
ACCOUNT_ROLES = ("worker", "employer", "company", "institution", "officer", "admin")
#: Roles that act for a party (worker, employer, company, institution) and must name it.
PARTY_ROLES = ("worker", "employer", "company", "institution")
PROGRAMME_ROLES = ("officer", "admin")

_quoted = ", ".join(f"'{role}'" for role in ACCOUNT_ROLES)
_programme = ", ".join(f"'{role}'" for role in PROGRAMME_ROLES)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"role IN ({_quoted})", name="ck_accounts_role"),
        CheckConstraint(
            f"(role IN ({_programme}) AND party_id IS NULL) "
            f"OR (role NOT IN ({_programme}) AND party_id IS NOT NULL)",
            name="ck_accounts_party",
        ),
        CheckConstraint("status IN ('active', 'disabled')", name="ck_accounts_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Keyed HMAC of the normalised mobile number: login lookup and uniqueness.
    phone_index: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(String(200))
    phone_masked: Mapped[str] = mapped_column(String(11))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(12), index=True)
    party_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    display_name: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default="active")
    #: Login attempts since the last success (counted before the password is checked).
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Who created the account: the creator's account id, or "cli" for create-admin.
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RefreshToken(Base):
    """One opaque refresh token. Tokens of one login form a family: each refresh marks the
    presented token used and issues its successor; presenting a used token again means it was
    copied, so the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    #: Hex SHA-256 of the token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: logout, reuse, password_change, disabled
    revoked_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class LoginThrottle(Base):
    """Failed-login counters for phone numbers that have no account, so that locking out an
    unknown number looks exactly like locking out a real one (no account enumeration)."""

    __tablename__ = "login_throttles"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


#: Every OAuth client id starts with this, a partner's and an agency's alike.
CLIENT_ID_PREFIX = "jzp_"


class OAuthClient(Base):
    """A partner platform's OAuth2 client (client-credentials grant)."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    #: The party the client acts for: a partner platform, or an agency when ``party_kind`` is
    #: ``agency`` (the parties table may not know it yet).
    partner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    #: partner (scopes below) or agency (scopes from its data-sharing agreements in force).
    party_kind: Mapped[str] = mapped_column(String(10), default="partner", server_default="partner")
    name: Mapped[str] = mapped_column(String(100))
    #: Scopes the client may request (a subset of identity.scopes.PARTNER_SCOPES).
    scopes: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
