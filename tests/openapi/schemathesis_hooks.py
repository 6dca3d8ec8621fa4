"""schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by tests/openapi/fuzz.py): what a JSON
Schema cannot say about valid input, taught to the generator the way a real client knows it.

- ``Idempotency-Key``: a client sends a new key for each new request and the same key only to
  retry it. The generator draws keys from the documented pattern and reuses the same values
  across different requests, which the platform rightly refuses (key reused): every request
  here gets a fresh key.
- ``cursor``: only a ``next_cursor`` the API issued is a valid cursor, and no schema can say
  which strings those are, so a request meant to be valid leaves it out (requests meant to be
  invalid still send made-up ones, whose answer must be documented).
- String formats ``cn-resident-id`` (GB 11643, with its check character), ``cn-credit-code``
  (GB 32100, with its check character) and ``cn-mobile``: valid values for fields the document
  marks with these formats, since a pattern cannot carry a checksum.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import schemathesis
from hypothesis import strategies as st

from services.kit.idnumbers import CREDIT_CODE_CHARSET, make_credit_code, make_id_card

# Zhaoqing's districts and counties (the platform's programme area).
_REGIONS = ("441202", "441203", "441204", "441223", "441224", "441225", "441226", "441284")
_DIGITS = "0123456789"

resident_ids = st.builds(
    make_id_card,
    st.sampled_from(_REGIONS),
    st.dates(min_value=date(1961, 1, 1), max_value=date(2004, 12, 31)),
    st.text(_DIGITS, min_size=3, max_size=3),
)
credit_codes = st.builds(
    lambda body: make_credit_code("91441200" + body),
    st.text(CREDIT_CODE_CHARSET, min_size=9, max_size=9),
)
mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(("135", "136", "137", "138", "139", "150", "158", "186", "188", "199")),
    st.text(_DIGITS, min_size=8, max_size=8),
)

schemathesis.openapi.format("cn-resident-id", resident_ids)
schemathesis.openapi.format("cn-credit-code", credit_codes)
schemathesis.openapi.format("cn-mobile", mobiles)


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.query:
        case.query.pop("cursor", None)
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key":
                headers[name] = uuid.uuid4().hex
