"""The match-score policy: versioned programme data (DESIGN §7), and the score it defines.

The weights live in ``matching_policies`` (version 1 is written by the migration that created
the table); the newest version rules and every match result names the version it used. The
score has a job-independent part (stars, credit level, certificates, experience), precomputed
per track in ``candidate_track_ranks``, and a job-dependent part (place, language, pay) whose
maximum bounds how far a row can climb above its precomputed position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Problem
from services.kit.memo import memoised
from services.matching.models import Candidate, CandidateCertificate, MatchingPolicy

#: Points of the red list in versions stored before the factor existed (issue 7: a red-listed
#: worker ranks first): above the most every other factor together gives under version 1.
RED_LIST_POINTS = 200.0

#: The match reason of a red-listed worker (the guarantee mark).
RED_LIST_FACTOR = "red_list"


class Weights(BaseModel):
    """Points of each factor; the match score is their sum (higher is better)."""

    stars_per_star: float = Field(ge=0, description="Points per star of the latest rating")
    credit_level: dict[str, float] = Field(description="Points per credit level")
    credit_unknown: float = Field(ge=0, description="Points when no credit level is known")
    certificate_in_track: float = Field(ge=0, description="A valid certificate in the job's track")
    certificate_other: float = Field(ge=0, description="Per other valid certificate")
    certificate_other_max: int = Field(ge=0, description="Other certificates counted at most")
    experience_per_engagement: float = Field(ge=0, description="Per finished engagement")
    experience_max: int = Field(ge=0, description="Finished engagements counted at most")
    same_county: float = Field(ge=0, description="Worker lives in the Zhaoqing county of the job")
    same_city: float = Field(ge=0, description="Worker lives in Zhaoqing, job in Zhaoqing")
    preferred_city: float = Field(ge=0, description="The job's city is one the worker prefers")
    language_full: float = Field(ge=0, description="Speaks every language the job asks for")
    pay_fit: float = Field(ge=0, description="Job pays at least the worker's stated minimum")
    red_list: float = Field(
        RED_LIST_POINTS,
        ge=0,
        description="A worker on credit's 诚信红名单 (guarantee mark): more than all other "
        f"factors together, so they rank first. Versions stored before it take {RED_LIST_POINTS}",
    )
    blocked_card_statuses: list[str] = Field(description="Card colours that exclude a worker")
    blocked_list_statuses: list[str] = Field(description="Lists that exclude a worker")
    excluded_worker_statuses: list[str] = Field(description="Registry statuses that exclude")
    consent_scope: str = Field(description="Consent a partner poster needs from the worker")

    @model_validator(mode="after")
    def _red_list_ranks_first(self) -> Weights:
        if self.red_list and self.red_list <= self.max_other_points():
            raise ValueError(
                f"red_list must be 0 or above {self.max_other_points()}, the most all other "
                "factors give together, so that a red-listed worker ranks first"
            )
        return self

    def max_other_points(self) -> float:
        """The most every factor but ``red_list`` can give together."""
        return (
            self.stars_per_star * 5
            + max([self.credit_unknown, *self.credit_level.values()])
            + self.certificate_in_track
            + self.certificate_other * self.certificate_other_max
            + self.experience_per_engagement * self.experience_max
            + self.max_job_bonus("zhaoqing", True)
        )

    def max_job_bonus(self, city: str, has_languages: bool) -> float:
        """The most the job-dependent factors can add for a job in ``city``."""
        place = (
            max(self.same_county, self.same_city, self.preferred_city)
            if city == "zhaoqing"
            else self.preferred_city
        )
        return place + (self.language_full if has_languages else 0) + self.pay_fit


#: Version 1, as the migration stores it. Code reads the table, never this constant.
POLICY_V1: dict[str, Any] = {
    "stars_per_star": 6,
    "credit_level": {"A": 20, "B": 14, "C": 6, "D": 0},
    "credit_unknown": 8,
    "certificate_in_track": 15,
    "certificate_other": 2,
    "certificate_other_max": 3,
    "experience_per_engagement": 2,
    "experience_max": 5,
    "same_county": 10,
    "same_city": 6,
    "preferred_city": 10,
    "language_full": 10,
    "pay_fit": 5,
    "blocked_card_statuses": ["red"],
    "blocked_list_statuses": ["black"],
    "excluded_worker_statuses": ["suspended", "left"],
    "consent_scope": "credit_data",
}


@dataclass(frozen=True)
class Policy:
    version: int
    weights: Weights


async def current_policy(session: AsyncSession) -> Policy:
    return await memoised(session, "matching.policy", lambda: _current_policy(session))


#: The newest policy: built once (building and keying the ORM SELECT cost ~70 µs per event).
NEWEST_POLICY = (
    select(MatchingPolicy.version, MatchingPolicy.weights)
    .order_by(MatchingPolicy.version.desc())
    .limit(1)
)


def policy_of(row: Any | None) -> Policy:
    """The policy in a row of :data:`NEWEST_POLICY` (None: 503, the database is not migrated)."""
    if row is None:  # the migration writes version 1: a database without it is not migrated
        raise Problem(503, "policy-missing", "Matching policy missing", "Run the migrations")
    return Policy(row.version, Weights.model_validate(row.weights))


async def _current_policy(session: AsyncSession) -> Policy:
    return policy_of((await session.execute(NEWEST_POLICY)).first())


@dataclass(frozen=True)
class Reason:
    factor: str
    points: float
    detail: str


def _valid(certificate: CandidateCertificate, as_of: date) -> bool:
    return certificate.valid_until is None or certificate.valid_until >= as_of


def base_reasons(
    weights: Weights,
    candidate: Candidate,
    certificates: Sequence[CandidateCertificate],
    track: str,
    as_of: date | None,
) -> list[Reason]:
    """The job-independent factors. ``as_of`` None counts every certificate as valid (the
    precomputed upper bound); a date counts only those valid on it."""
    reasons: list[Reason] = []
    if candidate.list_status == "red" and weights.red_list:
        reasons.append(
            Reason(RED_LIST_FACTOR, weights.red_list, "诚信红名单: trustworthy, guarantee mark")
        )
    if candidate.stars:
        reasons.append(
            Reason(
                "stars",
                weights.stars_per_star * candidate.stars,
                f"{candidate.stars} stars ({candidate.rating_year})",
            )
        )
    if candidate.credit_level is not None and candidate.credit_level in weights.credit_level:
        points = weights.credit_level[candidate.credit_level]
        reasons.append(Reason("credit_level", points, f"credit level {candidate.credit_level}"))
    else:
        reasons.append(Reason("credit_level", weights.credit_unknown, "credit level not known"))
    valid = [c for c in certificates if as_of is None or _valid(c, as_of)]
    in_track = [c for c in valid if c.track == track]
    if in_track:
        reasons.append(
            Reason("certificate", weights.certificate_in_track, f"certificate {in_track[0].number}")
        )
    others = min(len(valid) - (1 if in_track else 0), weights.certificate_other_max)
    if others > 0:
        reasons.append(
            Reason(
                "other_certificates",
                weights.certificate_other * others,
                f"{others} more valid certificate(s)",
            )
        )
    jobs = min(candidate.finished_engagements or 0, weights.experience_max)
    if jobs > 0:
        reasons.append(
            Reason(
                "experience",
                weights.experience_per_engagement * jobs,
                f"{candidate.finished_engagements} finished engagement(s) on the platform",
            )
        )
    return [r for r in reasons if r.points > 0]


def job_reasons(
    weights: Weights,
    candidate: Candidate,
    *,
    city: str,
    district: str | None,
    languages: Sequence[str],
    pay_max: int | None,
) -> list[Reason]:
    """The factors that depend on the job: place, language, pay."""
    reasons: list[Reason] = []
    county = candidate.county
    preferred = candidate.preferred_cities or []
    if city == "zhaoqing" and county is not None and county == district:
        reasons.append(Reason("place", weights.same_county, f"lives in {county}"))
    elif city in preferred:
        reasons.append(Reason("place", weights.preferred_city, f"prefers work in {city}"))
    elif city == "zhaoqing" and county not in (None, "other"):
        reasons.append(Reason("place", weights.same_city, f"lives in Zhaoqing ({county})"))
    if languages:
        spoken = set(candidate.languages or [])
        matched = [lang for lang in languages if lang in spoken]
        if matched:
            reasons.append(
                Reason(
                    "language",
                    round(weights.language_full * len(matched) / len(languages), 2),
                    "speaks " + ", ".join(matched),
                )
            )
    if (
        pay_max is not None
        and candidate.expected_pay_min is not None
        and pay_max >= candidate.expected_pay_min
    ):
        reasons.append(
            Reason(
                "pay", weights.pay_fit, f"pays up to {pay_max}, asks {candidate.expected_pay_min}"
            )
        )
    return [r for r in reasons if r.points > 0]


def base_points(
    weights: Weights,
    candidate: Candidate,
    certificates: Sequence[CandidateCertificate],
    track: str,
    as_of: date | None,
) -> int:
    """``hundredths(total(base_reasons(...)))`` without building the reasons: the match walk
    scores every contender with this and explains only the results (tests hold the two
    equal)."""
    points: float = 0
    if candidate.list_status == "red":
        points += weights.red_list
    if candidate.stars:
        points += weights.stars_per_star * candidate.stars
    level = candidate.credit_level
    if level is not None and level in weights.credit_level:
        points += weights.credit_level[level]
    else:
        points += weights.credit_unknown
    valid = 0
    in_track = False
    for certificate in certificates:
        if as_of is None or _valid(certificate, as_of):
            valid += 1
            in_track = in_track or certificate.track == track
    if in_track:
        points += weights.certificate_in_track
    others = min(valid - (1 if in_track else 0), weights.certificate_other_max)
    if others > 0:
        points += weights.certificate_other * others
    jobs = min(candidate.finished_engagements or 0, weights.experience_max)
    if jobs > 0:
        points += weights.experience_per_engagement * jobs
    return hundredths(round(points, 2))


def job_points(
    weights: Weights,
    candidate: Candidate,
    *,
    city: str,
    district: str | None,
    languages: Sequence[str],
    pay_max: int | None,
) -> int:
    """``hundredths(total(job_reasons(...)))`` without building the reasons."""
    points: float = 0
    county = candidate.county
    if city == "zhaoqing" and county is not None and county == district:
        points += weights.same_county
    elif city in (candidate.preferred_cities or ()):
        points += weights.preferred_city
    elif city == "zhaoqing" and county not in (None, "other"):
        points += weights.same_city
    if languages:
        spoken = candidate.languages or ()
        matched = sum(1 for lang in languages if lang in spoken)
        if matched:
            points += round(weights.language_full * matched / len(languages), 2)
    if (
        pay_max is not None
        and candidate.expected_pay_min is not None
        and pay_max >= candidate.expected_pay_min
    ):
        points += weights.pay_fit
    return hundredths(round(points, 2))


def hundredths(points: float) -> int:
    return round(points * 100)


def total(reasons: Sequence[Reason]) -> float:
    return round(sum(r.points for r in reasons), 2)
