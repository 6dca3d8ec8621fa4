"""The lifelong skills record (终身技能提升档案): one time-ordered view of everything a worker did
in training — enrolments, sessions attended, exams, apprenticeship months, completions,
withdrawals, competition entries and awards, the certificates credit issued, business projects
and their 众创杯 entries — for the worker themself and the programme's officers.

Built at read time from training's own tables and its read model of credit's certificates
(``known_certificates``, from credit.certificate.issued), so it is as current as they are.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.training.apprenticeships.models import Apprenticeship, ApprenticeshipProgress
from services.training.competitions.models import Competition, CompetitionEntry
from services.training.models import (
    Attendance,
    Course,
    CourseSession,
    Enrollment,
    ExamAttempt,
    KnownCertificate,
)
from services.training.schemas import SkillsRecordItem
from services.training.ventures.models import ContestEntry, Venture

#: What a certificate certifies, when it names no course training knows.
CERTIFICATE_TITLES = {
    "training": "培训合格证书",
    "home_service": "居家上门服务证",
    "skill_title": "肇庆市技术能手",
}


async def skills_record(session: AsyncSession, worker_id: uuid.UUID) -> list[SkillsRecordItem]:
    items: list[SkillsRecordItem] = []
    rows = await session.execute(
        select(Enrollment, Course)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.worker_id == worker_id)
    )
    courses: dict[uuid.UUID, Course] = {}
    for enrollment, course in rows:
        courses[enrollment.id] = course
        common = {
            "enrollment_id": enrollment.id,
            "course_id": course.id,
            "title": course.title,
            "track": course.track,
            "training_type": course.training_type,
        }
        items.append(SkillsRecordItem(at=enrollment.enrolled_at, kind="enrolled", **common))
        if enrollment.completed_at is not None:
            items.append(
                SkillsRecordItem(
                    at=enrollment.completed_at,
                    kind="completed",
                    score=enrollment.score,
                    hours=enrollment.hours_attended,
                    passed=enrollment.passed,
                    rules_version=enrollment.rules_version,
                    **common,
                )
            )
        if enrollment.withdrawn_at is not None:
            items.append(SkillsRecordItem(at=enrollment.withdrawn_at, kind="withdrawn", **common))
    if courses:
        attended = await session.execute(
            select(Attendance, CourseSession)
            .join(CourseSession, CourseSession.id == Attendance.session_id)
            .where(Attendance.enrollment_id.in_(courses), Attendance.present.is_(True))
        )
        for mark, held in attended:
            course = courses[mark.enrollment_id]
            items.append(
                SkillsRecordItem(
                    at=mark.recorded_at,
                    on=held.held_on,
                    kind="attended",
                    enrollment_id=mark.enrollment_id,
                    course_id=course.id,
                    title=course.title,
                    track=course.track,
                    hours=mark.hours,
                )
            )
        for exam in await session.scalars(
            select(ExamAttempt).where(ExamAttempt.enrollment_id.in_(courses))
        ):
            course = courses[exam.enrollment_id]
            items.append(
                SkillsRecordItem(
                    at=exam.recorded_at,
                    on=exam.taken_on,
                    kind=f"exam_{exam.part}",  # type: ignore[arg-type]
                    enrollment_id=exam.enrollment_id,
                    course_id=course.id,
                    title=course.title,
                    track=course.track,
                    score=exam.score,
                    passed=exam.passed,
                    attempt=exam.attempt,
                    rules_version=exam.rules_version,
                )
            )
    months = await session.execute(
        select(ApprenticeshipProgress, Apprenticeship)
        .join(Apprenticeship, Apprenticeship.id == ApprenticeshipProgress.apprenticeship_id)
        .where(Apprenticeship.apprentice_id == worker_id)
    )
    for month, apprenticeship in months:
        course = courses.get(apprenticeship.enrollment_id)
        if course is None:
            continue
        items.append(
            SkillsRecordItem(
                at=month.recorded_at,
                kind="apprenticeship_month",
                enrollment_id=apprenticeship.enrollment_id,
                course_id=course.id,
                title=f"{course.title} {month.month}",
                track=course.track,
                training_type=course.training_type,
                hours=month.hours,
                score=month.assessment,
            )
        )
    entries = await session.execute(
        select(CompetitionEntry, Competition)
        .join(Competition, Competition.id == CompetitionEntry.competition_id)
        .where(CompetitionEntry.worker_id == worker_id)
    )
    for entry, competition in entries:
        common = {
            "competition_id": competition.id,
            "title": competition.title,
            "track": competition.track,
        }
        items.append(SkillsRecordItem(at=entry.registered_at, kind="competition_entered", **common))
        if competition.finished_at is not None:
            items.append(
                SkillsRecordItem(
                    at=competition.finished_at,
                    kind="technical_expert_awarded" if entry.awarded else "competition_ranked",
                    score=entry.total_score,
                    rank=entry.rank,
                    **common,
                )
            )
    items.extend(await _certificates(session, worker_id, courses))
    items.extend(await _ventures(session, worker_id))
    items.sort(key=lambda i: (i.at, i.kind))
    return items


async def _certificates(
    session: AsyncSession, worker_id: uuid.UUID, courses: dict[uuid.UUID, Course]
) -> list[SkillsRecordItem]:
    items = []
    for cert in await session.scalars(
        select(KnownCertificate).where(KnownCertificate.worker_id == worker_id)
    ):
        course = courses.get(cert.enrollment_id) if cert.enrollment_id else None
        items.append(
            SkillsRecordItem(
                at=cert.issued_at,
                kind="certificate_issued",
                title=course.title if course else CERTIFICATE_TITLES.get(cert.kind, cert.kind),
                track=cert.track,  # type: ignore[arg-type]
                training_type=course.training_type if course else None,  # type: ignore[arg-type]
                enrollment_id=cert.enrollment_id,
                course_id=cert.course_id,
                certificate_id=cert.certificate_id,
                certificate_number=cert.number,
                certificate_kind=cert.kind,  # type: ignore[arg-type]
                valid_until=cert.valid_until,
            )
        )
    return items


async def _ventures(session: AsyncSession, worker_id: uuid.UUID) -> list[SkillsRecordItem]:
    """The worker's business projects and their 众创杯 entries (entrepreneurship support)."""
    items = []
    projects = {
        v.id: v
        for v in await session.scalars(select(Venture).where(Venture.worker_id == worker_id))
    }
    for venture in projects.values():
        items.append(
            SkillsRecordItem(
                at=venture.created_at,
                kind="venture_started",
                title=venture.name,
                venture_id=venture.id,
            )
        )
    if not projects:
        return items
    for entry in await session.scalars(
        select(ContestEntry).where(ContestEntry.venture_id.in_(projects))
    ):
        common = {
            "title": projects[entry.venture_id].name,
            "venture_id": entry.venture_id,
            "contest_year": entry.contest_year,
        }
        items.append(
            SkillsRecordItem(at=entry.entered_at, kind="venture_contest_entered", **common)
        )
        if entry.judged_at is not None:
            items.append(
                SkillsRecordItem(
                    at=entry.judged_at,
                    kind="venture_contest_judged",
                    result=entry.result,
                    **common,
                )
            )
    return items
