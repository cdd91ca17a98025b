"""The burned-in text stage: which text regions to black out, in every frame, and the proof.

PS3.15 E.3.1 (Clean Pixel Data Option): identifying information burned into the pixels is
removed, and Burned In Annotation (0028,0301) may then say NO. medanon finds text with
:mod:`medanon.text` (Tesseract), chooses regions by mode, fills them in every frame, and OCRs
the result again: the image is only called clean when that second look finds nothing left.

Modes (PixelPolicy.text):

* ``all``: every text region, readable or not (the ``social`` profile's default);
* ``phi``: text matching the header's identifying values (tolerant to OCR errors), dates,
  times, IDs, phone numbers, e-mails, institution-like words, and regions that look like text
  but cannot be read (they cannot be judged); benign labels (L/R, 5 cm, 120 kV) stay;
* ``none``: no OCR; manual and rule boxes are still filled.

Multi-frame images (cines) share one static overlay: OCR reads the first and the last frame,
which finds the static text once and text that changes between them; every box is filled in
every frame. Text that appears only in middle frames is not seen: a stated limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from ..dicom.identifiers import GENERIC_PATTERNS, Identifiers, fold
from ..text import OCRUnavailable, TextRegion, find_text, is_available
from .codec import decode_frames, display_frames, encode_frames

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the stored frame
Finder = Callable[[NDArray[np.uint8]], list[TextRegion]]

MODES = ("none", "phi", "all")
INSTITUTION_WORDS = (
    "HOSPITAL",
    "HOPITAL",
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
_TIME_RE = re.compile(r"\b\d{1,2}[:h]\d{2}(?::\d{2})?\b")
_ID_RE = re.compile(r"\b(?=\w*\d)[A-Z0-9-]{5,}\b")


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
        regions = [r for r in regions if r.text.strip() or not _inside_any(r, image_areas)]
    if mode == "all":
        return list(regions), 0
    if mode == "none":
        return [], len(regions)
    chosen = [r for r in regions if identifying(r, identifiers)]
    return chosen, len(regions) - len(chosen)


def identifying(region: TextRegion, identifiers: Identifiers) -> bool:
    """Whether a text region may identify (phi mode): unreadable text counts, since it cannot
    be judged; OCR errors are tolerated on the header's names and IDs (edit distance)."""
    text = region.text.strip()
    if not text or region.source == "unreadable":
        return True
    if identifiers.find(text):
        return True
    folded = fold(text)
    if any(pattern.search(text) for _, pattern in GENERIC_PATTERNS):
        return True
    if _TIME_RE.search(folded) or _ID_RE.search(folded):
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


def frames_to_read(count: int) -> list[int]:
    """Frames OCR reads: the first and, for a cine, the last."""
    return [0] if count <= 1 else [0, count - 1]


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
    for round_ in range(rounds + 1):
        regions = []
        for index in frames_to_read(display.shape[0]):
            regions.extend(finder(display[index]))
            outcome.ocr_passes += 1
        if round_:
            # The re-checks look for text that can still be read: shapes that merely look like
            # text were judged in the first pass, and the fills' own edges make new ones.
            regions = [r for r in regions if sum(c.isalnum() for c in r.text) >= 3]
        chosen, kept = select_regions(regions, policy.text, identifiers, policy.image_areas)
        if outcome.found == 0:
            outcome.found, outcome.kept = len(regions), kept
        if not chosen:
            outcome.verified = True
            return outcome
        boxes = [(r.x, r.y, r.w, r.h) for r in chosen]
        outcome.redacted.extend(boxes)
        display = fill(boxes)
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

    def fill(boxes: Sequence[Box]) -> NDArray[np.uint8]:
        fill_boxes(array, boxes, value)
        return display_frames(frames)

    display = display_frames(frames)
    outcome = clean_text(display, policy, identifiers, fill, finder=finder)
    outcome.before = display[0].copy()
    if outcome.redacted:
        encode_frames(dataset, frames, changed=True)
    return outcome


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
