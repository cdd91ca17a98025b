"""The burned-in text stage: which text regions to black out, in every frame, and the proof.

PS3.15 E.3.1 (Clean Pixel Data Option): identifying information burned into the pixels is
removed, and Burned In Annotation (0028,0301) may then say NO. medanon finds text with
:mod:`medanon.text` (Tesseract), chooses regions by mode, fills them in every frame, and OCRs
the result again: the image is only called clean when that second look finds nothing left.

Modes (PixelPolicy.text):

* ``all``: every text region, readable or not (the ``social`` profile's default);
* ``phi``: text matching the header's identifying values (tolerant to OCR errors), dates,
  times, years, IDs (not numbers with a unit), phone numbers, e-mails, institution-like words,
  titles (``Dr.``), the other words of a phrase that holds one of those, and regions that look
  like text but cannot be read (they cannot be judged); benign labels (L/R, 5 cm, 120 kV) stay;
* ``none``: no OCR; manual and rule boxes are still filled.

Multi-frame images (cines) share one static overlay: OCR reads the first frame whole, which
finds the static text once, and one more image holding only the areas of other frames that
change from it and then stay still (text shown in the middle frames, a clock that ticks;
moving anatomy mostly does not stay still): see :func:`changes`. Every box is filled in every
frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from ..dicom.identifiers import GENERIC_PATTERNS, Identifiers, fold
from ..text import OCRUnavailable, TextRegion, find_text, is_available
from .codec import Frames, decode_frames, display_frames, encode_frames

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the stored frame
Finder = Callable[[NDArray[np.uint8]], list[TextRegion]]

MODES = ("none", "phi", "all")
INSTITUTION_WORDS = (
    "HOSPITAL",
    "HOSP",
    "HOPITAL",
    "CTR",
    "MEDICINE",
    "HEALTHCARE",
    "IMAGING",
    "CHU",
    "CHR",
    "CLINIC",
    "CLINIQUE",
    "KLINIK",
    "CENTRE",
    "CENTER",
    "MEDICAL",
    "INSTITUT",
    "INSTITUTE",
    "UNIVERSITY",
    "UNIVERSITE",
    "SANTE",
    "HEALTH",
    "RADIOLOGIE",
    "RADIOLOGY",
    "IMAGERIE",
    "CABINET",
)
KEY_WORDS = ("NAME", "NOM", "PATIENT", "DOB", "BIRTH", "NAISSANCE", "MRN", "IPP", "ID")
# A person's title, with its period (not "DR" of "DR 63", dynamic range): a name follows.
TITLES = ("DR", "PR", "PROF", "MR", "MRS", "MS", "MME", "MLLE")
# Units that follow a number in technical labels: "120KVP" or "3850HZ" is no ID.
UNITS = ("KVP", "KV", "MAS", "MA", "HZ", "KHZ", "MHZ", "CM", "MM", "DB", "FPS", "BPM", "MS", "S")
PHRASE_GAP = 1.0  # in glyph heights: words of one field (a space is ~0.3-0.6)
_TIME_RE = re.compile(r"\b\d{1,2}[:h]\d{2}(?::\d{2})?\b")
_ID_RE = re.compile(r"\b(?=\w*\d)[A-Z0-9-]{5,}\b")
_YEAR_RE = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,]|\w)")  # a year alone: part of a date
_TITLE_RE = re.compile(rf"\b(?:{'|'.join(TITLES)})\.(?:\s|$)")
_MEASURE_RE = re.compile(rf"\d+(?:{'|'.join(UNITS)})")


class PixelCleaningError(OCRUnavailable):
    """Pixel cleaning was asked for but cannot be done or proven (fail closed)."""


@dataclass(frozen=True)
class PixelPolicy:
    """What the pixel stage does: a text mode and boxes to fill whatever OCR says."""

    text: str = "none"
    boxes: tuple[Box, ...] = ()
    # Where the image itself lies (ultrasound regions, PS3.3 C.8.5.5): shapes in there that
    # look like text but cannot be read are speckle, not text; readable text there still goes.
    image_areas: tuple[Box, ...] = ()

    def __post_init__(self) -> None:
        if self.text not in MODES:
            raise ValueError(f"pixel text mode must be one of {', '.join(MODES)}")

    @property
    def active(self) -> bool:
        return self.text != "none" or bool(self.boxes)


@dataclass
class PixelOutcome:
    """What the stage did, without any text it read (reports carry no PHI)."""

    found: int = 0  # text regions OCR found
    redacted: list[Box] = field(default_factory=list)
    kept: int = 0  # regions judged benign (phi mode)
    ocr_passes: int = 0
    verified: bool = False
    before: NDArray[np.uint8] | None = field(default=None, repr=False)  # first frame as shown


def select_regions(
    regions: Sequence[TextRegion],
    mode: str,
    identifiers: Identifiers,
    image_areas: Sequence[Box] = (),
) -> tuple[list[TextRegion], int]:
    """Regions to fill under ``mode``, and how many were kept as benign."""
    if image_areas:
        # Inside an ultrasound image, shapes that merely look like text are most often speckle;
        # a line the learned detector saw alone, surely, is kept (8 px labels over Doppler).
        regions = [
            r
            for r in regions
            if r.text.strip() or r.source == "detector" or not _inside_any(r, image_areas)
        ]
    if mode == "all":
        return list(regions), 0
    if mode == "none":
        return [], len(regions)
    flagged = [identifying(r, identifiers) for r in regions]
    for group in _phrases(regions):
        if any(flagged[i] for i in group):
            for i in group:
                flagged[i] = True
    chosen = [r for r, flag in zip(regions, flagged, strict=True) if flag]
    return chosen, len(regions) - len(chosen)


def _phrases(regions: Sequence[TextRegion]) -> list[list[int]]:
    """Regions that are words of one phrase: on one row (overlapping by half their height, of
    similar height), a space apart at most (``PHRASE_GAP`` heights). OCR often splits a field
    ("Philips" | "Healthcare"); a field is identifying as a whole."""
    parent = list(range(len(regions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(regions):
        for j in range(i + 1, len(regions)):
            b = regions[j]
            low, high = sorted((a.h, b.h))
            overlap = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
            gap = max(b.x - (a.x + a.w), a.x - (b.x + b.w))
            if high <= 1.5 * low and overlap >= 0.5 * low and gap <= PHRASE_GAP * low:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(regions)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def identifying(region: TextRegion, identifiers: Identifiers) -> bool:
    """Whether a text region may identify (phi mode): unreadable text counts, since it cannot
    be judged; OCR errors are tolerated on the header's names and IDs (edit distance)."""
    text = region.text.strip()
    if not text or region.source in ("unreadable", "detector"):
        return True
    if identifiers.find(text):
        return True
    folded = fold(text)
    if any(pattern.search(text) for _, pattern in GENERIC_PATTERNS):
        return True
    if _TIME_RE.search(folded) or _YEAR_RE.search(folded) or _TITLE_RE.search(folded):
        return True
    if any(not _MEASURE_RE.fullmatch(m.group()) for m in _ID_RE.finditer(folded)):
        return True
    words = re.findall(r"[A-Z0-9]+", folded)
    if any(word in INSTITUTION_WORDS or word in KEY_WORDS for word in words):
        return True
    targets = [v for v in identifiers.names | identifiers.ids if len(v) >= 4]
    return any(_close(word, target) for word in words if len(word) >= 4 for target in targets)


