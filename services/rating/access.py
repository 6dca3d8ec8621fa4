"""Who may rate whom and who may read which scores, from the verified caller (DESIGN.md §6).

The rater is the calling account (``Principal.subject``) and the source follows from its role
and the engagement; neither ever comes from the request body, so nobody can rate as someone
else or as a source they are not:

==================  ========  ===============================================================
caller              source    may rate
==================  ========  ===============================================================
with engagement_id  employer  the engagement's worker, if the caller's account posted its job
                              and it finished (employer or company accounts; service.py), or
                              if the caller is the employer a partner's job named
employer            --        nobody without a finished engagement (403)
company             company   only the workers their company currently employs
worker              self      only themself
==================  ========  ===============================================================

Reads of individual scores (with rater ids and comments) are for the programme's staff, the
rater, the rated worker (without the rater ids of others) and the worker's current company.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.principal import Principal, forbidden
from services.rating.models import Score, WorkerEmployment
from services.rating.scoring import Source

#: The source each rating role rates as without an engagement; every other role may not.
SOURCE_OF_ROLE: dict[str, Source] = {"company": "company", "worker": "self"}
#: Roles whose accounts post jobs, and so may review the engagements of their jobs.
REVIEWING_ROLES = ("employer", "company")


@dataclass(frozen=True)
class Rater:
    account_id: uuid.UUID
    source: Source
    party_id: uuid.UUID | None
    #: The caller's role (an employer may review engagements of jobs naming its party).
    role: str = ""


def rater_of(principal: Principal, *, with_engagement: bool) -> Rater:
    """The rater's account, source and party; 403 for a caller who may not rate so."""
    if with_engagement:
        if principal.role not in REVIEWING_ROLES:
            raise forbidden(f"Role {principal.role} does not review engagements")
        source: Source = "employer"
    elif principal.role == "employer":
        raise forbidden(
            "An employer reviews a worker only for a finished engagement: give its engagement_id"
        )
    elif (role_source := SOURCE_OF_ROLE.get(principal.role)) is None:
        raise forbidden(f"Role {principal.role} may not rate workers")
    else:
        source = role_source
    try:
        account = uuid.UUID(principal.subject)
    except ValueError:
        raise forbidden("Only a person's account may rate workers") from None
    return Rater(account, source, principal.party_id, principal.role)


async def current_company(session: AsyncSession, worker_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(WorkerEmployment.company_id).where(WorkerEmployment.worker_id == worker_id)
    )


async def employs(session: AsyncSession, principal: Principal, worker_id: uuid.UUID) -> bool:
    """Whether the caller is staff of the worker's current company."""
    if principal.role != "company" or principal.party_id is None:
        return False
    return await current_company(session, worker_id) == principal.party_id


async def check_may_rate(session: AsyncSession, principal: Principal, worker_id: uuid.UUID) -> None:
    """403 unless the caller may rate this worker at all.

    Checked before the worker's existence, and answered the same for an unknown worker: a
    refusal by rule is 403 (it tells the caller why), and since it does not depend on whether
    the worker exists, it reveals nothing about other companies' workers.
    """
    if principal.role == "worker" and not principal.acts_for(worker_id):
        raise forbidden("A worker may rate only themself")
    if principal.role == "company" and not await employs(session, principal, worker_id):
        raise forbidden("Company staff may rate only workers their company currently employs")


def _account_id(principal: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        return None


async def may_read_score(session: AsyncSession, principal: Principal, score: Score) -> bool:
    if principal.is_privileged or _account_id(principal) == score.rater_id:
        return True
    if principal.role == "worker":
        return principal.acts_for(score.worker_id)
    return await employs(session, principal, score.worker_id)


def visible_scores(principal: Principal) -> ColumnElement[bool] | None:
    """The condition on :class:`Score` rows the caller may list; None means every row."""
    if principal.is_privileged:
        return None
    own = Score.rater_id == account if (account := _account_id(principal)) else false()
    if principal.role == "worker" and principal.party_id is not None:
        return or_(own, Score.worker_id == principal.party_id)
    if principal.role == "company" and principal.party_id is not None:
        employees = select(WorkerEmployment.worker_id).where(
            WorkerEmployment.company_id == principal.party_id
        )
        return or_(own, Score.worker_id.in_(employees))
    return own


def hides_rater(principal: Principal, score: Score) -> bool:
    """The rated worker sees what others scored and wrote, but not who they were.

    Rater ids are account ids of the employers and company staff the worker deals with; the
    worker knowing them invites pressure on a low score. Their own self-score stays theirs.
    """
    return (
        principal.role == "worker"
        and principal.acts_for(score.worker_id)
        and _account_id(principal) != score.rater_id
    )


async def may_read_level(session: AsyncSession, principal: Principal, worker_id: uuid.UUID) -> bool:
    """The yearly stars: staff, employers and partners (by policy), the worker, their company."""
    if principal.role == "worker":
        return principal.acts_for(worker_id)
    if principal.role == "company":
        return await employs(session, principal, worker_id)
    # Partners reach here only with "candidates:read" (the route's policy); deny by default.
    return principal.is_privileged or principal.role in ("employer", "partner")
