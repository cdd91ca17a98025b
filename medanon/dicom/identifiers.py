"""The patient's own identifying values, and finding them (and generic PHI) in free text.

PS3.15 E.3.5 (Clean Descriptors Option) asks that free-text descriptors be cleaned of identifying
information. medanon collects the identifying values of the input header (names in every spelling,
IDs, birth date, accession number, address, phone numbers, original instance UIDs) and finds them
in text tolerant of case, accents and name order (``DOE^JOHN``, ``John Doe``, ``Doe, J.``). The
same matcher drives the echo scrub of kept text and the verification of written files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

# Attributes whose values identify the patient (or the people around the exam).
PATIENT_NAME_KEYWORDS = (
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ResponsiblePerson",
    "PersonName",
)
STAFF_NAME_KEYWORDS = (
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ConsultingPhysicianName",
)
ID_KEYWORDS = (
    "PatientID",
    "OtherPatientIDs",
    "AccessionNumber",
    "MedicalRecordLocator",
    "PatientInsurancePlanCodeSequence",
    "StudyID",
    "IssuerOfPatientID",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "PatientTelephoneNumbers",
    "MilitaryRank",
    "PatientAddress",
    "PatientBirthDate",
    "RequestedProcedureID",
    "AdmissionID",
    "ServiceEpisodeID",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
)
INSTANCE_UID_KEYWORDS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
)
NAME_AFFIXES = {
    "MR",
    "MRS",
    "MS",
    "MISS",
    "DR",
    "PROF",
    "JR",
    "SR",
    "II",
    "III",
    "MME",
    "MLLE",
    "M",
}

REPLACEMENT = "[removed]"

_DATE_WORDS = (  # English and French month names, full and abbreviated (janv., févr., juil.)
    r"jan(?:uary|v(?:ier)?)?|f[eé]v(?:r(?:ier)?)?|feb(?:ruary)?|mar(?:ch|s)?|avr(?:il)?|"
    r"apr(?:il)?|mai|may|juin|june?|juil(?:l(?:et)?)?|july?|ao[uû]t?|aug(?:ust)?|"
    r"sep(?:t(?:ember|embre)?)?|oct(?:ober|obre)?|nov(?:ember|embre)?|d[eé]c(?:ember|embre)?"
)
GENERIC_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)),
    ("url", re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.I)),
    (
        "date",  # numeric day-month-year, month-day-year (US) and year-month-day; worded
        re.compile(
            r"\b(?:(?:19|20)\d\d[-/.]?(?:0[1-9]|1[0-2])[-/.]?(?:0[1-9]|[12]\d|3[01])"
            r"(?:T\d\d(?::?\d\d(?::?\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)?"  # ISO 8601 time
            r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)?\d\d"
            r"|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)?\d\d"
            rf"|(?:0?[1-9]|[12]\d|3[01])(?:er|st|nd|rd|th)?[\s./-]+(?:{_DATE_WORDS})\.?"
            r"[\s./,-]+(?:19|20)\d\d"
            rf"|(?:{_DATE_WORDS})\.?[\s./-]+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?"
            r"[\s./-]+(?:19|20)\d\d)\b",
            re.I,
        ),
    ),
    (
        "phone",
        re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]?){2,5}\d{2,4}(?![\w.])"),
    ),
    ("long number", re.compile(r"\b\d{6,}\b")),
)


def fold(text: str) -> str:
    """Upper-case, accent-free copy of ``text`` with the same length (one char per char)."""
    if text.isascii():
        return text.upper()
    return "".join(_fold_char(char) for char in text)


@cache
def _fold_char(char: str) -> str:
    """One character, upper-cased and without accent; never more than one character (the
    upper case of ``ß`` is ``SS``: it stays ``ß``, so spans keep their positions)."""
    decomposed = unicodedata.normalize("NFKD", char)
    base = decomposed[0] if decomposed and decomposed[0].isascii() else char
    upper = base.upper()
    return upper if len(upper) == 1 else base


@cache
def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - guarded by tests
        raise KeyError(keyword)
    return int(tag)


@cache
def _name_tags() -> frozenset[int]:
    return frozenset(_tag(k) for k in PATIENT_NAME_KEYWORDS + STAFF_NAME_KEYWORDS)


def _values(dataset: Dataset, keyword: str) -> list[str]:
    tag = _tag(keyword)
    if dataset.get_item(tag) is None:
        return []
    element = dataset[tag]
    if element.value is None or element.VR == "SQ":
        return []
    value = element.value
    items = list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def _person_names(dataset: Dataset, depth: int = 0) -> list[str]:
    """Values of every PN element in ``dataset`` and its sequences (an SR's observers, a
    scheduled step's performing physician...), except those read by keyword at the top."""
    found: list[str] = []
    for raw in dataset.elements():
        vr = raw.VR or dictionary_vr(raw.tag)
        if vr == "SQ":
            if _holds_no_person_name(raw):
                continue  # not parsed just to look: most sequences hold no PN
            for item in dataset[raw.tag].value or []:
                found += _person_names(item, depth + 1)
        elif vr == "PN" and (depth or raw.tag not in _name_tags()):
            value = dataset[raw.tag].value
            items = list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]
            found += [str(v).strip() for v in items if v is not None and str(v).strip()]
    return found


