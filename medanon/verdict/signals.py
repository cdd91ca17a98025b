"""Find every signal of the sharing policy in one image.

``find_signals`` takes the pixels (grey or BGR uint8), plus what the caller already knows:
caption text, faces found (I1), identifying text regions (I3), identifying metadata (I4), the
file name (I8) and header values to look for in the burned-in text (I3). It runs OCR once (when
Tesseract is available), then the text cues, the composite detector and the graphic detectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from .composite import find_panels
from .marks import (
    find_imaging_look,
    find_logos,
    find_markers,
    find_qr_codes,
    find_scale_bars,
    find_star_ratings,
    find_watermarks,
)
from .masking import find_inadequate_masking
from .model import Region, Signal
from .ocr import OCRConfig, Word, is_available, read_words
from .standards import find_standardisation
from .textcues import caller_words, dedupe, find_text_cues, fuzzy_equal, key

__all__ = ["Known", "file_name_signals", "find_signals"]


@dataclass(frozen=True)
class Known:
    """What the caller already knows about the image."""

    caption: str = ""
    faces: Sequence[Region] = ()
    identifying_text: Sequence[Region] = ()
    identifying_metadata: Sequence[str] = ()  # names of attributes/tags, never their values
    file_name: str = ""
    identifying_values: Sequence[str] = ()  # header values to look for in the pixels
    modality: str | None = None
    declared_burned_in: bool = False
    faces_searched: bool = False  # a face detector looked (``faces`` empty then means none)
    extra: Sequence[Signal] = field(default=())


_NAME_PATTERNS = (
    (re.compile(r"(?<![A-Za-z])[A-Z]{3,}[_ -]+[A-Z][a-z]{2,}"), "NOM_Prenom"),
    (re.compile(r"(?<![A-Za-z])[A-Z][a-z]{2,}[_ -]+[A-Z]{3,}(?![A-Za-z])"), "Prenom_NOM"),
    (
        re.compile(
            r"(?<!\d)(?:19|20)\d{2}[-_.]?(?:0[1-9]|1[0-2])[-_.]?(?:0[1-9]|[12]\d|3[01])(?!\d)"
        ),
        "date",
    ),
    (
        re.compile(
            r"(?<!\d)(?:0[1-9]|[12]\d|3[01])[-_.](?:0[1-9]|1[0-2])[-_.](?:19|20)\d{2}(?!\d)"
        ),
        "date",
    ),
    (re.compile(r"(?i)(?:ipp|mrn|nir|nip|patient|dossier)[-_ ]?\d{3,}"), "patient number"),
    (re.compile(r"(?<!\d)[12]\d{12}(?:\d{2})?(?!\d)"), "NIR-like number"),
)
_NOT_NAMES = {
    "IMG",
    "DSC",
    "DCIM",
    "SCAN",
    "FIG",
    "FIGURE",
    "PANEL",
    "CASE",
    "IMAGE",
    "PHOTO",
    "SCREENSHOT",
    "EXPORT",
    "SERIES",
    "STUDY",
    "WHATSAPP",
    "PXL",
    "VID",
    "MVIMG",
}


def file_name_signals(name: str) -> list[Signal]:
    """I8 for a file name holding a name pattern (NOM_Prenom), a full date or a patient number.

    The evidence names the kind of pattern, not the matched value.
    """
    stem = PurePath(name).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    kinds = []
    for pattern, kind in _NAME_PATTERNS:
        for m in pattern.finditer(stem):
            upper = re.findall(r"[A-Z]{3,}", m.group(0))
            if kind in ("NOM_Prenom", "Prenom_NOM") and any(u in _NOT_NAMES for u in upper):
                continue
            kinds.append(kind)
            break
    if not kinds:
        return []
    return [Signal("I8", text=", ".join(dict.fromkeys(kinds)), detail="file name pattern")]


def _value_hits(words: Sequence[Word], values: Iterable[str]) -> list[Signal]:
    """I3 where a header value (name part, ID) is read in the pixels (fuzzy)."""
    keys = set()
    for v in values:
        for part in re.split(r"[\s^,]+", str(v)):
            k = key(part)
            if len(k) >= 3:
                keys.add(k)
    out = []
    for wd in words:
        if wd.region is None:
            continue
        wk = key(wd.text)
        if len(wk) >= 3 and any(fuzzy_equal(wk, k) for k in keys):
            out.append(
                Signal("I3", region=wd.region, text="header value", detail="matches the header")
            )
    return out


def find_signals(
    image: np.ndarray,
    known: Known | None = None,
    *,
    ocr: bool = True,
    ocr_config: OCRConfig | None = None,
    words: Sequence[Word] | None = None,
) -> list[Signal]:
    """Every signal found in ``image`` (uint8, grey or BGR), with evidence."""
    known = known or Known()
    if image.dtype != np.uint8:
        raise TypeError("image must be uint8 (render it first)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or image.size == 0:
        raise ValueError("image must be grey (H x W) or BGR(A) (H x W x 3 or 4), not empty")
    signals: list[Signal] = []
    # Identification, from the caller.
    for r in known.faces:
        signals.append(Signal("I1", region=r, detail="face detector"))
    signals.extend(find_inadequate_masking(image, known.faces))
    for r in known.identifying_text:
        signals.append(Signal("I3", region=r, text="identifying text", detail="text finder"))
    if known.identifying_metadata:
        signals.append(Signal("I4", text=", ".join(known.identifying_metadata), detail="metadata"))
    if known.declared_burned_in:
        signals.append(Signal("I3", "declared", detail="BurnedInAnnotation = YES"))
    if known.file_name:
        signals.extend(file_name_signals(known.file_name))
    # Text.
    text_read = words is not None or (ocr and is_available())
    if words is None:
        words = read_words(image, ocr_config) if text_read else []
    # Isolated glyphs are only for markers and panel labels, not for text cues.
    all_words = [w for w in words if w.source != "glyph"] + caller_words(known.caption)
    text_signals = find_text_cues(all_words)
    signals.extend(text_signals)
    if known.identifying_values:
        signals.extend(_value_hits(words, known.identifying_values))
    # Composites and panels.
    pairs = find_panels(image)
    same = next((p for p in pairs if p.same), None)
    panels: list[Region] = []
    if same is not None:
        panels = [same.a, same.b]
        layout = "side by side" if same.axis == "horizontal" else "stacked"
        signals.append(
            Signal(
                "P1",
                regions=(same.a, same.b),
                detail=(
                    f"{layout}, split={same.split}, orb_inliers={same.inliers}, "
                    f"ssim={same.ssim:.2f}, hist={same.hist:.2f}"
                ),
            )
        )
    elif pairs and pairs[0].split == "separator":
        panels = [pairs[0].a, pairs[0].b]
    imaging = find_imaging_look(image, known.modality)
    signals.extend(find_standardisation(image, same, bool(imaging)))
    # Graphics.
    signals.extend(find_qr_codes(image))
    signals.extend(find_star_ratings(image))
    signals.extend(find_logos(image))
    explained = [
        r
        for s in text_signals
        if s.id in {"S2", "S3", "S7", "P2", "P3", "I3"}
        for r in s.all_regions()
    ]
    cue_regions = [r for s in text_signals for r in s.all_regions()]
    signals.extend(find_watermarks(image, words, explained, cue_regions))
    units = [r for s in text_signals if s.id == "S2" for r in s.all_regions()]
    signals.extend(find_scale_bars(image, units))
    signals.extend(find_markers(image, words, panels))
    signals.extend(imaging)
    signals.extend(known.extra)
    if (
        text_read
        and known.faces_searched
        and not any(s.id.startswith("I") for s in signals)
        and not _unexplained_text(words, signals)
    ):
        signals.append(Signal("S1", detail="text read, faces searched, metadata checked"))
    return dedupe(_without_identifying_text(signals, known))


# Signals whose evidence is a lexicon word or a measurement: the words they cover are known.
# Overlay or corner text (P4) and contacts (P5) say nothing of what the words are.
_WORD_CUES = frozenset({"S2", "S3", "S4", "S7", "P2", "P3", "P6", "P7", "P8", "P9", "P10"})


def _unexplained_text(words: Sequence[Word], signals: Sequence[Signal]) -> bool:
    """Readable text (three letters or digits) that no signal accounts for: without a header
    medanon cannot tell a name from any other word, so it does not say "no identifier"."""
    explained = [r for s in signals if s.id in _WORD_CUES for r in s.all_regions()]
    for word in words:
        if len(re.sub(r"\W", "", word.text)) < 3 or word.source == "glyph":
            continue
        if word.region is None or not any(_overlaps(word.region, r) for r in explained):
            return True
    return False


def _overlaps(a: Region, b: Region) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


# Signals whose evidence text is a measurement of medanon's, never text read from the image.
_MEASURED = frozenset({"P11"})


def _without_identifying_text(signals: list[Signal], known: Known) -> list[Signal]:
    """No signal may quote identifying text: evidence text that overlaps an identifying region
    (I1, I3) or holds a header value is replaced by a placeholder (reports carry no PHI).

    A second line of defence: the detectors already give lexicon words and kinds, never the
    text they read (:mod:`.textcues`, :func:`.marks.find_watermarks`)."""
    from dataclasses import replace

    from ..dicom.identifiers import fold

    identifying = [r for s in signals if s.id in ("I1", "I3") for r in s.all_regions()]
    values = [fold(v) for v in known.identifying_values if len(v.strip()) >= 3]
    out = []
    for signal in signals:
        if signal.id.startswith("I") or signal.id in _MEASURED or not signal.text:
            out.append(signal)
            continue
        folded = fold(signal.text)
        overlaps = any(_overlap(a, b) for a in signal.all_regions() for b in identifying)
        if overlaps or any(v in folded for v in values):
            signal = replace(signal, text="(identifying text, not shown)")
        out.append(signal)
    return out


def _overlap(a: Region, b: Region) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
