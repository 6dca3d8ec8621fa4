"""Skill competitions: a versioned award policy, registration, judged rounds, rankings with
ties, and the 技术能手 award announced on the TRAINING stream for credit to certify."""

from __future__ import annotations

import uuid

from contracts.training import CompetitionAwarded
from tests.support.apps import eventually
from tests.support.tokens import bearer
from tests.training.test_training_programme import problem
from tests.training.training_support import Training

BASE = "/api/v1/competitions"


async def test_competition_ranks_and_awards_winners(training: Training) -> None:
    staff = training.institution()
    event = {
        "title": "肇庆市家政服务职业技能大赛",
        "track": "elderly_care",
        "held_on": "2026-05-20",
    }
    problem(await training.post(BASE, {**event, "rounds": 2}), 409, "no-award-policy")
    policy = {"winners": 2, "min_total_score": 100}
    assert (await training.post(f"{BASE}/policy", policy, as_=staff)).status_code == 403
    assert (await training.post(f"{BASE}/policy", policy)).json()["version"] == 1
    assert (await training.post(BASE, {**event, "rounds": 2}, as_=staff)).status_code == 403
    created = await training.post(BASE, {**event, "rounds": 2})
    assert created.status_code == 201, created.text
    competition = created.json()
    assert (competition["policy_version"], competition["status"]) == (1, "open")
    path = f"{BASE}/{competition['id']}"
    listed = (await training.client.get(BASE, params={"track": "elderly_care"})).json()
    assert [c["id"] for c in listed["items"]] == [competition["id"]]

    workers = [await training.known_worker(name) for name in ("甲", "乙", "丙", "丁")]
    entries = []
    for worker_id in workers[:3]:
        response = await training.post(f"{path}/entries", {}, as_=bearer("worker", worker_id))
        assert response.status_code == 201, response.text
        entries.append(response.json()["id"])
    by_officer = await training.post(f"{path}/entries", {"worker_id": str(workers[3])})
    entries.append(by_officer.json()["id"])
    again = await training.post(f"{path}/entries", {}, as_=bearer("worker", workers[0]))
    problem(again, 409, "already-registered")
    someone_else = {"worker_id": str(workers[1])}
    assert (
        await training.post(f"{path}/entries", someone_else, as_=bearer("worker", workers[0]))
    ).status_code == 403

    # Two judges, two rounds; a round's score is the judges' mean. Totals: 甲 180, 乙 170,
    # 丙 170 (tied second), 丁 90 (below the policy's 100 even if ranked).
    judges = [bearer("officer", subject=f"judge-{n}") for n in (1, 2)]
    marks = {0: (90, 90), 1: (80, 90), 2: (85, 85), 3: (40, 50)}
    for index, (first, second) in marks.items():
        for round_no, scores in ((1, (first, first)), (2, (second, second))):
            for judge, score in zip(judges, scores, strict=True):
                body = {"entry_id": entries[index], "round": round_no, "score": score}
                response = await training.post(f"{path}/scores", body, as_=judge)
                assert response.status_code == 200, response.text
    # A judge re-scoring replaces their score; a third round does not exist.
    rescore = {"entry_id": entries[0], "round": 1, "score": 90}
    assert (await training.post(f"{path}/scores", rescore, as_=judges[0])).status_code == 200
    beyond = {"entry_id": entries[0], "round": 3, "score": 90}
    problem(await training.post(f"{path}/scores", beyond), 422, "validation-error")
    assert (await training.post(f"{path}/scores", rescore, as_=staff)).status_code == 403

    finished = await training.post(f"{path}/finish")
    assert finished.status_code == 200, finished.text
    results = {e["worker_id"]: (e["rank"], e["total_score"], e["awarded"]) for e in finished.json()}
    assert results == {
        str(workers[0]): (1, 180, True),
        str(workers[1]): (2, 170, True),
        str(workers[2]): (2, 170, True),
        str(workers[3]): (4, 90, False),
    }
    problem(await training.post(f"{path}/finish"), 409, "competition-finished")
    problem(await training.post(f"{path}/scores", rescore), 409, "competition-finished")
    public = (await training.client.get(f"{path}/entries")).json()
    assert [e["rank"] for e in public] == [1, 2, 2, 4]
    assert (await training.client.get(path)).json()["status"] == "finished"

    await eventually(training.all_published)
    awards = [
        CompetitionAwarded.model_validate(e.data)
        for e in await training.peer.read("TRAINING", CompetitionAwarded.subject)
    ]
    assert sorted((a.worker_id, a.rank) for a in awards) == sorted(
        [(str(workers[0]), 1), (str(workers[1]), 2), (str(workers[2]), 2)]
    )
    assert {(a.title, a.policy_version, a.track) for a in awards} == {
        ("technical_expert", 1, "elderly_care")
    }
    assert all(a.competition_id == competition["id"] for a in awards)
    assert uuid.UUID(awards[0].award_id)
    record = await training.get(
        f"/api/v1/skills-records/{workers[0]}", as_=bearer("worker", workers[0])
    )
    assert [(i["kind"], i["rank"]) for i in record.json()["items"]] == [
        ("competition_entered", None),
        ("technical_expert_awarded", 1),
    ]
