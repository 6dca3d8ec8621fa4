"""Consent schemas: what a worker agrees to share, with whom and until when (at most
``MAX_CONSENT_YEARS`` ahead), and the consent as the API shows it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

#: credit_data: to a partner platform; employment_platforms: to a public employment service
#: platform (an agency id as recipient), which may then pull the worker as available.
ConsentScope = Literal["credit_data", "employment_platforms"]
ConsentStatus = Literal["active", "withdrawn", "expired"]

#: Longest consent a worker may give in one go.
MAX_CONSENT_YEARS = 5


def years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: ConsentScope = Field(description="What may be shared: credit_data, employment_platforms")
    recipient: Annotated[
        str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)
    ] = Field(description="Who may receive it: a partner id, or the name of an agency")
    expires_at: AwareDatetime = Field(
        description=f"When consent lapses: in the future, at most {MAX_CONSENT_YEARS} years ahead"
    )

    @field_validator("expires_at")
    @classmethod
    def _within_limits(cls, value: dt.datetime) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        if value <= now:
            raise PydanticCustomError("not_future", "must be in the future")
        if value > years_later(now, MAX_CONSENT_YEARS):
            raise PydanticCustomError(
                "too_far",
                "must be at most {years} years from now",
                {"years": MAX_CONSENT_YEARS},
            )
        return value.astimezone(dt.UTC)


class ConsentOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    scope: str
    recipient: str
    status: ConsentStatus
    granted_at: dt.datetime
    expires_at: dt.datetime
    withdrawn_at: dt.datetime | None
