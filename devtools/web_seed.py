"""A little data for the web pages, through the gateway's public API only: an officer who can
sign in, workers in two counties (one with a home-service card), a course, a published typical
case with a photo, a model worker, the year's 百户十强 and a county brand.

Used by the browser tests (tests/gateway/test_web_browser.py) and ``make screenshots``.
"""

from __future__ import annotations

import secrets
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.idnumbers import CREDIT_CODE_CHARSET, make_credit_code, make_id_card
from services.kit.settings import PlatformSettings

OFFICER_PASSWORD = "dashboard-2026"
#: Workers of the seed: (county, status); the first gets a card.
WORKERS: tuple[tuple[str, str], ...] = (
    ("gaoyao", "active"),
    ("gaoyao", "active"),
    ("gaoyao", "verified"),
    ("sihui", "active"),
    ("sihui", "registered"),
)


class SeedError(RuntimeError):
    pass


@dataclass
class Seeded:
    officer_phone: str
    officer_password: str
    worker_phone: str = ""
    worker_password: str = OFFICER_PASSWORD
    worker_ids: list[str] = field(default_factory=list)
    case_id: str | None = None
    card_code: str | None = None
    card_colour: str | None = None
    year: int = 0


def staff_token(var_dir: Path, role: str = "admin") -> str:
    """A short-lived token signed with the platform's development key (as its tests do)."""
    settings = PlatformSettings()
    keys = SigningKeys.load(var_dir / "secrets" / "jwt_keys.json")
    token, _ = TokenIssuer(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=900
    ).issue(subject=str(uuid.uuid4()), role=role, party_id=None)  # type: ignore[arg-type]
    return token


