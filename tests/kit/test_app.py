"""The app factory: health, readiness, problem+json, dead-letter API, request ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import insert

from devtools.nats import NatsServer
from services.kit.app import create_service_app
from services.kit.errors import Conflict
from services.kit.ids import new_id
from services.kit.tables import dead_letters
from services.kit.types import utcnow
from tests.kit.kit_harness import create_schema, rating_event
from tests.support.apps import context, running_app, settings_for
from tests.support.tokens import bearer

router = APIRouter(prefix="/api/v1")


class Thing(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=1)


@router.post("/things")
async def make_thing(thing: Thing) -> Thing:
    if thing.name == "taken":
        raise Conflict("That name is taken")
    return thing


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("unexpected")


def make_app(database_url: str, nats_url: str) -> Any:
    settings, platform = settings_for("rating", database_url, nats_url)
    return create_service_app(
        "rating", routers=[router], title="test", settings=settings, platform=platform
    )


async def test_problem_json_for_validation_conflict_unknown_route_and_crash(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", nats_server.url)
    async with running_app(app) as client:
        await create_schema(context(app).db)
        response = await client.post("/api/v1/things", json={"name": "", "size": 0})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"].endswith("/validation-error")
        assert {e["field"] for e in body["errors"]} == {"name", "size"}
        assert body["request_id"] == response.headers["x-request-id"]

        response = await client.post("/api/v1/things", json={"name": "taken", "size": 1})
        assert response.status_code == 409 and response.json()["detail"] == "That name is taken"

        response = await client.post(
            "/api/v1/things", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422

        response = await client.get("/api/v1/nowhere", headers={"x-request-id": "abc-123"})
        assert response.status_code == 404
        assert response.json()["request_id"] == "abc-123"
        assert response.headers["content-type"] == "application/problem+json"

        response = await client.get("/api/v1/boom")
        assert response.status_code == 500
        assert response.json()["type"].endswith("/internal-error")
        assert "unexpected" not in response.text  # no internals leak to clients


async def test_readyz_reports_nats_outage_and_recovery(tmp_path: Path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", server.url)
    try:
        async with running_app(app) as client:
            await create_schema(context(app).db)
            assert (await client.get("/readyz")).status_code == 200
            server.stop()
            response = await _until_status(client, 503)
            assert response.json()["checks"]["nats"] == "unavailable"
            assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
            server.start()
            await _until_status(client, 200)
    finally:
        server.stop()
        server.cleanup()


async def test_readyz_reports_database_outage(tmp_path: Path, nats_server: NatsServer) -> None:
    missing = tmp_path / "no-such-dir" / "a.db"  # SQLite cannot open a file in a missing dir
    app = make_app(f"sqlite+aiosqlite:///{missing}", nats_server.url)
    async with running_app(app) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("unavailable")


async def test_dead_letter_api_lists_and_replays(tmp_path: Path, nats_server: NatsServer) -> None:
    from services.kit.subscriptions import Subscription
    from tests.kit.kit_harness import effect_count, record_effect

    settings, platform = settings_for(
        "rating", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", nats_server.url
    )
    app = create_service_app(
        "rating",
        routers=[],
        subscriptions=[Subscription("rating-test", ["rating.worker.changed"], record_effect)],
        title="t",
        settings=settings,
        platform=platform,
    )
    async with running_app(app) as client:
        db = context(app).db
        await create_schema(db)
        from contracts.envelope import envelope_for

        envelope = envelope_for(rating_event())
        letter_id = str(new_id())
        async with db.write() as session:
            await session.execute(
                insert(dead_letters).values(
                    id=letter_id,
                    consumer="rating-test",
                    event_id=envelope.id,
                    subject="rating.worker.changed",
                    event_type=envelope.type,
                    payload=envelope.model_dump_json(),
                    error="boom",
                    attempts=5,
                    failed_at=utcnow(),
                )
            )
        # Operators only: no token is 401, any role but admin 403, on list and replay alike.
        for headers, status in ((None, 401), (bearer("officer"), 403), (bearer("worker"), 403)):
            assert (await client.get("/internal/dead-letters", headers=headers)).status_code == (
                status
            )
            refused = await client.post(
                f"/internal/dead-letters/{letter_id}/replay", headers=headers
            )
            assert refused.status_code == status
        assert await effect_count(db, envelope.id) == 0
        admin = bearer("admin")
        listed = (await client.get("/internal/dead-letters", headers=admin)).json()
        assert [d["id"] for d in listed] == [letter_id]
        replay = await client.post(f"/internal/dead-letters/{letter_id}/replay", headers=admin)
        assert replay.status_code == 200 and replay.json()["applied"] is True
        assert await effect_count(db, envelope.id) == 1
        assert (await client.get("/internal/dead-letters", headers=admin)).json() == []
        missing = await client.post(f"/internal/dead-letters/{new_id()}/replay", headers=admin)
        assert missing.status_code == 404


async def _until_status(client: Any, status: int) -> Any:
    from tests.support.apps import eventually

    async def probe() -> Any:
        response = await client.get("/readyz")
        return response if response.status_code == status else None

    return await eventually(probe, timeout=20)
