"""Registry tables. ID-card and phone numbers are stored encrypted with a blind index."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, Integer, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date)
    #: AEAD ciphertext token (key id inside); the plaintext never reaches the database.
    id_card_encrypted: Mapped[str] = mapped_column(String(200))
    #: Keyed HMAC of the normalised number: exact lookup and uniqueness without plaintext.
    id_card_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_card_masked: Mapped[str] = mapped_column(String(18))
    phone_encrypted: Mapped[str] = mapped_column(String(200))
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(11))
    county: Mapped[str] = mapped_column(String(20), index=True)
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="registered", index=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
