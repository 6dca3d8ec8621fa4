"""Data for ``make demo``: the rows, names and texts it loads, and a tiny PNG encoder for the
brand photos. Pure functions, deterministic for a given index (a rerun builds the same rows)."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import date, timedelta
from typing import Any

from bench.registry_import import REGIONS, TRACKS, id_card_for
from services.kit.idnumbers import make_credit_code

COUNTIES = tuple(county for _, county in REGIONS)
REGION_OF = {county: region for region, county in REGIONS}
COUNTY_NAMES = {
    "duanzhou": ("端州区", "端州區", "Duanzhou"),
    "dinghu": ("鼎湖区", "鼎湖區", "Dinghu"),
    "gaoyao": ("高要区", "高要區", "Gaoyao"),
    "guangning": ("广宁县", "廣寧縣", "Guangning"),
    "huaiji": ("怀集县", "懷集縣", "Huaiji"),
    "fengkai": ("封开县", "封開縣", "Fengkai"),
    "deqing": ("德庆县", "德慶縣", "Deqing"),
    "sihui": ("四会市", "四會市", "Sihui"),
}
TRACK_NAMES = {
    "maternal_infant": "母婴护理",
    "housekeeping": "家务服务",
    "elderly_care": "养老护理",
    "medical_nursing": "医疗陪护",
}
SURNAMES = "陈李张黄梁何罗吴林郑邓冯谭苏叶"
GIVEN = ("秀英", "丽华", "美玲", "桂芳", "玉兰", "小燕", "凤英", "淑珍", "少芬", "惠娟", "翠萍")

#: Companies: one to two per county; the first ten are the demo's 百户十强.
COMPANY_COUNT = 12
INSTITUTION_LEVELS = (
    "provincial_demonstration",
    "municipal_demonstration",
    "municipal_demonstration",
    "ordinary",
)


def company_code(index: int) -> str:
    county = COUNTIES[index % len(COUNTIES)]
    return make_credit_code(f"91{REGION_OF[county]}MA{index:07d}")


def institution_code(index: int) -> str:
    county = COUNTIES[(index * 3) % len(COUNTIES)]
    return make_credit_code(f"52{REGION_OF[county]}MJ{index:07d}")


def company_row(index: int) -> dict[str, Any]:
    county = COUNTIES[index % len(COUNTIES)]
    place = COUNTY_NAMES[county][0]
    return {
        "credit_code": company_code(index),
        "name": f"肇庆{place}家嫂家政服务有限公司{index + 1}号",
        "legal_representative": SURNAMES[index % 15] + "经理",
        "county": county,
        "address": f"肇庆市{place}家政路{index + 1}号",
        "contact": {"name": "服务热线", "phone": f"1370000{index:04d}"},
        "kind": "employee_based" if index % 3 else "agency_based",
    }


def institution_row(index: int) -> dict[str, Any]:
    county = COUNTIES[(index * 3) % len(COUNTIES)]
    place = COUNTY_NAMES[county][0]
    return {
        "credit_code": institution_code(index),
        "name": f"肇庆市{place}家政职业培训学校{index + 1}",
        "legal_representative": SURNAMES[(index + 5) % 15] + "校长",
        "county": county,
        "address": f"肇庆市{place}培训路{index + 1}号",
        "contact": {"name": "教务处", "phone": f"1370001{index:04d}"},
        "level": INSTITUTION_LEVELS[index % len(INSTITUTION_LEVELS)],
        "tracks": list(TRACKS),
    }


def card_candidate(index: int, workers: int) -> bool:
    """Workers loaded with everything a home-service card needs but the training."""
    return index % 12 == 0 and index < workers


def worker_row(index: int, workers: int, today: date) -> dict[str, Any]:
    """One worker of the import: a valid ID number (check digit), the county of its region,
    one or two tracks; card candidates and every fifth worker are employed by a company and
    have their health and no-criminal-record certificates."""
    county = COUNTIES[index % len(COUNTIES)]
    row: dict[str, Any] = {
        "name": SURNAMES[index % 15] + GIVEN[(index // 15) % len(GIVEN)],
        "id_card_number": id_card_for(index),
        "phone": f"139{index:08d}",
        "county": county,
        "languages": ["cantonese", "mandarin"],
        "education": ("junior_high", "senior_high", "primary")[index % 3],
        "tracks": [TRACKS[(index + k) % 4] for k in range(1 + index % 2)],
        "target_groups": ["4050"] if index % 4 == 0 else [],
    }
    if card_candidate(index, workers) or index % 5 == 0:
        row["health_check"] = {
            "date": (today - timedelta(days=60)).isoformat(),
            "institution": "肇庆市第一人民医院",
            "valid_until": (today + timedelta(days=300)).isoformat(),
        }
        row["no_criminal_record"] = {
            "date": (today - timedelta(days=30)).isoformat(),
            "result": "clear",
            "valid_until": (today + timedelta(days=335)).isoformat(),
        }
        row["company_credit_code"] = company_code(index % COMPANY_COUNT)
        row["employment_kind"] = "employee_based"
    return row


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def text(zh_cn: str, zh_hk: str | None = None, en: str | None = None) -> dict[str, str]:
    out = {"zh-CN": zh_cn}
    if zh_hk:
        out["zh-HK"] = zh_hk
    if en:
        out["en"] = en
    return out


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of a vertical gradient from ``rgb`` to white (stdlib only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        mix = y / max(height - 1, 1)
        pixel = bytes(int(c + (255 - c) * mix) for c in rgb)
        rows += b"\x00" + pixel * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


CASES: tuple[tuple[str, str, dict[str, str], dict[str, str], tuple[int, int, int]], ...] = (
    (
        "model_worker",
        "gaoyao",
        text("金牌月嫂陈秀英", "金牌月嫂陳秀英", "Chen Xiuying, gold-medal maternity nurse"),
        text(
            "从业十二年，照护新生儿三百余名，获肇庆市技术能手称号。",
            "從業十二年，照護新生兒三百餘名，獲肇慶市技術能手稱號。",
            "Twelve years of care for more than 300 newborns; a Zhaoqing technical expert.",
        ),
        (214, 69, 65),
    ),
    (
        "model_worker",
        "huaiji",
        text("养老护理员李丽华", "養老護理員李麗華", "Li Lihua, elderly carer"),
        text("从怀集山村走出的养老护理能手，把老人当亲人。", "從懷集山村走出的養老護理能手。"),
        (66, 133, 244),
    ),
    (
        "case",
        "duanzhou",
        text("“家嫂”走进大湾区家庭", "「家嫂」走進大灣區家庭", "Jiasao in Greater Bay Area homes"),
        text(
            "端州区家政企业与广州、深圳平台合作，三百名家嫂持证上岗。",
            "端州區家政企業與廣州、深圳平台合作，三百名家嫂持證上崗。",
            "Duanzhou companies and Guangzhou and Shenzhen platforms placed 300 certified workers.",
        ),
        (15, 157, 88),
    ),
    (
        "case",
        "sihui",
        text("四会培训基地：学技能、稳就业", "四會培訓基地：學技能、穩就業"),
        text("示范培训基地一年培训一千二百人次，结业即就业。"),
        (244, 180, 0),
    ),
    (
        "model_worker",
        "deqing",
        text("医疗陪护张美玲", "醫療陪護張美玲", "Zhang Meiling, hospital companion"),
        text("疫情期间坚守病房，获评德庆县最美家政人。"),
        (171, 71, 188),
    ),
    (
        "case",
        "fengkai",
        text("封开“巾帼家政”带富一方", "封開「巾幗家政」帶富一方"),
        text("妇女就业创业项目带动二百户家庭增收。"),
        (0, 172, 193),
    ),
)

COUNTY_SLOGANS = {
    "duanzhou": "砚都家嫂，品质服务",
    "dinghu": "鼎湖山下，贴心家政",
    "gaoyao": "高要月嫂，金牌品质",
    "guangning": "竹乡阿姨，勤劳可靠",
    "huaiji": "怀集家嫂，走向湾区",
    "fengkai": "封开巾帼，诚信家政",
    "deqing": "德庆护理，孝德传家",
    "sihui": "四会阿姨，技能过硬",
}


def first_day_of_year(today: date) -> date:
    return date(today.year, 1, 1)
