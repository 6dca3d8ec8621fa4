"""The page the card's QR code opens: minimal facts in zh-CN, zh-HK or English, server-rendered
with every asset inline (no CDN), readable on a phone, colour always named in words too."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.credit.credentials.api import CODE_PATTERN, card_verification
from services.credit.credentials.schemas import CardVerification
from services.kit.app import ServiceContext, get_ctx
from services.kit.i18n import SUPPORTED, negotiate
from services.kit.policy import public

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "居家上门服务证核验",
        "green": "有效",
        "yellow": "有效（即将到期，请留意）",
        "red": "无效（已暂停、吊销或过期）",
        "number": "证号",
        "name": "持证人",
        "tracks": "服务类别",
        "valid_until": "有效期至",
        "stars": "星级",
        "stars_of": "{stars} 星（{year} 年度）",
        "no_stars": "暂无评级",
        "footer": "肇庆市“肇庆家嫂”工程 · 本页仅显示核验所需的最少信息",
        "not_found": "未找到此证件，请确认二维码来自正规证件。",
        "language": "语言",
    },
    "zh-HK": {
        "title": "居家上門服務證核驗",
        "green": "有效",
        "yellow": "有效（即將到期，請留意）",
        "red": "無效（已暫停、吊銷或過期）",
        "number": "證號",
        "name": "持證人",
        "tracks": "服務類別",
        "valid_until": "有效期至",
        "stars": "星級",
        "stars_of": "{stars} 星（{year} 年度）",
        "no_stars": "暫無評級",
        "footer": "肇慶市「肇慶家嫂」工程 · 本頁只顯示核驗所需的最少資料",
        "not_found": "找不到此證件，請確認二維碼來自正規證件。",
        "language": "語言",
    },
    "en": {
        "title": "Home-service certificate check",
        "green": "Valid",
        "yellow": "Valid (something expires soon)",
        "red": "Not valid (suspended, revoked or expired)",
        "number": "Number",
        "name": "Holder",
        "tracks": "Services",
        "valid_until": "Valid until",
        "stars": "Stars",
        "stars_of": "{stars} of 5 ({year})",
        "no_stars": "Not rated yet",
        "footer": "Zhaoqing Jiasao programme · this page shows only what a check needs",
        "not_found": "No such certificate. Make sure the QR code is from a genuine card.",
        "language": "Language",
    },
}
TRACKS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "maternal_infant": "母婴护理",
        "housekeeping": "家务服务",
        "elderly_care": "养老护理",
        "medical_nursing": "医疗护理",
    },
    "zh-HK": {
        "maternal_infant": "母嬰護理",
        "housekeeping": "家務服務",
        "elderly_care": "養老護理",
        "medical_nursing": "醫療護理",
    },
    "en": {
        "maternal_infant": "Maternal and infant care",
        "housekeeping": "Housekeeping",
        "elderly_care": "Elderly care",
        "medical_nursing": "Medical nursing",
    },
}
LANGUAGES = [("zh-CN", "简体中文"), ("zh-HK", "繁體中文"), ("en", "English")]

router = APIRouter(include_in_schema=False)


def render(lang: str, card: CardVerification | None) -> str:
    tracks = [TRACKS[lang].get(track, track) for track in card.tracks] if card else []
    return _env.get_template("verify.html").render(
        lang=lang, t=TEXTS[lang], card=card, tracks=tracks, languages=LANGUAGES
    )


def language(request: Request, lang: str | None) -> str:
    return lang if lang in SUPPORTED else negotiate(request.headers.get("accept-language"))


@router.get("/verify/{code}", response_class=HTMLResponse, dependencies=[Depends(public())])
async def verification_page(
    request: Request,
    code: str = PathParam(),
    lang: str | None = Query(None, max_length=10),
    ctx: ServiceContext = Depends(get_ctx),
) -> HTMLResponse:
    """What the card's QR code opens (HTML); the same facts as
    GET /api/v1/verifications/cards/{code}."""
    chosen = language(request, lang)
    card = await card_verification(ctx, code) if re.fullmatch(CODE_PATTERN, code) else None
    headers = {"Content-Language": chosen, "Cache-Control": "no-store"}
    return HTMLResponse(render(chosen, card), status_code=200 if card else 404, headers=headers)
