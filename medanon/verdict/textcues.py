"""Match words (from OCR or a caption) against the cue lexicon in ``cues.toml``.

Tolerant matching: accents and case are ignored, punctuation and hyphens inside tokens too, and
longer words may differ by one or two edits (OCR misreads). Words are grouped into text lines
(by position for OCR words), and patterns (phone numbers, prices, timepoints...) are searched
in each line. Every match becomes a :class:`~medanon.verdict.model.Signal` with its evidence
and the union of the boxes of the words it matched.

The evidence never quotes what was read: a word or phrase match is shown as the lexicon entry
it matched ("avant", "promo"), a pattern match by its kind ("phone number", "e-mail address",
"price or offer"), except for the few cues whose patterns only accept fixed words and short
numbers ("J+30", "5 mm", "p < 0.05"). OCR strings can hold names, phone numbers and addresses,
and reports are shared more widely than the images.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources

from .model import Region, Signal
from .ocr import Word

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "Cue",
    "Line",
    "contact_kind",
    "find_text_cues",
    "group_lines",
    "key",
    "load_cues",
    "normalise",
]

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "«": '"', "»": '"', "–": "-", "—": "-"})


def normalise(text: str) -> str:
    """Lower case, accents removed (NFKD), typographic quotes and dashes made plain."""
    text = text.translate(_QUOTES).replace("µ", "μ")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def key(token: str) -> str:
    """A token reduced to letters and digits (and #, @), for fuzzy comparison."""
    return re.sub(r"[^a-z0-9#@€$£%]", "", normalise(token))


def _tolerance(n: int) -> int:
    return 0 if n <= 4 else 1 if n <= 7 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        best = i
        for j, cb in enumerate(b, 1):
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            cur.append(v)
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def fuzzy_equal(token_key: str, entry_key: str) -> bool:
    if token_key == entry_key:
        return True
    tol = _tolerance(len(entry_key))
    if tol == 0 or len(token_key) <= 4:
        return False
    return edit_distance(token_key, entry_key, tol) <= tol


@dataclass(frozen=True)
class Cue:
    signal: str
    variant: str
    label: str
    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    patterns: tuple[re.Pattern[str], ...]
    consume: bool
    redact: bool
    word_names: tuple[str, ...]  # lexicon spellings of ``words``, quoted as evidence
    phrase_names: tuple[str, ...]  # lexicon spellings of ``phrases``


@dataclass(frozen=True)
class Lexicon:
    cues: tuple[Cue, ...]
    exclude: frozenset[str]


@functools.lru_cache(maxsize=1)
def load_cues() -> Lexicon:
    """The cue lexicon shipped with the package."""
    raw = tomllib.loads(resources.files(__package__).joinpath("cues.toml").read_text("utf-8"))
    cues = []
    for entry in raw["cue"]:
        cues.append(
            Cue(
                signal=entry["signal"],
                variant=entry.get("variant", ""),
                label=entry.get("label", entry["signal"]),
                words=tuple(key(w) for w in entry.get("words", [])),
                phrases=tuple(
                    tuple(k for k in (key(p) for p in phrase.split()) if k)
                    for phrase in entry.get("phrases", [])
                ),
                patterns=tuple(re.compile(p) for p in entry.get("patterns", [])),
                consume=bool(entry.get("consume", False)),
                redact=bool(entry.get("redact", False)),
                word_names=tuple(entry.get("words", [])),
                phrase_names=tuple(entry.get("phrases", [])),
            )
        )
    exclude = frozenset(key(w) for w in raw.get("lexicon", {}).get("exclude", []))
    return Lexicon(tuple(cues), exclude)


@dataclass
class Line:
    """Words on one text line, in reading order."""

    words: list[Word]

    @property
    def region(self) -> Region | None:
        regions = [w.region for w in self.words if w.region is not None]
        if not regions:
            return None
        out = regions[0]
        for r in regions[1:]:
            out = out.union(r)
        return out


def group_lines(words: Sequence[Word]) -> list[Line]:
    """Group OCR words into lines, per rendering (so that two readings do not interleave).

    Caller words (no box) form one line each.
    """
    lines: list[Line] = []
    by_source: dict[str, list[Word]] = {}
    for w in words:
        if w.region is None:
            lines.append(Line([w]))
        else:
            by_source.setdefault(w.source, []).append(w)
    for source_words in by_source.values():
        # Left to right, so that each line grows at its right end.
        pending = sorted(source_words, key=lambda w: (w.region.x, w.region.y))  # type: ignore[union-attr]
        current: list[list[Word]] = []
        for w in pending:
            r = w.region
            assert r is not None
            placed = False
            for line in current:
                last = line[-1].region
                assert last is not None
                overlap = min(r.y + r.h, last.y + last.h) - max(r.y, last.y)
                gap = r.x - (last.x + last.w)
                height = max(r.h, last.h)
                if overlap >= 0.5 * min(r.h, last.h) and -0.5 * height <= gap <= 1.6 * height:
                    line.append(w)
                    placed = True
                    break
            if not placed:
                current.append([w])
        for line in current:
            line.sort(key=lambda w: w.region.x)  # type: ignore[union-attr]
            lines.append(Line(line))
    return lines


def caller_words(text: str | None) -> list[Word]:
    """Caption or other text given by the caller, one word-line per text line."""
    if not text:
        return []
    return [Word(line, None, 100.0, "caller") for line in text.splitlines() if line.strip()]


def _tokens(line: Line) -> list[tuple[str, int]]:
    """Normalised tokens of a line, each with the index of the word it comes from."""
    out = []
    for i, w in enumerate(line.words):
        for tok in normalise(w.text).split():
            out.append((tok, i))
    return out


def _signal(cue: Cue, line: Line, word_idx: Iterable[int], evidence: str) -> Signal:
    regions = [line.words[i].region for i in sorted(set(word_idx))]
    region = None
    for r in regions:
        if r is not None:
            region = r if region is None else region.union(r)
    evidence = cue.label if cue.redact else evidence
    return Signal(cue.signal, cue.variant, region, evidence, detail=f"text cue: {cue.label}")


# Cues (signal, variant) whose patterns only match fixed words and numbers (timepoints,
# measurements, statistics, superlatives, "#ad"): their matches may be quoted. Every other
# pattern can capture free text (phone numbers, addresses, hashtags, "merci <name> docteur",
# amounts), so its matches are reported by kind; a new cue is reported by kind until listed.
_QUOTABLE = frozenset(
    {
        ("S2", ""),
        ("S7", ""),
        ("P2", ""),
        ("P3", ""),
        ("P8", ""),
        ("P8", "guarantee"),
        ("P9", "sponsored"),
    }
)
_MAX_QUOTED_DIGITS = 4  # more digits may be an identifier or a phone number even in these


def _pattern_evidence(cue: Cue, matched: str, words: str) -> str:
    """What a report may say about a pattern match: the match itself for fixed-form cues,
    otherwise its kind (for contacts, told from the whole ``words`` matched, so that the
    domain of an e-mail address does not pass for a web address)."""
    quotable = (cue.signal, cue.variant) in _QUOTABLE
    if quotable and sum(c.isdigit() for c in matched) <= _MAX_QUOTED_DIGITS:
        return " ".join(matched.split())
    return contact_kind(words) if cue.signal == "P5" else cue.label


_EMAIL = re.compile(r"[a-z0-9._%+-]\s?@\s?[a-z0-9-]+\s?[.,]\s?[a-z]{2,}")
_HANDLE = re.compile(r"(?:^|\s)@[a-z0-9_.]{3,}")
_WEB = re.compile(r"\bwww\b|\bhttps?\s?:|\b[a-z0-9-]{2,}\s?[.,]\s?[a-z]{2,}\b")


def contact_kind(text: str) -> str:
    """The kind of a piece of contact text (OCR, QR code), to report it without its value."""
    t = normalise(text)
    if "vcard" in t or t.startswith("mecard"):
        return "contact card"
    if _HANDLE.search(t):  # first: "suivez @dr.x" also fits a loose (OCR-spaced) e-mail
        return "social media handle"
    if _EMAIL.search(t):
        return "e-mail address"
    if _WEB.search(t):
        return "web address"
    if sum(c.isdigit() for c in t) >= 7:
        return "phone number"
    return "contact details"


def find_text_cues(words: Sequence[Word]) -> list[Signal]:
    """Signals for every cue found in ``words`` (OCR words and caller text)."""
    lex = load_cues()
    signals: list[Signal] = []
    for line in group_lines(words):
        toks = _tokens(line)
        if not toks:
            continue
        keys = [key(t) for t, _ in toks]
        consumed = [False] * len(toks)
        for cue in lex.cues:
            hits: list[tuple[int, int, str]] = []  # token index ranges [a, b), evidence
            for i, k in enumerate(keys):
                if consumed[i] or not k:
                    continue
                if k in lex.exclude and k not in cue.words:
                    continue
                entry = next((n for n, e in enumerate(cue.words) if fuzzy_equal(k, e)), None)
                if entry is not None:
                    hits.append((i, i + 1, cue.word_names[entry]))
            for phrase, phrase_name in zip(cue.phrases, cue.phrase_names, strict=True):
                joined = "".join(phrase)
                for i in range(len(keys)):
                    acc = ""
                    for j in range(i, min(len(keys), i + len(phrase) + 1)):
                        if consumed[j]:
                            break
                        acc += keys[j]
                        if len(acc) > len(joined) + 2:
                            break
                        if (len(phrase) > 1 or j > i) and fuzzy_equal(acc, joined):
                            hits.append((i, j + 1, phrase_name))
                            break
            if cue.patterns:
                text, spans, pos = "", [], 0
                for t, _ in toks:
                    spans.append((pos, pos + len(t)))
                    text += t + " "
                    pos += len(t) + 1
                for pat in cue.patterns:
                    for m in pat.finditer(text):
                        idx = [n for n, (a, b) in enumerate(spans) if a < m.end() and b > m.start()]
                        if idx and not any(consumed[n] for n in idx):
                            a, b = min(idx), max(idx) + 1
                            covered = " ".join(t for t, _ in toks[a:b])
                            hits.append((a, b, _pattern_evidence(cue, m.group(0), covered)))
            for a, b, evidence in hits:
                signals.append(_signal(cue, line, [toks[n][1] for n in range(a, b)], evidence))
                if cue.consume:
                    for n in range(a, b):
                        consumed[n] = True
    return dedupe(signals)


def dedupe(signals: Sequence[Signal]) -> list[Signal]:
    """Drop repeated evidence: same signal and variant with overlapping boxes (the first kept);
    box-less evidence of one signal and variant is merged into one signal."""
    out: list[Signal] = []
    for s in signals:
        dup = False
        for n, o in enumerate(out):
            if (o.id, o.variant) != (s.id, s.variant):
                continue
            if o.region is None and s.region is None:
                if key(s.text) not in key(o.text):
                    out[n] = replace(o, text=f"{o.text} | {s.text}")
                dup = True
            elif o.region is not None and s.region is not None:
                dup = _overlap(o.region, s.region) > 0.3
            if dup:
                break
        if not dup:
            out.append(s)
    return out


def _overlap(a: Region, b: Region) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    small = min(a.w * a.h, b.w * b.h)
    return inter / small if small else 0.0
