"""Brand domain operations: cases and their photos, nominations, the skill-master roll, top
companies and county brands."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.training import CompetitionAwarded
from services.kit.errors import Conflict, InvalidField, NotFound, Problem
from services.kit.ids import new_id
from services.kit.principal import Principal, forbidden
from services.kit.types import utcnow
from services.rating.brand.models import (
    BrandCase,
    BrandCasePhoto,
    BrandNomination,
    BrandWorker,
    CountyBrand,
    SkillMaster,
    TopCompany,
)
from services.rating.brand.schemas import (
    CaseCreate,
    CountyBrandPut,
    NominationCreate,
    TopCompaniesPut,
)
from services.rating.models import KnownWorker, WorkerEmployment
from services.rating.schemas import CHINA_TZ

#: Largest photo accepted (bytes): a web-sized picture, well under the request body limit.
PHOTO_MAX_BYTES = 512 * 1024
#: Accepted photo types and the magic bytes their files start with.
PHOTO_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


def mask_name(name: str) -> str:
    """The platform's masked name (as kit.pii's masked views do for numbers): the first
    character, then one asterisk per remaining character (at least one)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


class CaseNotFound(NotFound):
    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__("case", case_id)


def visible(case: BrandCase | None, principal: Principal | None) -> bool:
    """Published cases for everyone; every case for officers and admins."""
    if case is None:
        return False
    return case.state == "published" or (principal is not None and principal.is_privileged)


async def check_worker(session: AsyncSession, worker_id: uuid.UUID | None) -> None:
    """A named worker must be one the registry announced (422 otherwise)."""
    if worker_id is not None and await session.get(KnownWorker, worker_id) is None:
        raise InvalidField("worker_id", f"no registered worker {worker_id}")


async def create_case(
    session: AsyncSession,
    body: CaseCreate,
    actor: str,
    *,
    nomination_id: uuid.UUID | None = None,
) -> BrandCase:
    await check_worker(session, body.worker_id)
    now = utcnow()
    case = BrandCase(
        id=new_id(),
        kind=body.kind,
        state="draft",
        title=body.title.stored(),
        body=body.body.stored(),
        county=body.county,
        source=body.source,
        worker_id=body.worker_id,
        company_id=body.company_id,
        nomination_id=nomination_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(case)
    await session.flush()
    return case


async def case_for_update(session: AsyncSession, case_id: uuid.UUID) -> BrandCase:
    case = await session.get(BrandCase, case_id, with_for_update=True)
    if case is None:
        raise CaseNotFound(case_id)
    return case


async def set_state(session: AsyncSession, case_id: uuid.UUID, state: str) -> BrandCase:
    """Publish or withdraw; 409 when the case already is in that state. A withdrawn case may
    be published again."""
    case = await case_for_update(session, case_id)
    if case.state == state:
        raise Conflict(f"The case is already {state}", slug=f"already-{state}")
    if state == "withdrawn" and case.state == "draft":
        raise Conflict("A draft was never published; there is nothing to withdraw")
    now = utcnow()
    case.state = state
    case.updated_at = now
    case.version += 1
    if state == "published":
        case.published_at, case.withdrawn_at = now, None
    else:
        case.withdrawn_at = now
    return case


def check_photo_type(media_type: str) -> bytes:
    """The magic bytes of an accepted photo type; 415 for any other type."""
    magic = PHOTO_MAGIC.get(media_type)
    if magic is None:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"Send the photo as image/jpeg or image/png (got {media_type or 'none'})",
        )
    return magic


def sniff_photo(data: bytes) -> str:
    """The photo type its first bytes say (for bytes sent as application/octet-stream); the
    empty string when they are neither JPEG nor PNG (check_photo then answers 415)."""
    return next((media for media, magic in PHOTO_MAGIC.items() if data.startswith(magic)), "")


def check_photo(media_type: str, data: bytes) -> None:
    """415 for a type other than JPEG or PNG or bytes that are not what the type says; 413
    over :data:`PHOTO_MAX_BYTES`; 400 for an empty body."""
    if len(data) > PHOTO_MAX_BYTES:
        raise Problem(
            413,
            "payload-too-large",
            "Payload too large",
            f"The photo is larger than {PHOTO_MAX_BYTES} bytes; send a smaller picture",
        )
    if not data:
        raise Problem(400, "empty-upload", "Empty upload", "The request body is empty")
    if not data.startswith(check_photo_type(media_type)):
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"The file is not a {media_type} image (its first bytes do not say so)",
        )


async def put_photo(
    session: AsyncSession, case_id: uuid.UUID, media_type: str, data: bytes, actor: str
) -> BrandCase:
    case = await case_for_update(session, case_id)
    photo = await session.get(BrandCasePhoto, case_id)
    if photo is None:
        photo = BrandCasePhoto(case_id=case_id)
        session.add(photo)
    photo.media_type = media_type
    photo.data = data
    photo.size = len(data)
    photo.sha256 = hashlib.sha256(data).hexdigest()
    photo.uploaded_by = actor
    photo.uploaded_at = utcnow()
    case.updated_at = photo.uploaded_at
    case.version += 1
    return case


