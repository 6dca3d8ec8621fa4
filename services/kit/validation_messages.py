"""Validation messages in zh-CN and zh-HK for the errors pydantic reports most, keyed by its
stable error ``type`` (https://docs.pydantic.dev/latest/errors/validation_errors/).

English keeps pydantic's own message. A type not catalogued keeps it too, so a Chinese reader
may still meet English for a rare check; the field name and ``code`` are always there.
Placeholders are filled from the error's ``ctx``.
"""

from __future__ import annotations

from typing import Any

#: error type → (zh-CN, zh-HK)
MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("必填字段", "必填欄位"),
    "extra_forbidden": ("不允许的字段", "不允許的欄位"),
    "string_type": ("应为文本", "應為文字"),
    "string_too_short": ("至少 {min_length} 个字符", "最少 {min_length} 個字元"),
    "string_too_long": ("最多 {max_length} 个字符", "最多 {max_length} 個字元"),
    "string_pattern_mismatch": ("格式不正确", "格式不正確"),
    "too_short": ("至少 {min_length} 项", "最少 {min_length} 項"),
    "too_long": ("最多 {max_length} 项", "最多 {max_length} 項"),
    "int_type": ("应为整数", "應為整數"),
    "int_parsing": ("应为整数", "應為整數"),
    "int_from_float": ("应为整数", "應為整數"),
    "float_type": ("应为数字", "應為數字"),
    "float_parsing": ("应为数字", "應為數字"),
    "decimal_parsing": ("应为数字", "應為數字"),
    "bool_type": ("应为布尔值", "應為布林值"),
    "bool_parsing": ("应为布尔值", "應為布林值"),
    "greater_than": ("应大于 {gt}", "應大於 {gt}"),
    "greater_than_equal": ("应不小于 {ge}", "應不小於 {ge}"),
    "less_than": ("应小于 {lt}", "應小於 {lt}"),
    "less_than_equal": ("应不大于 {le}", "應不大於 {le}"),
    "literal_error": ("应为以下之一：{expected}", "應為以下之一：{expected}"),
    "enum": ("应为以下之一：{expected}", "應為以下之一：{expected}"),
    "uuid_type": ("应为 UUID", "應為 UUID"),
    "uuid_parsing": ("应为 UUID", "應為 UUID"),
    "date_type": ("应为日期（YYYY-MM-DD）", "應為日期（YYYY-MM-DD）"),
    "date_parsing": ("应为日期（YYYY-MM-DD）", "應為日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": ("应为日期（YYYY-MM-DD）", "應為日期（YYYY-MM-DD）"),
    "datetime_type": ("应为 RFC 3339 时间", "應為 RFC 3339 時間"),
    "datetime_parsing": ("应为 RFC 3339 时间", "應為 RFC 3339 時間"),
    "datetime_from_date_parsing": ("应为 RFC 3339 时间", "應為 RFC 3339 時間"),
    "timezone_aware": ("时间须带时区", "時間須帶時區"),
    "list_type": ("应为数组", "應為陣列"),
    "dict_type": ("应为对象", "應為物件"),
    "model_type": ("应为对象", "應為物件"),
    "model_attributes_type": ("应为对象", "應為物件"),
    "json_invalid": ("JSON 格式不正确", "JSON 格式不正確"),
    "json_type": ("应为 JSON", "應為 JSON"),
    "url_parsing": ("应为网址", "應為網址"),
    "url_scheme": ("网址协议不允许", "網址協定不允許"),
    "union_tag_invalid": ("类型标记无效", "類型標記無效"),
    "union_tag_not_found": ("缺少类型标记", "缺少類型標記"),
}

#: The summary a validation problem's detail gives, before the field names.
INVALID_FIELDS = {
    "en": "Invalid fields: {fields}",
    "zh-CN": "以下字段无效：{fields}",
    "zh-HK": "以下欄位無效：{fields}",
}
INVALID_REQUEST = {
    "en": "The request is not valid",
    "zh-CN": "请求无效",
    "zh-HK": "請求無效",
}


def message(error_type: str, original: str, ctx: dict[str, Any] | None, language: str) -> str:
    """The message for one pydantic error in ``language``."""
    entry = MESSAGES.get(error_type)
    if language == "en" or entry is None:
        return original
    template = entry[0] if language == "zh-CN" else entry[1]
    try:
        return template.format(**(ctx or {}))
    except (KeyError, IndexError, ValueError):
        return template.split("{", 1)[0].rstrip("：: ") or original
