"""Replacement values: dummies consistent with the VR (PS3.5 6.2) and shifted dates."""

from __future__ import annotations

import datetime as dt
import re

from ..keys import Keyring

# VRs holding text a person typed or a system filled with free text.
TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
# VRs holding character strings of any kind (searched by the echo scrub).
# VRs the echo scrub and the verification search for identifying values. Code strings, numbers,
# dates and times are left out: a name or ID cannot hide in them without breaking their syntax.
ECHO_VRS = TEXT_VRS | frozenset({"AE", "UR", "UI", "UN"})
BYTES_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"})

_FIXED_DUMMIES = {
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "AS": "000Y",
    "UR": "urn:medanon:removed",
}


def dummy_value(vr: str, original: object, keyring: Keyring, domain: str) -> object:
    """A non-zero-length value of ``vr`` that says nothing of ``original`` (action D).

    Strings become a keyed token of the original value, so two equal originals stay equal (a
    detector ID stays one detector) while nothing about them can be read back without the key.
    """
    if vr in _FIXED_DUMMIES:
        return _FIXED_DUMMIES[vr]
    if vr == "PN":
        return "ANON^" + keyring.token("person", str(original), 8)
    if vr in TEXT_VRS or vr in ("AE", "CS"):
        return "X" + keyring.token(domain, str(original), 8)
    if vr in NUMBER_VRS:
        return 0
    if vr in BYTES_VRS:
        return b"\x00\x00"
    return "X" + keyring.token(domain, str(original), 8)


def empty_value(vr: str) -> object:
    """A zero-length value of ``vr`` (action Z)."""
    if vr == "SQ":
        return []
    if vr in BYTES_VRS:
        return b""
    if vr in NUMBER_VRS:
        return None
    return ""


_DA_RE = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")


def _shift_date(text: str, days: int) -> str:
    match = _DA_RE.match(text.strip())
    if not match:
        raise ValueError("not a date")
    try:
        date = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return (date + dt.timedelta(days=days)).strftime("%Y%m%d")
    except OverflowError:  # year 0001 minus days: a placeholder, not a date
        raise ValueError("date out of range") from None


def shift_da(value: str, days: int) -> str:
    """Shift a DA value (also a range ``d1-d2``, the old ``YYYY.MM.DD`` form and the common
    non-standard ``YYYY-MM-DD``) by ``days``; an empty value stays empty."""
    text = value.strip()
    if not text:
        return ""
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:  # not a range: one date written with dashes
        return _shift_date("".join(iso.groups()), days)
    if "-" in text:
        return "-".join(_shift_date(part, days) if part else "" for part in text.split("-"))
    return _shift_date(text, days)


def shift_dt(value: str, days: int) -> str:
    """Shift the date part of a DT value by ``days``; time, fraction and offset are kept.

    A DT of year or year-month precision keeps its precision.
    """
    text = value.strip()
    digits = re.match(r"^\d+", text)
    if not digits or len(digits.group(0)) < 4:
        raise ValueError("not a date-time")
    head = digits.group(0)
    if len(head) >= 8:
        return _shift_date(head[:8], days) + text[8:]
    padded = (head + "0101")[:8] if len(head) == 4 else head[:6] + "01"
    return _shift_date(padded, days)[: len(head)] + text[len(head) :]


# PS3.5 6.2 maximum value lengths (characters) of the string VRs medanon rewrites.
MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UC": None}
_REMOVED_RUN = re.compile(r"\[removed\](?:[\s,.;:^/-]*\[removed\])+")


def fit_length(text: str, vr: str) -> str:
    """A cleaned value within its VR's maximum length: each removal writes ``[removed]``, so a
    value of short names can grow past it (an invalid file). Runs of removals are merged
    first, then the value is cut."""
    limit = MAX_LENGTH.get(vr)
    if limit is None or len(text) <= limit:
        return text
    text = _REMOVED_RUN.sub("[removed]", text)
    return text if len(text) <= limit else text[:limit]