def _holds_no_person_name(raw: object) -> bool:
    """A sequence still as bytes, in explicit VR, whose bytes hold no ``PN`` VR field."""
    value = getattr(raw, "value", None)
    return (
        isinstance(value, bytes)
        and getattr(raw, "is_implicit_VR", True) is False
        and b"PN" not in value
    )


def dictionary_vr(tag: int) -> str:
    """The dictionary's VR of ``tag`` (for implicit-VR raw elements), UN when it has none."""
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _name_parts(name: str) -> tuple[list[str], list[str], list[str]]:
    """Words of a person name (PN ``^`` components or free order): folded words, initials, and
    the same words as written.

    Compound names are also split where text splits them (``DUPONTEL-LAVAUD``, ``O'BRIEN``,
    ``Marie-Claire``): each part is a word of the person's name. All three PN component groups
    (alphabetic=ideographic=phonetic, PS3.5 6.2.1) are read; ideographic parts are kept from
    one character (most Chinese surnames) and found as substrings (no spaces between words).
    """
    words = [w for w in re.split(r"[\^\s,.=]+", name) if w]
    parts = [p for w in words for p in dict.fromkeys([w, *_compound_parts(w)]) if p]
    kept = [w for w in parts if (len(w) >= 2 or _is_ideographic(w)) and fold(w) not in NAME_AFFIXES]
    initials = [fold(w)[0] for w in parts if fold(w) not in NAME_AFFIXES and w.isascii()]
    return [fold(w) for w in kept], initials, kept


def _compound_parts(word: str) -> list[str]:
    """Parts of a hyphenated or apostrophed name word, those that can stand as a name: three
    letters or more (``CQ500-CT-310``, a pseudonym, must not make ``CT`` a name)."""
    pieces = re.split(r"['’-]+", word)
    if len(pieces) < 2:
        return []
    return [p for p in pieces if len(p) >= 3 and any(c.isalpha() for c in p)]


def _is_ideographic(word: str) -> bool:
    """Han, kana or hangul (no spaces between words in those scripts)."""
    return any(unicodedata.category(c) == "Lo" for c in word)