def poll(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise SeedError(f"not reached within {timeout}s: {last!r}")


def png(width: int = 96, height: int = 64, rgb: tuple[int, int, int] = (122, 31, 31)) -> bytes:
    """A small solid PNG (the case's photo) made here, no image library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _ok(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in (statuses or (200, 201)):
        raise SeedError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


def _worker_body(index: int, county: str, company_id: str, today: date) -> dict[str, Any]:
    seq = f"{(uuid.uuid4().int + index) % 900 + 100}"
    return {
        "name": ["黄美玲", "李秀英", "陈丽华", "张桂芳", "梁淑贞"][index % 5],
        "id_card_number": make_id_card("441202", date(1980 + index, 3, 10), seq),
        "phone": _phone(),
        "county": county,
        "tracks": ["maternal_infant" if index % 2 == 0 else "elderly_care"],
        "health_check": {
            "date": (today - timedelta(days=30)).isoformat(),
            "institution": "肇庆市第一人民医院",
            "valid_until": (today + timedelta(days=335)).isoformat(),
        },
        "no_criminal_record": {
            "date": (today - timedelta(days=10)).isoformat(),
            "result": "clear",
            "valid_until": (today + timedelta(days=355)).isoformat(),
        },
        "employment": {"company_id": company_id},
    }


def _phone() -> str:
    return "138" + "".join(secrets.choice("0123456789") for _ in range(8))


def _company(api: httpx.Client, name: str, county: str) -> str:
    body = {
        "credit_code": make_credit_code(
            "91441200" + "".join(secrets.choice(CREDIT_CODE_CHARSET) for _ in range(9))
        ),
        "name": name,
        "legal_representative": "梁志强",
        "county": county,
        "address": "高要区南岸街道 1 号",
        "contact": {"name": "黄丽", "phone": _phone()},
        "kind": "employee_based",
        "honours": ["全国家政服务业千户百强"],
    }
    return str(_ok(api.post("/api/v1/companies", json=body))["id"])


def seed(gateway_url: str, var_dir: Path, *, with_card: bool = True) -> Seeded:
    """Load the seed into the platform behind ``gateway_url`` (its var dir holds the keys)."""
    today = datetime.now(UTC).date()
    officer_phone = _phone()
    seeded = Seeded(officer_phone, OFFICER_PASSWORD, year=today.year)
    admin = {"Authorization": f"Bearer {staff_token(var_dir)}"}
    with httpx.Client(base_url=gateway_url, timeout=15, headers=admin) as api:
        _ok(
            api.post(
                "/api/v1/accounts",
                json={
                    "phone": officer_phone,
                    "password": OFFICER_PASSWORD,
                    "role": "officer",
                    "display_name": "示例科员",
                },
            )
        )
        company_id = _company(api, "肇庆市好帮手家政服务有限公司", "gaoyao")
        for index, (county, status) in enumerate(WORKERS):
            worker = _ok(
                api.post("/api/v1/workers", json=_worker_body(index, county, company_id, today))
            )
            seeded.worker_ids.append(worker["id"])
            if status in ("verified", "active"):
                _ok(api.post(f"/api/v1/workers/{worker['id']}/verify"))
            if status == "active":
                _ok(
                    api.post(
                        f"/api/v1/workers/{worker['id']}/status",
                        json={"to": "active", "reason": "上岗"},
                    )
                )
        # The first worker can sign in (to answer the brand's open call).
        seeded.worker_phone = _phone()
        _ok(
            api.post(
                "/api/v1/accounts",
                json={
                    "phone": seeded.worker_phone,
                    "password": seeded.worker_password,
                    "role": "worker",
                    "party_id": seeded.worker_ids[0],
                    "display_name": "黄美玲",
                },
            )
        )
        course = _ok(
            api.post(
                "/api/v1/courses",
                json={
                    "title": "母婴护理（初级）",
                    "track": "maternal_infant",
                    "training_type": "pre_job",
                    "hours": 40,
                },
            )
        )
        _seed_brand(api, seeded, company_id)
        if with_card:
            _seed_card(api, seeded, course["id"])
    return seeded


def _seed_card(api: httpx.Client, seeded: Seeded, course_id: str) -> None:
    worker_id = seeded.worker_ids[0]

    def enrol() -> Any:
        response = api.post(
            "/api/v1/enrollments", json={"course_id": course_id, "worker_id": worker_id}
        )
        if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
            return None  # training has not heard of the worker yet
        return _ok(response)

    enrollment = poll(enrol)
    _ok(
        api.post(
            f"/api/v1/enrollments/{enrollment['id']}/result",
            json={"score": 92, "hours_attended": 40},
        )
    )
    _ok(api.post(f"/api/v1/enrollments/{enrollment['id']}/complete"))

    def card() -> Any:
        response = api.get(f"/api/v1/workers/{worker_id}/credit/card")
        return response.json() if response.status_code == 200 else None

    issued = poll(card)
    seeded.card_code = str(issued["verification_url"]).rsplit("/", 1)[1]
    seeded.card_colour = str(issued["colour"])


def _text(zh: str, hk: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "zh-HK": hk, "en": en}


def _seed_brand(api: httpx.Client, seeded: Seeded, company_id: str) -> None:
    case = _ok(
        api.post(
            "/api/v1/brand/cases",
            json={
                "kind": "case",
                "title": _text(
                    "月嫂黄美玲：用心守护新生命",
                    "月嫂黃美玲：用心守護新生命",
                    "Huang Meiling: caring for new lives",
                ),
                "body": _text(
                    "从业十二年，服务家庭三百余户。\n她说：每一个宝宝都值得最好的照顾。",
                    "從業十二年，服務家庭三百餘戶。\n她說：每一個寶寶都值得最好的照顧。",
                    "Twelve years, more than 300 families.\n"
                    "\u201cEvery baby deserves the best care,\u201d she says.",
                ),
                "county": "gaoyao",
                "source": "open_call",
                "worker_id": seeded.worker_ids[0],
            },
        )
    )
    seeded.case_id = str(case["id"])
    _ok(
        api.put(
            f"/api/v1/brand/cases/{case['id']}/photo",
            content=png(),
            headers={"Content-Type": "image/png"},
        )
    )
    _ok(api.post(f"/api/v1/brand/cases/{case['id']}/publish"))
    model = _ok(
        api.post(
            "/api/v1/brand/cases",
            json={
                "kind": "model_worker",
                "title": _text(
                    "李秀英：养老护理的“贴心人”",
                    "李秀英：安老護理的「貼心人」",
                    "Li Xiuying: a trusted carer of older people",
                ),
                "body": _text(
                    "十年如一日照护失能老人。",
                    "十年如一日照護失能長者。",
                    "Ten years caring for older people who need help every day.",
                ),
                "county": "sihui",
                "source": "competition",
                "worker_id": seeded.worker_ids[1],
            },
        )
    )
    _ok(api.post(f"/api/v1/brand/cases/{model['id']}/publish"))
    names = [
        "好帮手",
        "贴心家",
        "安心嫂",
        "阳光家政",
        "端砚家政",
        "鼎湖山家政",
        "西江家政",
        "星湖家政",
        "四会家政",
        "怀集家政",
    ]
    _ok(
        api.put(
            f"/api/v1/brand/top-companies/{seeded.year}",
            json={
                "companies": [
                    {
                        "rank": rank,
                        "name": {"zh-CN": f"肇庆市{name}服务有限公司"},
                        "county": "gaoyao" if rank % 2 else "duanzhou",
                        **({"company_id": company_id} if rank == 1 else {}),
                    }
                    for rank, name in enumerate(names, start=1)
                ]
            },
        )
    )
    _ok(
        api.put(
            "/api/v1/brand/counties/gaoyao",
            json={
                "name": _text("高要家嫂", "高要家嫂", "Gaoyao Jiasao"),
                "slogan": _text(
                    "贴心服务 温暖万家", "貼心服務 溫暖萬家", "Caring service, warm homes"
                ),
                "description": _text(
                    "高要区家政服务品牌。",
                    "高要區家政服務品牌。",
                    "Gaoyao district's household-services brand.",
                ),
            },
        )
    )
