"""Normalized identifiers: phone numbers in E.164, e-mail addresses case-folded."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalize_phone(raw: str, country: str) -> str:
    """E.164 form of a phone number, reading national numbers in the tenant's country."""
    try:
        number = phonenumbers.parse(raw, country.upper())
    except phonenumbers.NumberParseException:
        raise ValueError("Not a valid phone number.") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("Not a valid e-mail address.") from None
    return result.normalized.casefold()
