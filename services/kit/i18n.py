"""Accept-Language for human-readable text: zh-CN (default), zh-HK and en (DESIGN.md §4).

Problem titles are translated from a catalogue keyed by the problem's stable slug; clients
should branch on ``type``, never on text. Details written by domain code stay as written.
"""

from __future__ import annotations

from contextvars import ContextVar

from services.kit.problem_titles import GENERIC_TITLES, PROBLEM_TITLES

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


def title(slug: str, raised: str, fallback_slug: str = "bad-request") -> str:
    """The problem's title in the request's language. English keeps the title the code raised
    unless it is a bare status word; Chinese comes from the catalogue, by the problem's slug,
    else by its status (``fallback_slug``) rather than answering a Chinese reader in English."""
    language = language_var.get()
    entry = PROBLEM_TITLES.get(slug)
    if language == "en":
        return entry[0] if entry is not None and raised in GENERIC_TITLES else raised
    entry = entry or PROBLEM_TITLES.get(fallback_slug)
    if entry is None:
        return raised
    return entry[1] if language == "zh-CN" else entry[2]