# --- nominations ---------------------------------------------------------------------------


async def nominate(
    session: AsyncSession, body: NominationCreate, principal: Principal
) -> BrandNomination:
    """Record a nomination. Company staff recommend their own current employees only (403
    otherwise); workers and employers answer the open call."""
    await check_worker(session, body.worker_id)
    company_id = body.company_id
    if principal.role == "company":
        source = "company_recommendation"
        if company_id is not None and company_id != principal.party_id:
            raise forbidden("A company nominates only itself and its own workers")
        if body.worker_id is not None:
            employment = await session.get(WorkerEmployment, body.worker_id)
            if employment is None or employment.company_id != principal.party_id:
                raise forbidden("A company nominates only its own workers")
        company_id = company_id or principal.party_id
    else:
        source = "open_call"
    nomination = BrandNomination(
        id=new_id(),
        kind=body.kind,
        source=source,
        title=body.title.stored(),
        body=body.body.stored(),
        county=body.county,
        worker_id=body.worker_id,
        company_id=company_id,
        nominated_by=principal.subject,
        nominator_role=principal.role,
        nominator_party_id=principal.party_id,
        status="pending",
        created_at=utcnow(),
    )
    session.add(nomination)
    await session.flush()
    return nomination


async def decide(
    session: AsyncSession,
    nomination_id: uuid.UUID,
    accept: bool,
    reason: str | None,
    actor: str,
) -> BrandNomination:
    """Accept (a draft case is created from the nomination) or reject a pending nomination;
    409 once decided."""
    nomination = await session.get(BrandNomination, nomination_id, with_for_update=True)
    if nomination is None:
        raise NotFound("nomination", nomination_id)
    if nomination.status != "pending":
        raise Conflict(f"The nomination was already {nomination.status}", slug="already-decided")
    if accept:
        case = await create_case(
            session,
            CaseCreate.model_validate(
                {
                    "kind": nomination.kind,
                    "title": nomination.title,
                    "body": nomination.body,
                    "county": nomination.county,
                    "source": nomination.source,
                    "worker_id": nomination.worker_id,
                    "company_id": nomination.company_id,
                }
            ),
            actor,
            nomination_id=nomination.id,
        )
        nomination.case_id = case.id
    nomination.status = "accepted" if accept else "rejected"
    nomination.decided_at = utcnow()
    nomination.decided_by = actor
    nomination.decision_reason = reason
    return nomination


# --- read models from events ---------------------------------------------------------------


async def record_worker(
    session: AsyncSession, worker_id: uuid.UUID, name: str, county: str, as_of: datetime
) -> None:
    """Keep the masked name and county of a worker; an older event arriving late is ignored."""
    row = await session.get(BrandWorker, worker_id, with_for_update=True)
    if row is None:
        session.add(
            BrandWorker(
                worker_id=worker_id, masked_name=mask_name(name), county=county, as_of=as_of
            )
        )
    elif as_of >= row.as_of:
        row.masked_name, row.county, row.as_of = mask_name(name), county, as_of


async def record_award(session: AsyncSession, data: CompetitionAwarded) -> None:
    """Add an award to the roll once (a re-published award changes nothing)."""
    award_id = uuid.UUID(data.award_id)
    if await session.scalar(select(SkillMaster.id).where(SkillMaster.award_id == award_id)):
        return
    session.add(
        SkillMaster(
            id=new_id(),
            award_id=award_id,
            competition_id=uuid.UUID(data.competition_id),
            competition_title=data.competition_title,
            worker_id=uuid.UUID(data.worker_id),
            track=data.track,
            rank=data.rank,
            year=data.awarded_at.astimezone(CHINA_TZ).year,
            awarded_at=data.awarded_at,
        )
    )


# --- campaigns and counties ----------------------------------------------------------------


async def put_top_companies(
    session: AsyncSession, year: int, body: TopCompaniesPut, actor: str
) -> list[TopCompany]:
    """Replace the year's ten companies (ids in rank order, so a page reads in rank order)."""
    await session.execute(delete(TopCompany).where(TopCompany.year == year))
    await session.flush()
    now = utcnow()
    rows = [
        TopCompany(
            id=new_id(),
            year=year,
            rank=entry.rank,
            company_id=entry.company_id,
            name=entry.name.stored(),
            citation=entry.citation.stored() if entry.citation is not None else None,
            county=entry.county,
            recorded_by=actor,
            recorded_at=now,
        )
        for entry in sorted(body.companies, key=lambda c: c.rank)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def put_county(
    session: AsyncSession, county: str, body: CountyBrandPut, actor: str
) -> CountyBrand:
    row = await session.scalar(
        select(CountyBrand).where(CountyBrand.county == county).with_for_update()
    )
    if row is None:
        row = CountyBrand(id=new_id(), county=county, version=0)
        session.add(row)
    row.name = body.name.stored()
    row.slogan = body.slogan.stored()
    row.description = body.description.stored()
    row.updated_by = actor
    row.updated_at = utcnow()
    row.version += 1
    await session.flush()
    return row
