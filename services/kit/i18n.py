"""Accept-Language for human-readable text: zh-CN (default), zh-HK and en (DESIGN.md §4).

Problem titles are translated from a catalogue keyed by the problem's stable slug; clients
should branch on ``type``, never on text. Details written by domain code stay as written.
"""

from __future__ import annotations

from contextvars import ContextVar

SUPPORTED = ("zh-CN", "zh-HK", "en")
DEFAULT = "zh-CN"

language_var: ContextVar[str] = ContextVar("language", default=DEFAULT)

_ALIASES = {
    "zh": "zh-CN",
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-sg": "zh-CN",
    "zh-hk": "zh-HK",
    "zh-mo": "zh-HK",
    "zh-tw": "zh-HK",
    "zh-hant": "zh-HK",
    "en": "en",
}

#: slug → (zh-CN, zh-HK); English is the title the code raises with.
TITLES: dict[str, tuple[str, str]] = {
    "bad-request": ("请求有误", "請求有誤"),
    "unauthorized": ("需要登录", "需要登入"),
    "forbidden": ("无权操作", "無權操作"),
    "not-found": ("未找到", "找不到"),
    "method-not-allowed": ("不支持该方法", "不支援該方法"),
    "conflict": ("冲突", "衝突"),
    "precondition-failed": ("版本已变更", "版本已變更"),
    "precondition-required": ("需要 If-Match", "需要 If-Match"),
    "payload-too-large": ("内容过大", "內容過大"),
    "request-timeout": ("请求超时", "請求逾時"),
    "idempotent-response-withheld": ("请求已完成", "請求已完成"),
    "unsupported-media-type": ("不支持的内容类型", "不支援的內容類型"),
    "validation-error": ("输入无效", "輸入無效"),
    "too-many-requests": ("请求过于频繁", "請求過於頻繁"),
    "account-locked": ("账号已暂时锁定", "帳號已暫時鎖定"),
    "internal-error": ("服务器内部错误", "伺服器內部錯誤"),
    "bad-gateway": ("上游服务应答无效", "上游服務回應無效"),
    "service-unavailable": ("服务暂不可用", "服務暫不可用"),
    "gateway-timeout": ("上游服务超时", "上游服務逾時"),
    "invalid-cursor": ("分页游标无效", "分頁游標無效"),
    "unknown-worker": ("未知的家政服务员", "未知的家務助理"),
    "duplicate-worker": ("家政服务员已登记", "家務助理已登記"),
    "idempotency-key-reused": ("幂等键已用于其他请求", "冪等鍵已用於其他請求"),
    "request-in-progress": ("请求处理中", "請求處理中"),
    "invalid-idempotency-key": ("幂等键无效", "冪等鍵無效"),
    # --- rating (services/rating/problems.py names the English titles) ---
    "already-rated": ("已评价过", "已評價過"),
    "no-finished-engagement": ("没有已完成的雇用", "沒有已完成的僱用"),
    "review-window-closed": ("评价期已过", "評價期已過"),
    "assessment-year-not-open": ("评定年度未开放", "評定年度未開放"),
    "year-exists": ("评定年度已开放过", "評定年度已開放過"),
    "year-closed": ("评定年度已结束", "評定年度已結束"),
    "nothing-published": ("尚无公布的星级", "尚無公佈的星級"),
    "appeal-pending": ("申诉正在处理中", "申訴正在處理中"),
    "appeal-decided": ("申诉已有决定", "申訴已有決定"),
    "appeal-window-closed": ("申诉期已过", "申訴期已過"),
    "already-moderated": ("已审核处理", "已審核處理"),
    "not-a-review": ("不是雇主评价", "不是僱主評價"),
    "already-replied": ("已回复过", "已回覆過"),
}


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = _ALIASES.get(tag.strip().lower()) or _ALIASES.get(
            tag.strip().lower().split("-")[0]
        )
        if language and quality > 0:
            choices.append((-quality, position, language))
    return min(choices)[2] if choices else DEFAULT


def title(slug: str, english: str) -> str:
    language = language_var.get()
    if language == "en" or slug not in TITLES:
        return english
    return TITLES[slug][0 if language == "zh-CN" else 1]
