"""Completing an enrolment through the API: the first hop of every certificate.

It runs on the plain driver (:mod:`services.kit.transactions`): one SELECT that locks the
enrolment and brings its course and the rules in force, one UPDATE, one outbox INSERT. Through
the ORM session the same three statements cost ~2.7 ms of CPU per completion, most of it the
session's own ceremony; the decision itself is shared with the session path
(:func:`services.training.progress.closing`), so both complete an enrolment alike.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from services.kit.errors import NotFound
from services.kit.outbox import publish_in
from services.kit.principal import Principal
from services.kit.statements import Record, Statement
from services.kit.transactions import Transaction, fetch_one
from services.training.access import runs
from services.training.models import CompletionRule, Course, Enrollment
from services.training.progress import CLOSE, close_params, closing
from services.training.service import default_rule, enrollment_and_course

_enrollments = Enrollment.__table__
_COURSE_FIELDS = (
    "id",
    "title",
    "track",
    "training_type",
    "hours",
    "pass_score",
    "institution_id",
    "rules_version",
    "created_at",
)
_RULE_FIELDS = (
    "version",
    "min_attendance_share",
    "theory_pass_score",
    "practical_pass_score",
)


def _locked_enrollment_course_and_rule() -> Any:
    """The same join as the session path's, as plain columns: the enrolment's, then the
    course's and the rule's (prefixed ``c_``, ``r_``; the rule's are null when the
    course predates rules as data)."""
    joined = enrollment_and_course(locked=True)
    course, rule = Course.__table__, CompletionRule.__table__
    return joined.with_only_columns(
        *_enrollments.columns,
        *(course.c[name].label(f"c_{name}") for name in _COURSE_FIELDS),
        *(rule.c[name].label(f"r_{name}") for name in _RULE_FIELDS),
    )


_LOCKED = Statement(_locked_enrollment_course_and_rule())
_CLOSE = Statement(CLOSE)
_ENROLLMENT_FIELDS = tuple(column.key for column in _enrollments.columns)


async def complete(tx: Transaction, principal: Principal, enrollment_id: uuid.UUID) -> Any:
    """Complete the enrolment for someone who runs its course (anyone else: 404); returns
    the enrolment as stored (its fields as attributes)."""
    row = await fetch_one(tx, _LOCKED, enrollment_id=enrollment_id)
    if row is None:
        raise NotFound("enrollment", enrollment_id)
    course = SimpleNamespace(**{name: getattr(row, f"c_{name}") for name in _COURSE_FIELDS})
    if not runs(principal, course):  # type: ignore[arg-type]
        raise NotFound("enrollment", enrollment_id)
    enrollment = SimpleNamespace(**{name: getattr(row, name) for name in _ENROLLMENT_FIELDS})
    closed, event = closing(enrollment, course, _rule_in_force(row, course))
    await tx.execute(_CLOSE, **close_params(enrollment.id, closed))
    await publish_in(tx, event)
    return SimpleNamespace(**{**vars(enrollment), **closed})


def _rule_in_force(row: Record, course: SimpleNamespace) -> Any:
    """The course's completion rules in force, or (a course from before rules were data) the
    defaults the session path uses (``service.current_rule``)."""
    if row.r_version is None:
        return default_rule(course)  # type: ignore[arg-type]
    return SimpleNamespace(**{name: getattr(row, f"r_{name}") for name in _RULE_FIELDS})
