"""The card's programme policy as versioned data: who qualifies, for how long, what is insured.

Version 1 is seeded by the migration; officers add versions through the API. Every card and
insurance policy records the version that produced it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.credentials.models import CardPolicy
from services.kit.errors import Problem
from services.kit.memo import memoised
from services.kit.types import utcnow


class InsuranceRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    insurer: str = Field(min_length=1, max_length=200, examples=["中国人民财产保险肇庆市分公司"])
    years: int = Field(strict=True, ge=1, le=2, description="Free cover period in years (1 or 2)")
    premium_cents: int = Field(
        strict=True, ge=0, le=10_000_000, description="Premium the programme pays"
    )


class CardRules(BaseModel):
    """Eligibility of the 居家上门服务证 and the cover that comes with it."""

    model_config = ConfigDict(extra="forbid")

    require_identity_verified: StrictBool = True
    require_health_check: StrictBool = True
    require_no_criminal_record: StrictBool = True
    min_training_certificates: int = Field(default=1, strict=True, ge=0, le=10)
    #: Without a company an officer's exception (with a reason) is needed.
    require_company: StrictBool = True
    card_validity_years: int = Field(default=2, strict=True, ge=1, le=5)
    #: A check or the insurance ending within this many days turns the card yellow.
    warning_days: int = Field(default=30, strict=True, ge=1, le=180)
    insurance: InsuranceRules


DEFAULT_RULES = CardRules(
    insurance=InsuranceRules(
        insurer="中国人民财产保险股份有限公司肇庆市分公司", years=1, premium_cents=5000
    )
)


async def current(session: AsyncSession) -> tuple[int, CardRules]:
    return await memoised(session, "credit.card_policy", lambda: _current(session))


#: The newest card policy's version and rules.
NEWEST = select(CardPolicy.version, CardPolicy.rules).order_by(CardPolicy.version.desc()).limit(1)


def rules_of(row: Any | None) -> tuple[int, CardRules]:
    """(version, rules) of a row of :data:`NEWEST` (None: 503, no policy is defined)."""
    if row is None:
        raise Problem(503, "no-card-policy", "no card policy", "No card policy has been defined")
    return row.version, CardRules.model_validate(row.rules)


async def _current(session: AsyncSession) -> tuple[int, CardRules]:
    return rules_of((await session.execute(NEWEST)).first())


async def get(session: AsyncSession, version: int) -> CardRules:
    row = await session.get(CardPolicy, version)
    if row is None:
        raise Problem(404, "not-found", "card policy not found", f"No card policy {version}")
    return CardRules.model_validate(row.rules)


async def add(session: AsyncSession, rules: CardRules, note: str, created_by: str) -> CardPolicy:
    latest = await session.scalar(select(func.max(CardPolicy.version)))
    row = CardPolicy(
        version=(latest or 0) + 1,
        rules=rules.model_dump(mode="json"),
        note=note,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row
