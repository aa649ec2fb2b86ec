"""Business helpers exposed to scripts: SSN, employer number, IBAN, MRZ and date helpers."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from workflows.helpers import (
    add_days,
    employer_key,
    is_valid_employer_number,
    is_valid_iban,
    is_valid_ssn,
    mrz_check_digit,
    ssn_key,
    today,
)


def test_ssn_key_known_example() -> None:
    # 2 69 05 49 588 157: 2690549588157 mod 97 = 17, so the key is 97 - 17 = 80.
    assert ssn_key("2690549588157") == "80"
    assert ssn_key("2 69 05 49 588 157") == "80"
    # 1850578006084 mod 97 = 6 -> key 91 (a single-digit remainder gives a two-digit key).
    assert ssn_key("1850578006084") == "91"


def test_ssn_key_zero_pads_and_handles_corsica() -> None:
    # 2A counts as 19 and 2B as 18 in the computation.
    assert ssn_key("169052A588157") == f"{97 - 1690519588157 % 97:02d}"
    assert ssn_key("169052B588157") == f"{97 - 1690518588157 % 97:02d}"
    # A number whose remainder is 96 gets key "01".
    number = next(n for n in range(1850578006084, 1850578006084 + 200) if n % 97 == 96)
    assert ssn_key(str(number)) == "01"


def test_is_valid_ssn() -> None:
    assert is_valid_ssn("269054958815780")
    assert is_valid_ssn("2 69 05 49 588 157 80")
    assert not is_valid_ssn("269054958815781")
    assert not is_valid_ssn("26905495881578")
    assert not is_valid_ssn(269054958815780)
    assert not is_valid_ssn("969054958815780")


def test_ssn_key_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ssn_key("12345")


def test_employer_numbers() -> None:
    assert employer_key("1234567") == "49"  # 1234567 mod 97 = 48
    assert is_valid_employer_number("123456749")
    assert is_valid_employer_number("1234567-49")
    assert is_valid_employer_number("123456749/000")
    assert is_valid_employer_number("123456749/012")
    assert not is_valid_employer_number("123456748")
    assert not is_valid_employer_number("123456749/00")
    assert not is_valid_employer_number("12345674")
    assert not is_valid_employer_number(None)


def test_iban() -> None:
    assert is_valid_iban("FR7630006000011234567890189")
    assert is_valid_iban("FR76 3000 6000 0112 3456 7890 189")
    assert is_valid_iban("fr7630006000011234567890189")
    assert not is_valid_iban("FR7630006000011234567890188")  # one digit changed
    assert not is_valid_iban("FR7630006000011234567890198")  # two digits swapped
    assert not is_valid_iban("GB82WEST1234569876543")  # too short
    assert is_valid_iban("GB82WEST12345698765432")
    assert not is_valid_iban("")


def test_mrz_check_digit_icao_examples() -> None:
    # ICAO 9303 part 3 specimen: document number, birth date and expiry date.
    assert mrz_check_digit("L898902C3") == 6
    assert mrz_check_digit("740812") == 2
    assert mrz_check_digit("120415") == 9
    assert mrz_check_digit("<<<<") == 0
    with pytest.raises(ValueError):
        mrz_check_digit("A-1")


def test_dates() -> None:
    assert add_days("2024-02-28", 1) == "2024-02-29"
    assert add_days("2024-02-28T10:00:00", 2) == "2024-03-01T10:00:00"
    assert add_days(date(2024, 1, 31), 1) == date(2024, 2, 1)
    assert add_days(datetime(2024, 1, 31, 8), -1) == datetime(2024, 1, 30, 8)
    assert today() == date.today().isoformat()
