"""Numbers that are numbers: no ``true`` for 1, no ``"87.5"`` for 87.5.

pydantic's lax mode turns a JSON ``true`` into 1 and a numeric string into a number. Where a
person's data or a programme rule is set, that silently changes meaning (``"pass_score":
false`` once stored 0 and passed everyone), so those fields refuse both with a 422.
``Field(strict=True)`` does this for ``int`` and ``float``; a ``Decimal`` field in strict mode
would refuse JSON numbers too (they arrive as floats), so it takes :data:`NOT_BOOL_OR_STR`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator


def _number_only(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


#: Put before a Decimal (or other number) type: booleans and strings are refused.
NOT_BOOL_OR_STR = BeforeValidator(_number_only)

#: An integer as JSON Schema means one: 2 or 2.0 (an integral number), never 2.5, ``true`` or
#: ``"2"``. ``Field(strict=True)`` would refuse 2.0, which a client's JSON encoder may send.
WholeNumber = Annotated[int, NOT_BOOL_OR_STR]


def _text_only(value: Any) -> Any:
    # pydantic's lax mode reads a number as a Unix time: 0 would be 1970-01-01, silently.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string")
    return value


#: A date or time written as ISO 8601 text, never a number.
IsoDate = Annotated[date, BeforeValidator(_text_only)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
