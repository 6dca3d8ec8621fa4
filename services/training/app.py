"""Training service app."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.credit import CertificateIssued
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    EmploymentChanged,
    InstitutionRegistered,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
)
from services.kit.app import create_service_app
from services.kit.inbox import Subscription
from services.kit.settings import PlatformSettings, ServiceSettings
from services.training.api import router
from services.training.apprenticeships.api import router as apprenticeships_router
from services.training.bases.api import router as bases_router
from services.training.competitions.api import router as competitions_router
from services.training.handlers import (
    PARTY_STANDING,
    READ_MODELS,
    handle_certificate_event,
    handle_certificate_events,
    handle_employment_event,
    handle_institution_event,
    handle_rating_event,
    handle_status_event,
    handle_worker_event,
)
from services.training.statistics import router as statistics_router
from services.training.subsidies.api import router as subsidies_router
from services.training.ventures.api import router as ventures_router

WORKER_SUBJECTS = [WorkerRegistered.subject, WorkerUpdated.subject]
EMPLOYMENT_SUBJECTS = [EmploymentChanged.subject]


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The training app; settings default to the environment (tests pass their own)."""
    return create_service_app(
        "training",
        routers=[
            router,
            subsidies_router,
            competitions_router,
            bases_router,
            apprenticeships_router,
            ventures_router,
            statistics_router,
        ],
        subscriptions=[
            Subscription(
                name="training-workers", subjects=WORKER_SUBJECTS, handler=handle_worker_event
            ),
            # Its own durable consumer: a new one replays the stream from the start, so an
            # upgraded service learns every existing employment.
            Subscription(
                name="training-employments",
                subjects=EMPLOYMENT_SUBJECTS,
                handler=handle_employment_event,
            ),
            # Registry status decides who may enrol (suspended workers and leavers may not).
            Subscription(
                name="training-worker-status",
                subjects=[WorkerRegistered.subject, WorkerStatusChanged.subject],
                handler=handle_status_event,
            ),
            # A course's provider is verified against the institutions the registry announced.
            Subscription(
                name="training-institutions",
                subjects=[InstitutionRegistered.subject],
                handler=handle_institution_event,
            ),
            # Stars qualify apprenticeship mentors.
            Subscription(
                name="training-ratings",
                subjects=[WorkerRatingChanged.subject],
                handler=handle_rating_event,
            ),
            # Certificates credit issued: the lifelong skills record lists them.
            Subscription(
                name="training-certificates",
                subjects=[CertificateIssued.subject],
                handler=handle_certificate_event,
                batch_handler=handle_certificate_events,
            ),
            PARTY_STANDING,
        ],
        read_models=READ_MODELS,
        title="Jiasao training",
        description=(
            "Courses, sessions, attendance, exams, completion under versioned rules, "
            "waiting lists, subsidies, competitions, apprenticeships, training bases, skills "
            "records and entrepreneurship support."
        ),
        settings=settings,
        platform=platform,
    )