@dataclass(frozen=True)
class Identifiers:
    """Identifying values of one input, folded (upper-case, no accents)."""

    names: frozenset[str] = frozenset()  # name words (>= 2 letters)
    initials: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # IDs, dates of birth, addresses, phone numbers
    uids: frozenset[str] = frozenset()  # original instance UIDs
    patient_names: frozenset[str] = frozenset()  # subset of names: the patient's own
    raw: frozenset[str] = frozenset()  # every identifying value as written (not folded)
    raw_patient: frozenset[str] = frozenset()  # the patient's own, as written

    @classmethod
    def from_dataset(cls, dataset: Dataset, *, include_uids: bool = True) -> Identifiers:
        names: set[str] = set()
        patient_names: set[str] = set()
        initials: set[str] = set()
        raw: set[str] = set()  # the same values as written, for the byte pre-check
        raw_patient: set[str] = set()
        for keyword in PATIENT_NAME_KEYWORDS + STAFF_NAME_KEYWORDS:
            is_patient = keyword in PATIENT_NAME_KEYWORDS
            for value in _values(dataset, keyword):
                parts, inits, originals = _name_parts(value)
                names.update(parts)
                initials.update(inits)
                raw.update(originals)
                if is_patient:
                    patient_names.update(parts)
                    raw_patient.update(originals)
        for value in _person_names(dataset):  # every other PN, at any depth: staff, observers
            parts, inits, originals = _name_parts(value)
            names.update(parts)
            initials.update(inits)
            raw.update(originals)
        ids: set[str] = set()
        for keyword in ID_KEYWORDS:
            for value in _values(dataset, keyword):
                found = {value} if len(value) >= 3 else set()
                if keyword == "PatientBirthDate" and re.fullmatch(r"\d{8}", value):
                    y, m, d = value[:4], value[4:6], value[6:]
                    found |= {f"{y}-{m}-{d}", f"{d}/{m}/{y}", f"{d}.{m}.{y}", f"{d}-{m}-{y}"}
                if keyword == "PatientAddress":
                    found |= {
                        w for w in re.split(r"[\s,^]+", value) if len(w) >= 4 and not w.isdigit()
                    }
                ids.update(fold(v) for v in found)
                raw.update(found)
                raw_patient.update(found)
        for item in dataset.get("OtherPatientIDsSequence", None) or []:
            for value in _values(item, "PatientID"):
                if len(value) >= 3:
                    ids.add(fold(value))
                    raw.add(value)
                    raw_patient.add(value)
        uids = set()
        if include_uids:
            for keyword in INSTANCE_UID_KEYWORDS:
                uids.update(v for v in _values(dataset, keyword) if len(v) >= 8)
        return cls(
            names=frozenset(names),
            initials=frozenset(initials),
            ids=frozenset(ids),
            uids=frozenset(uids),
            patient_names=frozenset(patient_names),
            raw=frozenset(raw | uids),
            raw_patient=frozenset(raw_patient | uids),
        )

    def with_uids(self, extra: set[str]) -> Identifiers:
        """A copy that also searches for ``extra`` original UIDs (e.g. the file meta's)."""
        return replace(
            self, uids=self.uids | extra, raw=self.raw | extra, raw_patient=self.raw_patient | extra
        )

    def __bool__(self) -> bool:
        return bool(self.names or self.ids or self.uids)

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` holding an identifier (whole words, any case or accents).

        Name words are matched as tokens (with an adjacent initial of the same person, as in
        ``Doe, J.`` or ``J. Doe``); IDs, dates and UIDs as whole substrings. No regex is
        compiled per dataset: this runs for every kept text value.
        """
        if not text:
            return []
        folded = fold(text)
        spans = _substring_spans(folded, self.ids | self.uids)
        spans += _ideographic_spans(folded, self.names)
        if self.names:
            tokens = [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(folded)]
            for index, (start, end, word) in enumerate(tokens):
                if word not in self.names:
                    continue
                before = tokens[index - 1] if index > 0 else None
                after = tokens[index + 1] if index + 1 < len(tokens) else None
                if before and _is_initial(before, folded, start, self.initials, after=False):
                    start = before[0]
                if after and _is_initial(after, folded, end, self.initials, after=True):
                    end = after[1] + (1 if folded[after[1] : after[1] + 1] == "." else 0)
                spans.append((start, end))
        return spans

    def find_patient(self, text: str) -> list[str]:
        """Which kinds of the patient's own identifiers occur in ``text`` (for verification).

        Returns labels (``name``, ``id``, ``uid``), never the values.
        """
        folded = fold(text)
        found = []
        if self.patient_names and (
            any(m.group() in self.patient_names for m in _WORD_RE.finditer(folded))
            or _ideographic_spans(folded, self.patient_names)
        ):
            found.append("name")
        if _substring_spans(folded, self.ids):
            found.append("id")
        if _substring_spans(folded, self.uids):
            found.append("uid")
        return found


_WORD_RE = re.compile(r"[^\W_]+")


def _substring_spans(folded: str, values: frozenset[str]) -> list[tuple[int, int]]:
    """Occurrences of ``values`` in ``folded`` not glued to other letters or digits."""
    spans = []
    for value in values:
        at = folded.find(value)
        while at >= 0:
            end = at + len(value)
            glued_before = at > 0 and folded[at - 1].isalnum() and value[0].isalnum()
            glued_after = end < len(folded) and folded[end].isalnum() and value[-1].isalnum()
            if not (glued_before or glued_after):
                spans.append((at, end))
            at = folded.find(value, at + 1)
    return spans


def _is_initial(
    token: tuple[int, int, str], folded: str, edge: int, initials: frozenset[str], *, after: bool
) -> bool:
    """A one-letter token of this person's initials next to a name (``Doe, J.``, ``J. Doe``)."""
    start, end, word = token
    if len(word) != 1 or word not in initials:
        return False
    gap = folded[edge:start] if after else folded[end:edge]
    return len(gap) <= 3 and all(c in " ,.'’-" for c in gap)


def _ideographic_spans(folded: str, names: frozenset[str]) -> list[tuple[int, int]]:
    """Occurrences of ideographic name words anywhere in ``folded`` (CJK text has no spaces)."""
    spans = []
    for name in names:
        if not _is_ideographic(name):
            continue
        at = folded.find(name)
        while at >= 0:
            spans.append((at, at + len(name)))
            at = folded.find(name, at + 1)
    return spans


def scrub_text(text: str, identifiers: Identifiers, *, generic: bool) -> tuple[str, int]:
    """Remove identifiers (and, with ``generic``, dates, phones, e-mails, URLs, long numbers).

    Returns the cleaned text and the number of removals.
    """
    spans = identifiers.find(text)
    if generic:
        for _, pattern in GENERIC_PATTERNS:
            spans.extend(m.span() for m in pattern.finditer(text))
    if not spans:
        return text, 0
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start])
        out.append(REPLACEMENT)
        last = end
    out.append(text[last:])
    return "".join(out), len(merged)


class Needles:
    """Fast byte-level pre-check: might these raw bytes hold one of the identifiers?

    Each identifier *as written* (not folded) contributes its longest ASCII run, which every
    ASCII-compatible character set encodes as is, whatever the accents around it; bytes are
    compared case-insensitively.
    A miss proves absence; a hit is confirmed on decoded text. When some identifier has no
    ASCII run (a name written only in ideographs), :attr:`usable` is False and callers must
    decode everything.
    """

    def __init__(self, values: frozenset[str]) -> None:
        needles: set[bytes] = set()
        self.usable = True
        for value in values:
            runs = _ASCII_RUN_RE.findall(fold(value))
            if not runs:
                self.usable = False
                continue
            needles.add(max(runs, key=len).lower().encode("ascii"))
        self.needles = tuple(sorted(needles, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self.needles) or not self.usable

    def hit(self, data: bytes) -> bool:
        """Whether ``data`` may hold a value: compared without case and without accents
        (``Müller`` in Latin-1 or UTF-8 bytes reads ``muller``), both sides folded alike."""
        if not self.usable:
            return True
        lowered = fold_bytes(data)
        return any(needle in lowered for needle in self.needles)

    def hit_ascii(self, data: bytes, min_length: int = 6) -> bool:
        """Like :meth:`hit`, without folding accents: for megabytes of binary data, where a
        value would be written as plain ASCII bytes if at all. Only needles of ``min_length``
        characters or more: a three-letter one turns up by chance in a megabyte of compressed
        pixels. Unusable needles count as no hit here (binary data is not decoded as text)."""
        needles = [n for n in self.needles if len(n) >= min_length]
        if not needles:
            return False
        lowered = data.lower()
        return any(needle in lowered for needle in needles)


def fold_bytes(data: bytes) -> bytes:
    """Lower-case ASCII bytes with the accented Latin letters of UTF-8 (U+00C0-U+017F) and of
    Latin-1 replaced by their base letter; other bytes unchanged. ASCII data costs one scan."""
    if data.isascii():
        return data.lower()
    data = _UTF8_LATIN_RE.sub(lambda m: _UTF8_LATIN.get(m.group(), m.group()), data)
    return data.translate(_LATIN1_TABLE).lower()


def _base_letter(char: str) -> bytes | None:
    base = unicodedata.normalize("NFKD", char)[:1]
    return base.encode("ascii") if base.isascii() and base.isalpha() else None


_UTF8_LATIN = {
    char.encode("utf-8"): base
    for char in map(chr, range(0xC0, 0x180))
    if (base := _base_letter(char)) is not None
}
_UTF8_LATIN_RE = re.compile(rb"[\xc3-\xc5][\x80-\xbf]")
_LATIN1_TABLE = bytes(
    (_base_letter(chr(b)) or bytes([b]))[0] if b >= 0xC0 else b for b in range(256)
)


_ASCII_RUN_RE = re.compile(r"[A-Za-z0-9 .^,/-]{2,}")
