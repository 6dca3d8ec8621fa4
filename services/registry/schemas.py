"""Registry API shapes. Personal numbers are validated on input and masked on output."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.common import County, Track
from services.kit.idnumbers import InvalidIdNumber, InvalidMobile, parse_id_card, parse_mobile

PersonName = Annotated[
    str, Field(min_length=1, max_length=50, pattern=r"^\S(.*\S)?$", examples=["李秀英"])
]


class WorkerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    id_card_number: str = Field(
        description="18-character resident ID number (GB 11643)", examples=["11010519491231002X"]
    )
    phone: str = Field(description="Mainland mobile number", examples=["13812345678"])
    county: County
    tracks: list[Track] = Field(default_factory=list, max_length=4)
    languages: list[Annotated[str, Field(min_length=1, max_length=30)]] = Field(
        default_factory=list, max_length=10
    )

    @field_validator("id_card_number")
    @classmethod
    def _valid_id_card(cls, value: str) -> str:
        try:
            return parse_id_card(value).number
        except InvalidIdNumber as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        try:
            return parse_mobile(value)
        except InvalidMobile as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("tracks", "languages")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an entry")
        return value


class WorkerOut(BaseModel):
    id: uuid.UUID
    name: str
    gender: Literal["male", "female"]
    birth_date: date
    id_card_number: str = Field(description="Masked unless the caller may see it in full")
    phone: str = Field(description="Masked unless the caller may see it in full")
    county: County
    tracks: list[Track]
    languages: list[str]
    status: str
    company_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
