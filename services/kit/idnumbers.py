"""Validation and masking of PRC identity numbers: resident ID cards, credit codes, mobiles.

Pure functions, no I/O. Every ``parse_*`` normalises its input (NFKC, so full-width digits typed
on a Chinese IME are accepted; whitespace removed; upper-case) and either returns the canonical
form or raises a ``ValueError`` subclass whose message says exactly what is wrong. Messages never
repeat the whole number, because they can end up in logs and problem responses (DESIGN.md §2).

- Resident ID card: GB 11643-1999, check character by ISO 7064 MOD 11-2.
- Unified social credit code: GB 32100-2015, check character modulo 31.
- Mobile: mainland China numbers (``1[3-9]`` + 9 digits), optionally with a +86 / 0086 prefix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "CREDIT_CODE_CHARSET",
    "PROVINCE_CODES",
    "Gender",
    "IdCard",
    "InvalidCreditCode",
    "InvalidIdNumber",
    "InvalidMobile",
    "credit_code_check_char",
    "id_card_check_char",
    "make_credit_code",
    "make_id_card",
    "mask_id_card",
    "mask_mobile",
    "parse_credit_code",
    "parse_id_card",
    "parse_mobile",
]


class InvalidIdNumber(ValueError):
    """The value is not a valid 18-character resident ID card number."""


class InvalidCreditCode(ValueError):
    """The value is not a valid unified social credit code."""


class InvalidMobile(ValueError):
    """The value is not a valid mainland China mobile number."""


def _normalise(value: str) -> str:
    # NFKC folds full-width digits/letters ("１２３Ｘ") to ASCII; split/join drops every space.
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


# --- Resident ID card (GB 11643-1999) -------------------------------------------------------

#: First two digits of the administrative division code (GB/T 2260): 31 provincial-level units
#: plus Taiwan (71), Hong Kong (81) and Macao (82).
PROVINCE_CODES: frozenset[str] = frozenset(
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82"]
)

_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_MAP = "10X98765432"
_ID_MIN_YEAR = 1900
_DIGITS17 = re.compile(r"[0-9]{17}")


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class IdCard:
    #: Canonical 18-character form (upper-case X).
    number: str
    #: Administrative division code where the number was issued (first 6 digits).
    region_code: str
    birth_date: date
    gender: Gender

    def __repr__(self) -> str:
        # Keep the plaintext number out of reprs that end up in logs and tracebacks.
        return f"IdCard(number={mask_id_card(self.number)!r}, region_code={self.region_code!r})"


def id_card_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if not _DIGITS17.fullmatch(first17):
        raise ValueError("need exactly 17 digits to compute an ID card check character")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_MAP[total % 11]


def parse_id_card(value: str, *, today: date | None = None) -> IdCard:
    """Validate an 18-character resident ID card number; ``today`` is for tests (default: now)."""
    number = _normalise(value)
    if len(number) != 18:
        raise InvalidIdNumber(f"must be 18 characters, got {len(number)}")
    if not _DIGITS17.fullmatch(number[:17]):
        raise InvalidIdNumber("the first 17 characters must be digits")
    last = number[17]
    if not (last.isascii() and (last.isdigit() or last == "X")):
        raise InvalidIdNumber(f"the last character must be a digit or X, not {last!r}")

    province = number[:2]
    if province not in PROVINCE_CODES:
        raise InvalidIdNumber(f"region code starts with {province}, which is not a province code")

    raw_birth = number[6:14]
    try:
        birth = date(int(raw_birth[:4]), int(raw_birth[4:6]), int(raw_birth[6:]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {raw_birth} is not a date") from None
    if birth.year < _ID_MIN_YEAR:
        raise InvalidIdNumber(f"birth year {birth.year} is before {_ID_MIN_YEAR}")
    if birth > (today or date.today()):
        raise InvalidIdNumber(f"birth date {raw_birth} is in the future")

    expected = id_card_check_char(number[:17])
    if last != expected:
        raise InvalidIdNumber(f"check digit is {last} but should be {expected}")

    # 17th character: odd for men, even for women (GB 11643 §5.3).
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return IdCard(number=number, region_code=number[:6], birth_date=birth, gender=gender)


def make_id_card(region: str, birth: date, seq: str) -> str:
    """Build an 18-character ID number with a correct check digit (tests, demo data).

    ``region`` is the 6-digit division code and ``seq`` the 3-digit order code (odd = male).
    Only the shape is checked here, so tests can also build numbers that ``parse_id_card``
    rejects for other reasons (bad province, future birth date).
    """
    if not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError("region must be 6 digits")
    if not re.fullmatch(r"[0-9]{3}", seq):
        raise ValueError("seq must be 3 digits")
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    if len(first17) != 17:  # years before 1000 format with fewer digits
        raise ValueError("birth year must have 4 digits")
    return first17 + id_card_check_char(first17)


# --- Unified social credit code (GB 32100-2015) --------------------------------------------

#: The 31 characters the code uses: digits and capitals without I, O, Z, S, V.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_INDEX = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}

#: Registration authority (1st char) -> organisation class codes (2nd char) we accept.
#: 1 = institutional establishment (1 organ, 2 public institution, 3 mass organisation, 9 other),
#: 5 = civil affairs (1 social organisation, 2 private non-enterprise unit, 3 foundation, 9 other),
#: 9 = market regulation (1 enterprise, 2 individual business, 3 farmers' cooperative),
#: Y = other (1). GB 32100 also defines authorities 2-8, A and N (foreign affairs, justice,
#: culture, tourism, religion, trade unions, military, agriculture); they are deliberately not
#: accepted because none of them registers the employers and schools this platform deals with.
CREDIT_AUTHORITY_CLASSES: dict[str, frozenset[str]] = {
    "1": frozenset("1239"),
    "5": frozenset("1239"),
    "9": frozenset("123"),
    "Y": frozenset("1"),
}


def credit_code_check_char(first17: str) -> str:
    """Modulo-31 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in _CREDIT_INDEX for c in first17):
        raise ValueError("need exactly 17 credit-code characters to compute a check character")
    total = sum(_CREDIT_INDEX[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def parse_credit_code(value: str) -> str:
    """Validate an 18-character unified social credit code and return it upper-cased."""
    code = _normalise(value)
    if len(code) != 18:
        raise InvalidCreditCode(f"must be 18 characters, got {len(code)}")
    for pos, char in enumerate(code, start=1):
        if char not in _CREDIT_INDEX:
            raise InvalidCreditCode(
                f"character {char!r} at position {pos} is not allowed "
                "(only digits and capital letters except I, O, Z, S, V)"
            )
    authority, org_class = code[0], code[1]
    classes = CREDIT_AUTHORITY_CLASSES.get(authority)
    if classes is None:
        allowed = ", ".join(CREDIT_AUTHORITY_CLASSES)
        raise InvalidCreditCode(
            f"registration authority code {authority} is not accepted (expected one of {allowed})"
        )
    if org_class not in classes:
        raise InvalidCreditCode(
            f"organisation class {org_class} is not valid for registration authority {authority}"
            f" (expected one of {', '.join(sorted(classes))})"
        )
    if not code[2:8].isdigit():
        raise InvalidCreditCode("characters 3 to 8 (region code) must be digits")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(f"check character is {code[17]} but should be {expected}")
    return code


def make_credit_code(prefix17: str) -> str:
    """Append the correct check character to 17 credit-code characters (tests, demo data)."""
    prefix = prefix17.upper()
    return prefix + credit_code_check_char(prefix)


# --- Mobile numbers ------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s\-().]")


def parse_mobile(value: str) -> str:
    """Validate a mainland mobile number and return its 11-digit national form.

    Accepts "13812345678", "+86 138 1234 5678", "+8613812345678", "0086-138-1234-5678".
    """
    text = _MOBILE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith(("+", "00")):
        raise InvalidMobile("only mainland China (+86) mobile numbers are accepted")
    if text and not (text.isascii() and text.isdigit()):
        raise InvalidMobile("may contain only digits, spaces and hyphens after +86 or 0086")
    if len(text) != 11:
        raise InvalidMobile(f"must be 11 digits, got {len(text)}")
    if not _MOBILE.fullmatch(text):
        raise InvalidMobile("must start with 13 to 19")
    return text


# --- Masking -------------------------------------------------------------------------------


def mask_id_card_tail(number: str) -> str:
    """``**************123X``: the last four only, for anything that travels or is shown beside
    a birth date or year (GB 11643 embeds region and birth date, so those must both go)."""
    norm = _normalise(number)
    return "*" * 14 + norm[-4:] if len(norm) == 18 else "*" * 18


def mask_id_card(number: str) -> str:
    """``441202********123X``: keep region and last 4, hide the birth date.

    Anything that is not ID-card shaped is masked entirely rather than rejected, so masking in
    a response can neither fail nor leak.
    """
    norm = _normalise(number)
    if len(norm) == 18 and _DIGITS17.fullmatch(norm[:17]):
        return f"{norm[:6]}{'*' * 8}{norm[14:]}"
    return "*" * len(norm)


def mask_mobile(number: str) -> str:
    """``138****5678``; any prefix form parse_mobile accepts; anything else fully masked."""
    try:
        national = parse_mobile(number)
    except InvalidMobile:
        return "*" * len(_normalise(number))
    return f"{national[:3]}****{national[7:]}"
