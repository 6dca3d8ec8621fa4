"""Brand API shapes. Human text is given in up to three languages: zh-CN is required,
zh-HK (traditional characters) and en are optional; the pages pick one by Accept-Language."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.common import County, Track

CaseKind = Literal["case", "model_worker"]
CaseSource = Literal["open_call", "company_recommendation", "competition"]
CaseState = Literal["draft", "published", "withdrawn"]
NominationStatus = Literal["pending", "accepted", "rejected"]
#: The eight counties (and districts) of Zhaoqing: "other" has no sub-brand.
BrandCounty = Literal[
    "duanzhou", "dinghu", "gaoyao", "sihui", "guangning", "huaiji", "fengkai", "deqing"
]
LANGUAGES = ("zh-CN", "zh-HK", "en")


def _text(max_length: int) -> type[BaseModel]:
    """A model of one text in the three languages, each 1..``max_length`` characters."""

    class Text(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        zh_cn: str = Field(alias="zh-CN", min_length=1, max_length=max_length)
        zh_hk: str | None = Field(None, alias="zh-HK", min_length=1, max_length=max_length)
        en: str | None = Field(None, min_length=1, max_length=max_length)

        @field_validator("zh_cn", "zh_hk", "en")
        @classmethod
        def _not_blank(cls, value: str | None) -> str | None:
            if value is not None and not value.strip():
                raise ValueError("must not be blank")
            return value

        def stored(self) -> dict[str, str]:
            return self.model_dump(by_alias=True, exclude_none=True)

    return Text


class ShortText(_text(200)):  # type: ignore[misc]
    """A title or name: zh-CN required, zh-HK and en optional, 1-200 characters each."""


class LongText(_text(5000)):  # type: ignore[misc]
    """A body of text: zh-CN required, zh-HK and en optional, 1-5000 characters each."""


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CaseKind
    title: ShortText
    body: LongText
    county: County
    source: CaseSource
    worker_id: uuid.UUID | None = Field(None, description="The worker the case is about")
    company_id: uuid.UUID | None = Field(None, description="The company the case is about")


class CaseOut(BaseModel):
    """A case. ``worker_id``, ``company_id`` and the history are shown to officers only."""

    id: uuid.UUID
    kind: CaseKind
    state: CaseState
    title: ShortText
    body: LongText
    county: County
    source: CaseSource
    has_photo: bool
    photo_url: str | None
    published_at: datetime | None
    worker_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    nomination_id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    withdrawn_at: datetime | None = None


class NominationCreate(BaseModel):
    """A nomination. The nominator (and so the source: a company's recommendation or the open
    call) comes from the token, never the body. A company nominates its own workers only."""

    model_config = ConfigDict(extra="forbid")

    kind: CaseKind
    title: ShortText
    body: LongText = Field(description="Why: the deeds the nominee is proposed for")
    county: County
    worker_id: uuid.UUID | None = Field(None, description="The nominated worker, if a person")
    company_id: uuid.UUID | None = Field(None, description="The nominated company, if any")

    @model_validator(mode="after")
    def _model_worker_names_worker(self) -> NominationCreate:
        if self.kind == "model_worker" and self.worker_id is None:
            raise ValueError("a model_worker nomination names the worker (worker_id)")
        return self


class NominationOut(BaseModel):
    id: uuid.UUID
    kind: CaseKind
    source: CaseSource
    title: ShortText
    body: LongText
    county: County
    worker_id: uuid.UUID | None
    company_id: uuid.UUID | None
    nominated_by: str
    nominator_role: str
    status: NominationStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    case_id: uuid.UUID | None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class SkillMasterOut(BaseModel):
    """One entry of the public 技术能手 roll: a masked name, never the worker's id."""

    name: str | None = Field(description="Masked name (first character), null if not yet known")
    competition: str
    track: Track
    rank: int
    year: int
    county: County | None


class TopCompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: Annotated[int, Field(strict=True, ge=1, le=10)]
    name: ShortText
    county: County
    company_id: uuid.UUID | None = None
    citation: LongText | None = None


class TopCompaniesPut(BaseModel):
    """The ten companies of a campaign year, ranks 1 to 10 once each."""

    model_config = ConfigDict(extra="forbid")

    companies: list[TopCompanyIn] = Field(min_length=10, max_length=10)

    @model_validator(mode="after")
    def _ranks_once(self) -> TopCompaniesPut:
        if sorted(c.rank for c in self.companies) != list(range(1, 11)):
            raise ValueError("ranks must be 1 to 10, each once")
        ids = [c.company_id for c in self.companies if c.company_id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("a company may appear only once")
        return self


class TopCompanyOut(BaseModel):
    year: int
    rank: int
    name: ShortText
    county: County
    company_id: uuid.UUID | None
    citation: LongText | None


class CountyBrandPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    slogan: ShortText
    description: LongText


class CountyBrandOut(BaseModel):
    county: BrandCounty
    name: ShortText
    slogan: ShortText
    description: LongText
    updated_at: datetime
