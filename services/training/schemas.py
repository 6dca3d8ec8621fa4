"""Training API shapes. Request bodies forbid unknown fields so typos fail loudly, and their
numbers are strict: ``true`` or ``"60"`` for a score is a 422, never silently 1 or 60."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from contracts.common import County, Language, Track
from contracts.credit import CertificateKind
from contracts.training import TrainingType
from services.kit.strict import NOT_BOOL_OR_STR, WholeNumber

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    # pydantic's lax date also takes 0 or "0" (a Unix time): a day is written YYYY-MM-DD only.
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise ValueError("must be a day written YYYY-MM-DD")


#: A calendar day as the schema says (``format: date``), nothing else.
Day = Annotated[date, BeforeValidator(_iso_day)]

EnrollmentStatus = Literal["enrolled", "waiting", "completed", "withdrawn"]
CurriculumOrigin = Literal["local", "hong_kong", "macau", "overseas"]
ExamPart = Literal["theory", "practical"]


class RulesCreate(BaseModel):
    """A course's completion rules. Left out at course creation, the programme's defaults
    apply (80 % attendance, the course's pass score, no practical exam, one resit)."""

    model_config = ConfigDict(extra="forbid")

    min_attendance_share: float = Field(
        0.8, strict=True, ge=0, le=1, description="Share of the course's hours to attend, 0-1"
    )
    theory_pass_score: float | None = Field(
        None,
        strict=True,
        ge=0,
        le=100,
        description="Lowest passing theory score; left out, the course's pass_score",
    )
    practical_pass_score: float | None = Field(
        None,
        strict=True,
        ge=0,
        le=100,
        description="Lowest passing practical score; null when the course has no practical exam",
    )
    max_resits: WholeNumber = Field(1, ge=0, le=5, description="Resits per exam part")


class RulesOut(BaseModel):
    course_id: uuid.UUID
    version: int
    min_attendance_share: float
    theory_pass_score: float
    practical_pass_score: float | None
    max_resits: int
    created_at: datetime


class RulesHistory(BaseModel):
    current: RulesOut
    versions: list[RulesOut] = Field(description="Every version, oldest first")


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$", examples=["母婴护理"])
    track: Track
    training_type: TrainingType
    hours: float = Field(strict=True, gt=0, le=1000, description="Scheduled hours of the course")
    pass_score: float = Field(
        60, strict=True, ge=0, le=100, description="Lowest passing score, 0-100"
    )
    institution_id: uuid.UUID | None = Field(
        None,
        description="Training institution running the course. Institution staff may leave it "
        "out (it is their own) or name their own; officers may name any, or none.",
    )
    # The bounds sit inside the Annotated: on the Optional they would leak into the JSON
    # Schema as pydantic's own "ge"/"le" instead of "minimum"/"maximum".
    capacity: Annotated[int, Field(ge=1, le=10000), NOT_BOOL_OR_STR] | None = Field(
        None, description="Seats; beyond them workers wait"
    )
    tuition_fee: float = Field(0, strict=True, ge=0, le=1_000_000, description="Tuition in yuan")
    free_for_target_groups: bool = Field(
        False, strict=True, description="Workers in an employment-support target group train free"
    )
    curriculum_origin: CurriculumOrigin = "local"
    county: County | None = None
    language: Language | None = None
    rules: RulesCreate | None = Field(None, description="Completion rules (version 1)")


class CourseOut(BaseModel):
    id: uuid.UUID
    title: str
    track: Track
    training_type: TrainingType
    hours: float
    pass_score: float
    institution_id: uuid.UUID | None
    capacity: int | None
    tuition_fee: float
    free_for_target_groups: bool
    curriculum_origin: CurriculumOrigin
    county: str | None
    language: str | None
    provider_verified: bool = Field(
        description="The registry announced the institution as approved for this track"
    )
    rules_version: int
    version: int
    created_at: datetime


class EnrollmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    worker_id: uuid.UUID | None = Field(
        None,
        description="Worker to enrol. A worker enrolling themself may leave it out; everyone "
        "else must name the worker.",
    )


class ResultRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float = Field(strict=True, ge=0, le=100, description="Assessment score, 0-100")
    hours_attended: float = Field(
        strict=True, ge=0, le=1000, description="Hours the worker attended"
    )


class EnrollmentOut(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    worker_id: uuid.UUID | None = Field(
        None,
        description="Worker to enrol. A worker enrolling themself may leave it out; everyone "
        "else must name the worker.",
    )
    status: EnrollmentStatus
    score: float | None
    hours_attended: float | None
    passed: bool | None = Field(description="Set at completion; null until then")
    fee_due: float
    fee_waived: bool
    rules_version: int | None = Field(description="Completion-rule version that decided passed")
    theory_score: float | None
    practical_score: float | None
    version: int
    enrolled_at: datetime
    result_recorded_at: datetime | None
    completed_at: datetime | None
    withdrawn_at: datetime | None


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: Day
    hours: float = Field(strict=True, gt=0, le=24)
    venue: str | None = Field(None, min_length=1, max_length=200)
    online: bool = Field(False, strict=True)


class SessionOut(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    held_on: date
    hours: float
    venue: str | None
    online: bool


class AttendanceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: uuid.UUID
    present: bool = Field(strict=True)


class AttendanceOut(BaseModel):
    enrollment_id: uuid.UUID
    session_id: uuid.UUID
    present: bool
    hours: float
    recorded_at: datetime


class ExamRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part: ExamPart
    score: float = Field(strict=True, ge=0, le=100)
    taken_on: Day


class ExamOut(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    part: ExamPart
    attempt: int = Field(description="1 for the first sitting, then resits")
    score: float
    passed: bool
    rules_version: int
    taken_on: date
    recorded_at: datetime


SkillsRecordKind = Literal[
    "enrolled",
    "attended",
    "exam_theory",
    "exam_practical",
    "apprenticeship_month",
    "completed",
    "withdrawn",
    "competition_entered",
    "competition_ranked",
    "technical_expert_awarded",
    "certificate_issued",
    "venture_started",
    "venture_contest_entered",
    "venture_contest_judged",
]


class SkillsRecordItem(BaseModel):
    """One event of a worker's training life; fields not relevant to the kind are null."""

    at: datetime = Field(description="When it was recorded")
    on: date | None = Field(None, description="Day of the session or exam")
    kind: SkillsRecordKind
    title: str = Field(
        description="Course, competition or business project title; for a certificate its "
        "course's title, or what it certifies"
    )
    track: Track | None = Field(None, description="Track, where the item has one")
    training_type: TrainingType | None = None
    enrollment_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    competition_id: uuid.UUID | None = None
    score: float | None = None
    hours: float | None = None
    passed: bool | None = None
    attempt: int | None = None
    rank: int | None = None
    rules_version: int | None = None
    certificate_id: uuid.UUID | None = None
    certificate_number: str | None = Field(None, description="e.g. ZQJS-2026-000123")
    certificate_kind: CertificateKind | None = None
    valid_until: date | None = Field(None, description="A certificate's last valid day")
    venture_id: uuid.UUID | None = None
    contest_year: int | None = Field(None, description="Year of the 众创杯 entered")
    result: str | None = Field(None, description="众创杯 result: finalist, winner, eliminated")


class SkillsRecord(BaseModel):
    worker_id: uuid.UUID
    items: list[SkillsRecordItem] = Field(description="Oldest first")
