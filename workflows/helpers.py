"""Pure business helpers callable from BPMN scripts, gateway conditions and DMN cells."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_SPACES = re.compile(r"[\s.\-]")
# French-style NIR: sex, year, month, department (2 digits or 2A/2B), commune, order number.
_SSN13 = re.compile(r"^[1-478]\d{4}(?:\d{2}|2A|2B)\d{6}$")
_EMPLOYER = re.compile(r"^(\d{7})[\s\-]?(\d{2})(?:/(\d{3}))?$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def _mod97_key(number: int) -> str:
    """Return the 2-digit key 97 - (number mod 97), zero-padded."""
    return f"{97 - number % 97:02d}"


def _ssn_digits(number13: str) -> int:
    """Return the 13 characters of an SSN as an int (Corsican 2A/2B departments substituted)."""
    # Corsica: 2A counts as 19 and 2B as 18 in the key computation (departments 20 minus 1 or 2).
    if number13[5:7] == "2A":
        return int(number13[:5] + "19" + number13[7:])
    if number13[5:7] == "2B":
        return int(number13[:5] + "18" + number13[7:])
    return int(number13)


def ssn_key(number13: str) -> str:
    """Return the 2-digit control key of a 13-character social security number."""
    cleaned = _SPACES.sub("", str(number13)).upper()
    if not _SSN13.match(cleaned):
        raise ValueError("a social security number has 13 characters (digits, or 2A/2B for Corsica)")
    return _mod97_key(_ssn_digits(cleaned))


def is_valid_ssn(s: object) -> bool:
    """True when s is 13 characters plus the matching 2-digit key (spaces allowed)."""
    if not isinstance(s, str):
        return False
    cleaned = _SPACES.sub("", s).upper()
    if len(cleaned) != 15 or not cleaned[13:].isdigit() or not _SSN13.match(cleaned[:13]):
        return False
    return ssn_key(cleaned[:13]) == cleaned[13:]


def employer_key(number7: str) -> str:
    """Return the 2-digit mod-97 key of a 7-digit employer number."""
    cleaned = _SPACES.sub("", str(number7))
    if len(cleaned) != 7 or not cleaned.isdigit():
        raise ValueError("an employer number has 7 digits")
    return _mod97_key(int(cleaned))


def is_valid_employer_number(s: object) -> bool:
    """True for 7 digits + 2-digit mod-97 key, optionally followed by a /000 establishment suffix."""
    if not isinstance(s, str):
        return False
    match = _EMPLOYER.match(s.strip())
    if match is None:
        return False
    return employer_key(match.group(1)) == match.group(2)


def is_valid_iban(s: object) -> bool:
    """True when s is an IBAN whose ISO 13616 mod-97 check succeeds (spaces allowed)."""
    if not isinstance(s, str):
        return False
    cleaned = re.sub(r"\s", "", s).upper()
    if not _IBAN.match(cleaned) or len(cleaned) > 34:
        return False
    rearranged = cleaned[4:] + cleaned[:4]
    # Letters count as 10..35 (A=10); int(c, 36) does exactly that for digits and letters.
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def mrz_check_digit(s: str) -> int:
    """Return the ICAO 9303 check digit of an MRZ field (weights 7, 3, 1; '<' counts 0)."""
    total = 0
    weights = (7, 3, 1)
    for index, char in enumerate(str(s).upper()):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        elif char == "<":
            value = 0
        else:
            raise ValueError(f"invalid MRZ character {char!r}")
        total += value * weights[index % 3]
    return total % 10


def add_days(day: date | datetime | str, days: int) -> date | datetime | str:
    """Add days to a date, datetime or ISO string; returns the same kind it was given."""
    if isinstance(day, str):
        # Strings in, strings out: scripts must store JSON-serializable values.
        if "T" in day or " " in day.strip():
            return (datetime.fromisoformat(day) + timedelta(days=days)).isoformat()
        return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
    return day + timedelta(days=days)


def today() -> str:
    """Return today's date as an ISO string (YYYY-MM-DD), storable in task data as is."""
    return date.today().isoformat()


HELPERS = {
    "ssn_key": ssn_key,
    "is_valid_ssn": is_valid_ssn,
    "employer_key": employer_key,
    "is_valid_employer_number": is_valid_employer_number,
    "is_valid_iban": is_valid_iban,
    "mrz_check_digit": mrz_check_digit,
    "add_days": add_days,
    "today": today,
}
