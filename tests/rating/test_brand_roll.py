"""The public brand lists (issue 12): the 技术能手 roll built by rating-skill-masters from
training.competition.awarded on a real NATS server, the 百户十强 companies, the county brands,
and the brand tables' migration against the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from contracts.registry import WorkerUpdated
from contracts.training import CompetitionAwarded
from services.kit.migrate import alembic_config, sync_url
from services.rating.brand.models import BrandBase, SkillMaster
from tests.rating.rating_support import RatingHarness, employer, officer
from tests.support.apps import context
from tests.support.databases import service_database
from tests.support.tokens import bearer

ROLL = "/api/v1/brand/skill-masters"
SKILL_CONSUMER = "rating-skill-masters"
WORKER_CONSUMER = "rating-brand-workers"


def award(
    worker: uuid.UUID, rank: int, track: str = "elderly_care", **kw: Any
) -> CompetitionAwarded:
    values: dict[str, Any] = {
        "award_id": str(uuid.uuid4()),
        "competition_id": str(uuid.uuid4()),
        "competition_title": "2026年肇庆市养老护理职业技能竞赛",
        "worker_id": str(worker),
        "track": track,
        "rank": rank,
        "total_score": 95.5 - rank,
        "title": "technical_expert",
        "policy_version": 1,
        "awarded_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    }
    return CompetitionAwarded(**(values | kw))


def text(zh: str) -> dict[str, str]:
    return {"zh-CN": zh}


async def test_skill_master_roll_from_awards(rating: RatingHarness) -> None:
    client = rating.client
    known = await rating.register()  # 陈秀英 of gaoyao, as the registry announced
    await rating.handled(
        await rating.peer.publish(
            WorkerUpdated(
                worker_id=str(known),
                name="陈秀兰",
                county="sihui",
                tracks=["elderly_care"],
                languages=["cantonese"],
                education=None,
                target_groups=[],
                health_check_valid_until=None,
                no_criminal_record_valid_until=None,
                updated_at=datetime.now(UTC),
            )
        ),
        WORKER_CONSUMER,
    )
    unknown = uuid.uuid4()  # a winner the registry has not announced (yet)
    first = award(known, 1)
    envelope = await rating.peer.publish(first)
    await rating.handled(envelope, SKILL_CONSUMER)
    # The same award again (a replay under a new event id) adds nothing.
    await rating.handled(await rating.peer.publish(first), SKILL_CONSUMER)
    second = award(
        unknown, 2, track="housekeeping", awarded_at=datetime(2025, 12, 31, 17, tzinfo=UTC)
    )
    await rating.handled(await rating.peer.publish(second), SKILL_CONSUMER)
    async with context(rating.app).db.read() as session:
        assert await session.scalar(select(func.count()).select_from(SkillMaster)) == 2

    roll = await client.get(ROLL)  # public, no token
    assert roll.status_code == 200, roll.text
    items = roll.json()["items"]
    # Newest award first; 17:00 UTC on 31 December is already 2026 in Zhaoqing.
    assert [i["rank"] for i in items] == [2, 1]
    assert items[0] == {
        "name": None,
        "competition": second.competition_title,
        "track": "housekeeping",
        "rank": 2,
        "year": 2026,
        "county": None,
    }
    assert items[1]["name"] == "陈**" and items[1]["county"] == "sihui"
    # Nothing a public roll should not show: no worker id, no full name, no score.
    assert str(known) not in roll.text and "陈秀兰" not in roll.text and "total" not in roll.text
    by_county = await client.get(ROLL, params={"county": "sihui"})
    assert [i["rank"] for i in by_county.json()["items"]] == [1]
    assert (await client.get(ROLL, params={"year": 2025})).json()["items"] == []
    assert len((await client.get(ROLL, params={"track": "elderly_care"})).json()["items"]) == 1
    page = await client.get(ROLL, params={"limit": 1})
    nxt = await client.get(ROLL, params={"limit": 1, "cursor": page.json()["next_cursor"]})
    assert nxt.json()["items"][0]["rank"] == 1 and nxt.json()["next_cursor"] is None
    assert (await client.get(ROLL, params={"track": "cooking"})).status_code == 422


def company(rank: int, **kw: Any) -> dict[str, Any]:
    return {
        "rank": rank,
        "name": {"zh-CN": f"肇庆第{rank}家政公司", "en": f"Zhaoqing Home Service {rank}"},
        "county": "duanzhou",
        "company_id": str(uuid.uuid4()),
    } | kw


async def test_top_companies_and_county_brands(rating: RatingHarness) -> None:
    client = rating.client
    staff = officer()
    ten = [company(rank) for rank in range(1, 11)]
    path = "/api/v1/brand/top-companies"
    assert (await client.put(f"{path}/2026", json={"companies": ten})).status_code == 401
    for headers in (employer(), bearer("company", uuid.uuid4()), bearer("worker", uuid.uuid4())):
        assert (
            await client.put(f"{path}/2026", json={"companies": ten}, headers=headers)
        ).status_code == 403
    for bad in (
        ten[:9],
        [*ten[:9], company(9)],  # rank 9 twice, no 10
        [*ten[:9], company(10, company_id=ten[0]["company_id"])],
        [*ten[:9], company(11)],
        [*ten[:9], company(10, name={"en": "no zh-CN"})],
    ):
        response = await client.put(f"{path}/2026", json={"companies": bad}, headers=staff)
        assert response.status_code == 422, response.text
    assert (
        await client.put(f"{path}/1800", json={"companies": ten}, headers=staff)
    ).status_code == 422
    assert (await client.get(path)).json() == {"items": [], "next_cursor": None}
    put = await client.put(f"{path}/2025", json={"companies": list(reversed(ten))}, headers=staff)
    assert put.status_code == 200, put.text
    assert [c["rank"] for c in put.json()] == list(range(1, 11))
    renamed = [company(r, county="huaiji") for r in range(1, 11)]
    assert (
        await client.put(f"{path}/2026", json={"companies": renamed}, headers=staff)
    ).status_code == 200
    latest = await client.get(path)  # public, the latest year by default
    assert [c["rank"] for c in latest.json()["items"]] == list(range(1, 11))
    assert {c["year"] for c in latest.json()["items"]} == {2026}
    year_2025 = await client.get(path, params={"year": 2025, "limit": 4})
    assert [c["rank"] for c in year_2025.json()["items"]] == [1, 2, 3, 4]
    assert year_2025.json()["items"][0]["name"]["en"] == "Zhaoqing Home Service 1"
    # Recording a year again replaces it.
    assert (
        await client.put(f"{path}/2025", json={"companies": renamed}, headers=staff)
    ).status_code == 200
    again = await client.get(path, params={"year": 2025})
    assert {c["county"] for c in again.json()["items"]} == {"huaiji"}

    counties = "/api/v1/brand/counties"
    brand = {
        "name": text("怀集家政"),
        "slogan": text("怀集阿姨，贴心放心"),
        "description": text("……"),
    }
    assert (await client.put(f"{counties}/huaiji", json=brand)).status_code == 401
    assert (
        await client.put(f"{counties}/huaiji", json=brand, headers=employer())
    ).status_code == 403
    assert (await client.put(f"{counties}/other", json=brand, headers=staff)).status_code == 422
    assert (
        await client.put(f"{counties}/huaiji", json={**brand, "slogan": {}}, headers=staff)
    ).status_code == 422
    assert (await client.put(f"{counties}/huaiji", json=brand, headers=staff)).status_code == 200
    brand["slogan"] = {"zh-CN": "怀集阿姨", "zh-HK": "懷集阿姨", "en": "Huaiji aunties"}
    assert (await client.put(f"{counties}/huaiji", json=brand, headers=staff)).status_code == 200
    assert (await client.put(f"{counties}/fengkai", json=brand, headers=staff)).status_code == 200
    listed = (await client.get(counties)).json()["items"]
    assert [c["county"] for c in listed] == ["huaiji", "fengkai"]
    assert listed[0]["slogan"]["zh-HK"] == "懷集阿姨"


def test_brand_migration_matches_models(backend: str, tmp_path: Path) -> None:
    brand_tables = set(BrandBase.metadata.tables)
    with service_database("rating", backend, tmp_path) as url:
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            context_ = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, kind, *_: (
                        kind != "table" or name in brand_tables
                    ),
                },
            )
            assert compare_metadata(context_, BrandBase.metadata) == []
        engine.dispose()
        config = alembic_config("rating", url)
        command.downgrade(config, "c7a9e1d2f611")
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            assert not brand_tables & set(sa.inspect(connection).get_table_names())
        engine.dispose()
        command.upgrade(config, "head")