def _inside_any(region: TextRegion, areas: Sequence[Box]) -> bool:
    cx, cy = region.x + region.w / 2, region.y + region.h / 2
    return any(x <= cx < x + w and y <= cy < y + h for x, y, w, h in areas)


def ultrasound_areas(dataset: Dataset) -> tuple[Box, ...]:
    """The image areas of Sequence of Ultrasound Regions (0018,6011), as boxes."""
    areas = []
    for item in dataset.get("SequenceOfUltrasoundRegions", None) or []:
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)
        except (AttributeError, TypeError, ValueError):
            continue
        if x1 > x0 and y1 > y0:
            areas.append((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    return tuple(areas)


def _close(word: str, target: str) -> bool:
    """Edit distance at most 1 (2 for 8+ characters): OCR's usual slips (0/O, 1/I, a lost
    letter)."""
    limit = 2 if len(target) >= 8 else 1
    if abs(len(word) - len(target)) > limit:
        return False
    previous = list(range(len(target) + 1))
    for i, a in enumerate(word, 1):
        current = [i]
        for j, b in enumerate(target, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


@dataclass(frozen=True)
class CineRules:
    """How a cine's text that is not in its first frame is looked for (see :func:`changes`).

    Overlay text, even text shown in a few frames only, stays still while it is shown; moving
    anatomy (ultrasound speckle) mostly does not. Grey levels are display levels.
    """

    still: int = 6  # a pixel this close between consecutive frames is still (lossy jitter)
    change: int = 24  # ... and changed when this far from the first frame
    run: int = 3  # frames it must stay still and changed
    glyph_min: int = 4  # px: smaller parts of that mask cannot hold readable text
    join: int = 9  # px: glyphs this close join into one line
    margin: int = 16  # px around each part, so that OCR sees its text whole


def changes(display: NDArray[np.uint8], rules: CineRules = CineRules()) -> NDArray[np.uint8]:
    """What a cine shows outside its first frame, as one image to read; black elsewhere.

    One pass over the frames, in grey, no OCR. Pixels that show something other than the
    first frame, still for ``rules.run`` frames (a name in the middle frames, a clock that
    ticks), are gathered into parts; each part, with a margin, is taken from the frame where
    most of its pixels were last seen so, and its changed pixels each from the frame where
    it was: text as drawn, over anatomy of one frame. Nothing changed and still (a cine of
    one frame, or whose text is all in the first frame): all black.
    """
    first = _grey(display[0]).astype(np.int16)
    seen = np.zeros(first.shape, np.intp)  # last frame still and changed; 0: never
    streak = np.zeros(first.shape, np.int16)
    previous = first
    for k in range(1, display.shape[0]):
        grey = _grey(display[k]).astype(np.int16)
        ok = (np.abs(grey - previous) <= rules.still) & (np.abs(grey - first) >= rules.change)
        streak = np.where(ok, streak + 1, 0).astype(np.int16)
        seen[streak >= rules.run - 1] = k
        previous = grey
    canvas = np.zeros(display.shape[1:], np.uint8)
    if not seen.any():
        return canvas
    shown = np.zeros(first.shape, bool)
    joined = cv2.dilate((seen > 0).astype(np.uint8), np.ones((1, rules.join), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    rows, columns = first.shape
    for part, (x, y, w, h, _) in enumerate(stats[1:], start=1):
        if h < rules.glyph_min:
            continue
        sl = (slice(int(y), int(y + h)), slice(int(x), int(x + w)))
        frames = seen[sl][(labels[sl] == part) & (seen[sl] > 0)]
        k = int(np.argmax(np.bincount(frames)))
        x0, y0 = max(0, int(x) - rules.margin), max(0, int(y) - rules.margin)
        x1, y1 = min(columns, int(x + w) + rules.margin), min(rows, int(y + h) + rules.margin)
        canvas[y0:y1, x0:x1] = display[k, y0:y1, x0:x1]
        shown[y0:y1, x0:x1] = True
    # Each changed pixel as last seen still: a part may join text to anatomy, whose frame of
    # choice need not show the text.
    ys, xs = np.nonzero(shown & (seen > 0))
    canvas[ys, xs] = display[seen[ys, xs], ys, xs]
    return canvas


def _grey(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.ndim == 2:
        return image
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


def read_frames(
    display: NDArray[np.uint8],
    finder: Finder,
    *,
    within: Sequence[Box] | None = None,
    rules: CineRules = CineRules(),
) -> tuple[list[TextRegion], list[TextRegion]]:
    """Text regions of every frame, for the cost of about one: those of the first frame, and
    those of what the other frames show and it does not.

    The first frame is read whole: it holds the static overlay, the text of the whole cine in
    the usual case. Text that other frames show and it does not is read in one image of the
    areas that change from the first frame and stay still (:func:`changes`): all of them
    (``within`` None), or only those near the boxes ``within`` (a re-check of what was filled
    there: the rest of that image, moving anatomy of an echo, was read already and filling
    elsewhere only blacks out some of it).
    """
    first = list(finder(display[0]))
    if display.shape[0] <= 1 or (within is not None and not within):
        return first, []
    canvas = changes(display, rules)
    if within is not None:
        canvas = _only_near(canvas, within, rules.margin)
    return first, (list(finder(canvas)) if canvas.any() else [])


def _only_near(image: NDArray[np.uint8], boxes: Sequence[Box], margin: int) -> NDArray[np.uint8]:
    """``image`` black but near ``boxes``: within ``margin`` pixels plus one box height above
    and below, four beside (a word the fill cut may go on along its baseline)."""
    keep = np.zeros(image.shape[:2], bool)
    for x, y, w, h in boxes:
        mx, my = margin + 4 * h, margin + h
        keep[max(0, y - my) : max(0, y + h + my), max(0, x - mx) : max(0, x + w + mx)] = True
    out = np.zeros_like(image)
    out[keep] = image[keep]
    return out


def fill_boxes(array: NDArray[np.generic], boxes: Sequence[Box], value: float) -> None:
    """Fill ``boxes`` with ``value`` in every frame of ``array`` (frames first), in place."""
    rows, columns = array.shape[1], array.shape[2]
    for x, y, w, h in boxes:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(columns, x + w), min(rows, y + h)
        if x1 > x0 and y1 > y0:
            array[:, y0:y1, x0:x1, ...] = value


def clean_text(
    display: NDArray[np.uint8],
    policy: PixelPolicy,
    identifiers: Identifiers,
    fill: Callable[[Sequence[Box]], NDArray[np.uint8]],
    *,
    finder: Finder = find_text,
    rounds: int = 3,
) -> PixelOutcome:
    """Find, choose and fill text regions, then look again until nothing is left.

    ``display`` holds the frames as shown (uint8, frames first); ``fill(boxes)`` fills the
    boxes in the stored frames and returns the new display frames. Raises
    :class:`PixelCleaningError` when OCR is missing or text remains after ``rounds`` passes.
    """
    outcome = PixelOutcome()
    if policy.boxes:
        outcome.redacted.extend(policy.boxes)
        display = fill(policy.boxes)
    if policy.text == "none":
        outcome.verified = False  # nothing proves the rest of the image clean
        return outcome
    if not is_available():
        raise PixelCleaningError("pixel cleaning requested but OCR is not available")
    within: list[Box] | None = None  # the first pass reads every change
    for round_ in range(rounds + 1):
        first, changed = read_frames(display, finder, within=within)
        regions = list(dict.fromkeys(first + changed))  # a region may be in both
        outcome.ocr_passes += 1
        if round_:
            # The re-checks look for text that can still be read (two letters or digits read
            # with confidence and more): shapes that merely look like text were judged in the
            # first pass, and the fills' own edges make new ones.
            regions = [r for r in regions if r.text.strip()]
        chosen, kept = select_regions(regions, policy.text, identifiers, policy.image_areas)
        if outcome.found == 0:
            outcome.found, outcome.kept = len(regions), kept
        if not chosen:
            outcome.verified = True
            return outcome
        boxes = [(r.x, r.y, r.w, r.h) for r in chosen]
        outcome.redacted.extend(boxes)
        display = fill(boxes)
        # A cine's changes are read again only near their own regions filled: the others'
        # fills can only black out some of them, and the first frame is read anyway.
        read_in_changes = set(changed)
        within = [(r.x, r.y, r.w, r.h) for r in chosen if r in read_in_changes]
    raise PixelCleaningError(
        f"text still found after {rounds} redaction passes: the pixels cannot be proven clean"
    )


def clean_dataset_pixels(
    dataset: Dataset,
    policy: PixelPolicy,
    identifiers: Identifiers,
    *,
    finder: Finder = find_text,
) -> PixelOutcome:
    """Run the text stage on a DICOM dataset's Pixel Data, every frame; write it back.

    Pixel Data is rewritten (losslessly, :func:`medanon.pixels.encode_frames`) only when a box
    was filled; otherwise it stays byte for byte. Undecodable pixels raise
    :class:`~medanon.pixels.PixelError`: never passed through as if clean.
    """
    frames = decode_frames(dataset)
    array = frames.array
    # Black as displayed: MONOCHROME1 shows its largest value as black (PS3.3 C.7.6.3.1.2).
    if frames.photometric == "RGB":
        value: float = 0
    elif frames.photometric == "MONOCHROME1":
        value = float(array.max())
    else:
        value = float(array.min())

    display = display_frames(frames)
    before = display[0].copy()

    def fill(boxes: Sequence[Box]) -> NDArray[np.uint8]:
        nonlocal display
        display = _filled_display(frames, display, boxes, value)
        return display

    outcome = clean_text(display, policy, identifiers, fill, finder=finder)
    outcome.before = before
    if outcome.redacted:
        encode_frames(dataset, frames, changed=True)
    return outcome


def _filled_display(
    frames: Frames, display: NDArray[np.uint8], boxes: Sequence[Box], value: float
) -> NDArray[np.uint8]:
    """Fill ``boxes`` with ``value`` (black as displayed, as :func:`clean_dataset_pixels`
    chooses it) in the stored frames, and return their display frames.

    :func:`display_frames` of a whole cine costs as much as reading a frame (a float pass
    over every pixel of every frame). Where the map from stored to display values does not
    change (RGB: fixed; grey: the same minimum and maximum after the fill), the display is the
    old one with the boxes black, exactly: that is filled in place instead.
    """
    array = frames.array
    if frames.photometric == "RGB":
        fill_boxes(array, boxes, value)
        fill_boxes(display, boxes, 0)
        return display
    span = (array.min(), array.max())
    fill_boxes(array, boxes, value)
    if frames.photometric in ("MONOCHROME1", "MONOCHROME2") and (array.min(), array.max()) == span:
        fill_boxes(display, boxes, 0)
        return display
    return display_frames(frames)


def clean_image_pixels(
    image: NDArray[np.generic],
    policy: PixelPolicy,
    identifiers: Identifiers,
    *,
    finder: Finder = find_text,
) -> PixelOutcome:
    """The text stage on an ordinary image array (grey HxW or colour HxWxC, OpenCV order),
    filled in place with black."""
    frames = image[np.newaxis, ...]

    def display_of(array: NDArray[np.generic]) -> NDArray[np.uint8]:
        shown = array
        if shown.dtype != np.uint8:
            top = float(np.iinfo(shown.dtype).max) if shown.dtype.kind in "ui" else 1.0
            shown = np.clip(shown.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
        if shown.ndim == 4:
            shown = shown[..., 2::-1] if shown.shape[-1] >= 3 else shown[..., 0]
        return np.ascontiguousarray(shown)

    def fill(boxes: Sequence[Box]) -> NDArray[np.uint8]:
        fill_boxes(frames, boxes, 0)
        return display_of(frames)

    before = display_of(frames)[0].copy()
    outcome = clean_text(display_of(frames), policy, identifiers, fill, finder=finder)
    outcome.before = before
    return outcome
