"""Internal operator API over a service's dead letters (never routed by the gateway)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.kit import operations
from services.kit.context import ServiceContext, context_of, get_ctx
from services.kit.errors import NotFound, Problem
from services.kit.policy import operator


class DeadLetter(BaseModel):
    id: str
    consumer: str
    event_id: str
    subject: str
    event_type: str | None
    error: str
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None


class ReplayResult(BaseModel):
    id: str
    applied: bool


def dead_letters_router() -> APIRouter:
    """Operators only (admin tokens), on the service's own port; the gateway never routes it."""
    router = APIRouter(
        prefix="/internal/dead-letters",
        tags=["operations"],
        dependencies=[Depends(operator())],
    )

    @router.get("", response_model=list[DeadLetter])
    async def list_dead_letters(
        ctx: ServiceContext = Depends(get_ctx),
        include_replayed: bool = Query(False),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[DeadLetter]:
        """Events a consumer gave up on, oldest first (replayed ones on request)."""
        rows = await operations.list_dead_letters(
            ctx.db, include_replayed=include_replayed, limit=limit
        )
        return [DeadLetter.model_validate(row) for row in rows]

    @router.post("/{dead_letter_id}/replay", response_model=ReplayResult)
    async def replay(dead_letter_id: str, request: Request) -> ReplayResult:
        """Run the consumer's handler on the event again; 409 if it still fails."""
        ctx = context_of(request)
        try:
            applied = await operations.replay_dead_letter(ctx.db, ctx.runners, dead_letter_id)
        except Exception as exc:
            # The handler still fails: keep the letter and tell the operator why.
            raise Problem(
                409, "replay-failed", "Replay failed", f"The handler failed again: {exc!r}"
            ) from exc
        if applied is None:
            raise NotFound("dead letter", dead_letter_id)
        return ReplayResult(id=dead_letter_id, applied=applied)

    return router
