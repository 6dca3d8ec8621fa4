"""ID card, credit code and mobile validation and masking (GB 11643, GB 32100)."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest

from services.kit.idnumbers import (
    CREDIT_CODE_CHARSET,
    PROVINCE_CODES,
    Gender,
    IdCard,
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidMobile,
    id_card_check_char,
    make_credit_code,
    make_id_card,
    mask_id_card,
    mask_mobile,
    parse_credit_code,
    parse_id_card,
    parse_mobile,
)

TODAY = date(2026, 3, 1)

# --- ID cards ---------------------------------------------------------------------------------


def test_textbook_example_is_valid() -> None:
    # GB 11643 worked example: sum of weighted digits = 167, 167 mod 11 = 2 -> 'X'.
    card = parse_id_card("11010519491231002X", today=TODAY)
    assert card == IdCard(
        number="11010519491231002X",
        region_code="110105",
        birth_date=date(1949, 12, 31),
        gender=Gender.FEMALE,  # 17th digit 2 is even
    )


def test_second_public_example_is_valid() -> None:
    # 1*7+1*9+0*10+1*5+0*8+1*4+1*2+9*1+9*6+0*3+0*7+3*9+0*10+7*5+8*8+0*4+3*2 = 227; 227 mod 11
    # = 7 -> 'X'.
    card = parse_id_card("11010119900307803X", today=TODAY)
    assert card.birth_date == date(1990, 3, 7)
    assert card.gender is Gender.MALE  # 17th digit 3 is odd


def test_generated_zhaoqing_number_parses() -> None:
    number = make_id_card("441202", date(1985, 6, 15), "123")
    card = parse_id_card(number, today=TODAY)
    assert card.number == number
    assert card.region_code == "441202"
    assert card.birth_date == date(1985, 6, 15)
    assert card.gender is Gender.MALE  # 17th digit 3 is odd


def test_lowercase_x_and_spaces_are_normalised() -> None:
    card = parse_id_card(" 110105 19491231 002x ", today=TODAY)
    assert card.number == "11010519491231002X"


def test_full_width_digits_are_normalised() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002X")
    assert parse_id_card(full_width, today=TODAY).number == "11010519491231002X"


def test_wrong_check_digit_names_both_characters() -> None:
    with pytest.raises(InvalidIdNumber, match=r"^check digit is 5 but should be X$"):
        parse_id_card("110105194912310025", today=TODAY)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11010519491231002", "must be 18 characters, got 17"),
        ("11010519491231002X1", "must be 18 characters, got 19"),
        ("", "must be 18 characters, got 0"),
        ("1101051949123100AX", "the first 17 characters must be digits"),
        ("11010519491231002Y", "the last character must be a digit or X, not 'Y'"),
        ("99010519491231002X", "region code starts with 99, which is not a province code"),
        ("10010519491231002X", "region code starts with 10, which is not a province code"),
    ],
)
def test_shape_errors(value: str, message: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_card(value, today=TODAY)
    assert str(info.value) == message


def test_impossible_date_is_rejected_before_the_check_digit() -> None:
    # A correct check digit for a non-date must still fail on the date.
    first17 = "441202" + "19901340" + "123"
    with pytest.raises(InvalidIdNumber, match=r"^birth date 19901340 is not a date$"):
        parse_id_card(first17 + id_card_check_char(first17), today=TODAY)


def test_february_29_only_in_leap_years() -> None:
    assert parse_id_card(make_id_card("441202", date(2000, 2, 29), "001"), today=TODAY)
    first17 = "441202" + "19000229" + "001"  # 1900 is not a leap year
    with pytest.raises(InvalidIdNumber, match="birth date 19000229 is not a date"):
        parse_id_card(first17 + id_card_check_char(first17), today=TODAY)


def test_future_birth_date_is_rejected() -> None:
    number = make_id_card("441202", TODAY + timedelta(days=1), "123")
    with pytest.raises(InvalidIdNumber, match=r"^birth date 20260302 is in the future$"):
        parse_id_card(number, today=TODAY)
    # Born today is fine (a newborn's registration).
    assert parse_id_card(make_id_card("441202", TODAY, "123"), today=TODAY)


def test_birth_year_before_1900_is_rejected() -> None:
    number = make_id_card("441202", date(1899, 12, 31), "123")
    with pytest.raises(InvalidIdNumber, match=r"^birth year 1899 is before 1900$"):
        parse_id_card(number, today=TODAY)


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidIdNumber, ValueError)
    assert issubclass(InvalidCreditCode, ValueError)
    assert issubclass(InvalidMobile, ValueError)


def test_id_card_repr_does_not_leak_the_number() -> None:
    card = parse_id_card("11010519491231002X", today=TODAY)
    assert "19491231" not in repr(card)


def test_make_id_card_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="region"):
        make_id_card("4412", date(1990, 1, 1), "123")
    with pytest.raises(ValueError, match="seq"):
        make_id_card("441202", date(1990, 1, 1), "12")


def test_property_generated_numbers_parse_and_mask_hides_birth_date() -> None:
    # hypothesis is not a dependency: a fixed-seed loop gives the same coverage reproducibly.
    rng = random.Random(20260301)
    provinces = sorted(PROVINCE_CODES)
    start, span = date(1900, 1, 1).toordinal(), TODAY.toordinal() - date(1900, 1, 1).toordinal()
    for _ in range(2000):
        region = rng.choice(provinces) + f"{rng.randrange(10_000):04d}"
        birth = date.fromordinal(start + rng.randrange(span + 1))
        seq = f"{rng.randrange(1000):03d}"
        number = make_id_card(region, birth, seq)

        card = parse_id_card(number, today=TODAY)
        assert (card.number, card.region_code, card.birth_date) == (number, region, birth)
        assert card.gender is (Gender.MALE if int(seq[-1]) % 2 else Gender.FEMALE)

        masked = mask_id_card(number)
        assert masked == number[:6] + "********" + number[14:]
        assert number[6:14] not in masked
        # Any single changed digit in the first 17 breaks the check digit (or the date/region).
        pos = rng.randrange(17)
        wrong = number[:pos] + str((int(number[pos]) + 1) % 10) + number[pos + 1 :]
        with pytest.raises(InvalidIdNumber):
            parse_id_card(wrong, today=TODAY)


# --- Unified social credit codes ------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B"])
def test_public_credit_codes_are_valid(code: str) -> None:
    assert parse_credit_code(code) == code


def test_credit_code_is_normalised() -> None:
    assert parse_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    "prefix",
    [
        "91441200MA4UABCDE",
        "92441202MA51234X1",
        "52441200123456789",
        "12441200007000000",
        "Y1441200X00000000",
    ],
)
def test_generated_credit_codes_are_valid(prefix: str) -> None:
    code = make_credit_code(prefix)
    assert len(code) == 18
    assert parse_credit_code(code) == code


def test_wrong_credit_check_character_names_both() -> None:
    with pytest.raises(InvalidCreditCode, match=r"^check character is 4 but should be 3$"):
        parse_credit_code("91350100M000100Y44")


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_forbidden_letters_are_rejected(letter: str) -> None:
    code = "91350100M000100Y43"
    bad = code[:8] + letter + code[9:]
    with pytest.raises(InvalidCreditCode) as info:
        parse_credit_code(bad)
    assert str(info.value).startswith(f"character '{letter}' at position 9 is not allowed")


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("31350100M000100Y4", "registration authority code 3 is not accepted"),
        ("94350100M000100Y4", "organisation class 4 is not valid for registration authority 9"),
        ("Y2350100M000100Y4", "organisation class 2 is not valid for registration authority Y"),
        ("913501A0M000100Y4", "characters 3 to 8 (region code) must be digits"),
    ],
)
def test_credit_code_structure(prefix: str, message: str) -> None:
    # make_credit_code gives a correct check character, so only the structure can fail.
    with pytest.raises(InvalidCreditCode, match=re.escape(message)):
        parse_credit_code(make_credit_code(prefix))


@pytest.mark.parametrize(
    "head", ["11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1"]
)
def test_every_accepted_authority_and_class(head: str) -> None:
    code = make_credit_code(head + "441200MA4UABCDE")
    assert parse_credit_code(code) == code


def test_credit_code_length() -> None:
    with pytest.raises(InvalidCreditCode, match=r"^must be 18 characters, got 17$"):
        parse_credit_code("91350100M000100Y4")


def test_every_single_character_substitution_is_detected() -> None:
    # Mod-31 with these weights catches every single-character error.
    code = "91350100M000100Y43"
    for pos in range(18):
        for char in CREDIT_CODE_CHARSET:
            if char == code[pos]:
                continue
            with pytest.raises(InvalidCreditCode):
                parse_credit_code(code[:pos] + char + code[pos + 1 :])


# --- Mobiles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086-138-1234-5678",
        " 138-1234-5678 ",
        "(+86) 138 1234 5678",
        "１３８１２３４５６７８",  # full-width digits from a Chinese IME
    ],
)
def test_accepted_mobile_forms(value: str) -> None:
    assert parse_mobile(value) == "13812345678"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_all_mobile_prefixes(prefix: str) -> None:
    assert parse_mobile(prefix + "812345678") == prefix + "812345678"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("138123456789", "must be 11 digits, got 12"),
        ("1381234567", "must be 11 digits, got 10"),
        ("12812345678", "must start with 13 to 19"),
        ("23812345678", "must start with 13 to 19"),
        ("1381234567a", "may contain only digits"),
        ("phone", "may contain only digits"),
        ("+1 415 555 0100", "only mainland China"),
        ("00852 9123 4567", "only mainland China"),
        ("", "must be 11 digits, got 0"),
    ],
)
def test_rejected_mobiles(value: str, message: str) -> None:
    with pytest.raises(InvalidMobile, match=message):
        parse_mobile(value)


# --- Masks ----------------------------------------------------------------------------------


def test_mask_id_card() -> None:
    assert mask_id_card("44120219850615123X") == "441202********123X"
    assert mask_id_card("44120219850615123x") == "441202********123X"


def test_mask_id_card_masks_everything_it_does_not_recognise() -> None:
    assert mask_id_card("4412021985") == "**********"
    assert mask_id_card("") == ""


def test_mask_mobile() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138 1234 5678") == "138****5678"
    assert mask_mobile("1381234") == "*******"
