"""Field types and validators the party schemas share: names and addresses, the mobile and
credit-code checks, and the OpenAPI annotations that tell clients which check a value must pass.

The validators raise ``PydanticCustomError`` with the checker's own words, so a request's (or an
imported row's) error names the field and says what is wrong, without a prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from services.kit.idnumbers import InvalidCreditCode, InvalidMobile, parse_credit_code, parse_mobile

PersonName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^\S(.*\S)?$"),
    Field(examples=["李秀英"]),
]
#: OpenAPI formats naming the checks the platform applies (GB 11643, GB 32100, mainland mobile).
RESIDENT_ID: dict[str, Any] = {"format": "cn-resident-id"}
CREDIT_CODE: dict[str, Any] = {"format": "cn-credit-code"}
MOBILE: dict[str, Any] = {"format": "cn-mobile"}

OrgName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Address = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]


def valid_mobile(value: str) -> str:
    try:
        return parse_mobile(value)
    except InvalidMobile as exc:
        raise PydanticCustomError("invalid_mobile", str(exc)) from None


def valid_credit_code(value: str) -> str:
    try:
        return parse_credit_code(value)
    except InvalidCreditCode as exc:
        raise PydanticCustomError("invalid_credit_code", str(exc)) from None


def unique_entries(value: list[Any] | None) -> list[Any] | None:
    if value is not None and len(set(value)) != len(value):
        raise PydanticCustomError("duplicate_entry", "must not repeat an entry")
    return value


#: The document says what ``unique_entries`` enforces, so clients and contract testers know it.
UNIQUE_ITEMS: dict[str, Any] = {"uniqueItems": True}


def refuses_null(*names: str) -> Any:
    """A PATCH model's validator: ``names`` may be absent (unchanged) but not null. Pair it
    with :func:`never_null` so the schema says the same."""

    def refuse(cls: Any, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_nullable", "may not be null")
        return value

    return field_validator(*names, mode="before")(refuse)


def never_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """A model's ``json_schema_extra``: these optional fields refuse null (absent = unchanged),
    so their schema has no null branch and no null default."""

    def strip(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema.get("properties", {}).get(name)
            if field is None or "anyOf" not in field:
                continue
            kept = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
            field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            if "default" in field and field["default"] is None:
                del field["default"]

    return strip
