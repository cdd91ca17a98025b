"""Make faces unrecognisable, check that they are gone, and say what medanon cannot judge.

Why a solid fill of the whole head by default? Journals and regulators agree that an eye bar is
not anonymisation (ICMJE: "masking the eye region in photographs of patients is inadequate
protection of anonymity"; AMA Manual of Style), and blur or pixelation can be undone or seen
through by recognition models. People are also recognised by hair, ears, jaw line and chin, so
the filled region is the detector's box grown by a margin on every side (more on top, for the
hair). Pixelation and blur are offered for channels that accept them, and are made strong
enough that the detector itself no longer finds a face there; :func:`remove_faces` checks that
by running the detector again on the result, and reports anything still found, so that the
caller can fail closed.

Everything here is a pure function: the input array is never modified, and the same input gives
the same output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from medanon.faces.detect import Face, FaceDetector, default_detector

__all__ = [
    "DEFAULT_MARGIN",
    "FaceReport",
    "Margin",
    "Method",
    "PersonPhotoWarning",
    "anonymise",
    "expand_box",
    "person_photo_warnings",
    "remove_faces",
    "skin_fraction",
]

Method = Literal["fill", "pixelate", "blur"]


@dataclass(frozen=True)
class Margin:
    """How far to grow a face box, as fractions of its width (sides) and height (top, bottom).

    Detectors box the face from brows to chin; the defaults add the hair (60% on top), the
    ears (40% each side) and the chin and upper neck (30% below).
    """

    sides: float = 0.4
    top: float = 0.6
    bottom: float = 0.3


DEFAULT_MARGIN = Margin()


def expand_box(
    box: tuple[int, int, int, int], shape: tuple[int, ...], margin: Margin = DEFAULT_MARGIN
) -> tuple[int, int, int, int]:
    """The face box grown by ``margin``, clipped to an image of ``shape`` (H, W[, C])."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    height, width = shape[0], shape[1]
    return (
        max(0, int(np.floor(x0 - margin.sides * w))),
        max(0, int(np.floor(y0 - margin.top * h))),
        min(width, int(np.ceil(x1 + margin.sides * w))),
        min(height, int(np.ceil(y1 + margin.bottom * h))),
    )


def _pixelate(region: np.ndarray, blocks: int) -> np.ndarray:
    """Mean of each cell of a grid with ``blocks`` cells along the region's long side.

    Why so coarse? Measured: at 8 or more cells across, the detectors still find the face.
    """
    h, w = region.shape[:2]
    cell = max(1, int(np.ceil(max(h, w) / blocks)))
    out = np.empty_like(region)
    for y in range(0, h, cell):
        for x in range(0, w, cell):
            block = region[y : y + cell, x : x + cell]
            out[y : y + cell, x : x + cell] = np.round(
                block.reshape(-1, *region.shape[2:]).mean(axis=0)
            ).astype(region.dtype)
    return out


def _blur(region: np.ndarray) -> np.ndarray:
    """A Gaussian blur with sigma a quarter of the region's short side, applied twice.

    Why so strong? A light blur leaves a face detectable and recognisable (sharing policy I2);
    at this strength the region keeps only its mean colour and a gradient.
    """
    import cv2

    h, w = region.shape[:2]
    sigma = max(2.0, min(h, w) / 4.0)
    out = cv2.GaussianBlur(region, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return cv2.GaussianBlur(out, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


def anonymise(
    image: np.ndarray,
    faces: Sequence[Face],
    method: Method = "fill",
    margin: Margin = DEFAULT_MARGIN,
    fill_value: int = 0,
    pixel_blocks: int = 5,
) -> np.ndarray:
    """A copy of ``image`` with each face's region (box grown by ``margin``) made unrecognisable.

    ``fill`` paints the region with ``fill_value`` (default, irreversible); ``pixelate`` replaces
    it with ``pixel_blocks`` cells along its long side; ``blur`` blurs it strongly. Never an eye
    bar: the whole head region is always covered. With no faces, an identical copy is returned.
    """
    if method not in ("fill", "pixelate", "blur"):
        raise ValueError(f"unknown method {method!r}")
    out = np.array(image, copy=True)
    for face in faces:
        x0, y0, x1, y1 = expand_box(face.box, out.shape, margin)
        if x1 <= x0 or y1 <= y0:
            continue
        if method == "fill":
            out[y0:y1, x0:x1] = fill_value
        elif method == "pixelate":
            out[y0:y1, x0:x1] = _pixelate(out[y0:y1, x0:x1], pixel_blocks)
        else:
            out[y0:y1, x0:x1] = _blur(np.ascontiguousarray(out[y0:y1, x0:x1]))
    return out


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonPhotoWarning:
    """Something medanon cannot judge in a photograph of a person (sharing policy I5-I7)."""

    code: str
    message: str


_PERSON_WARNINGS = (
    PersonPhotoWarning(
        "person-photo-marks",
        "photograph of a person: medanon cannot judge tattoos, birthmarks, moles, scars or rare "
        "anatomy; crop or mask them unless they are the clinical subject",
    ),
    PersonPhotoWarning(
        "person-photo-jewellery",
        "photograph of a person: medanon cannot judge jewellery, piercings, watches, glasses, "
        "clothing or nail art; check and crop or mask them",
    ),
    PersonPhotoWarning(
        "person-photo-background",
        "photograph of a person: medanon cannot judge the background (room, window view, other "
        "people, documents, screens, signage); check it",
    ),
)


def skin_fraction(image: np.ndarray) -> float:
    """Share of pixels of a colour image that are skin-coloured (0.0 for grey images).

    Uses the classic YCrCb box (Cr 133-173, Cb 77-127; Chai and Ngan 1999), which covers light
    to dark skin under ordinary light. It also matches wood, sand and cardboard: the result only
    raises a warning, never changes pixels.
    """
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] < 3:
        return 0.0
    rgb = a[:, :, :3]
    if np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]):
        return 0.0
    import cv2

    # Averaged down to <= 256 px first: palette and JPEG images are often dithered, so single
    # pixels of a skin area are grey or off-hue (measured on OT-PAL-8-face: 0% skin per pixel).
    h, w = rgb.shape[:2]
    f = min(1.0, 256 / max(h, w))
    small = cv2.resize(
        np.ascontiguousarray(rgb),
        (max(1, round(w * f)), max(1, round(h * f))),
        interpolation=cv2.INTER_AREA,
    )
    ycrcb = cv2.cvtColor(cv2.blur(small, (3, 3)), cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycrcb[:, :, 0], ycrcb[:, :, 1], ycrcb[:, :, 2]
    skin = (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127) & (y >= 40)
    return float(skin.mean())


def person_photo_warnings(
    image: np.ndarray, faces: Sequence[Face], min_skin_fraction: float = 0.25
) -> list[PersonPhotoWarning]:
    """Warnings about what medanon cannot judge, when ``image`` is a photograph of a person.

    A photograph of a person is one where a face was found (before anonymisation), or a colour
    image at least ``min_skin_fraction`` skin-coloured (a close-up of a hand, a back, a wound,
    with no face). Removing faces does not make such a photograph anonymous: tattoos, jewellery,
    marks and backgrounds identify people too (CMPA, CSE), and only a person can judge them.
    Grey images (radiology) give no warning unless a face was found.
    """
    if faces or skin_fraction(image) >= min_skin_fraction:
        return list(_PERSON_WARNINGS)
    return []


@dataclass(frozen=True)
class FaceReport:
    """What :func:`remove_faces` did.

    ``faces``: every face found and anonymised (all rounds); ``regions``: the anonymised boxes
    (faces grown by the margin); ``remaining``: faces the detector still finds in the output;
    ``clean``: detector available and nothing remaining (the caller must not mark the image
    free of recognisable features otherwise); ``warnings``: see :func:`person_photo_warnings`.
    """

    detector: str
    available: bool
    method: str
    faces: tuple[Face, ...] = ()
    regions: tuple[tuple[int, int, int, int], ...] = ()
    remaining: tuple[Face, ...] = ()
    warnings: tuple[PersonPhotoWarning, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        return self.available and not self.remaining

    @property
    def changed(self) -> bool:
        return bool(self.faces)


def remove_faces(
    image: np.ndarray,
    detector: FaceDetector | None = None,
    method: Method = "fill",
    margin: Margin = DEFAULT_MARGIN,
    max_rounds: int = 2,
) -> tuple[np.ndarray, FaceReport]:
    """Detect, anonymise, detect again; return the new image and a :class:`FaceReport`.

    Why re-detect? It is the only evidence that the output holds no face the detector can see
    (a pixelated or blurred face that is still found is not anonymous; a fill that missed part
    of a large face shows up as a new box). Faces found again are anonymised in a further round,
    up to ``max_rounds``; whatever is still found after that is reported in ``remaining`` and
    ``clean`` is False, so the caller can fail closed. When the detector is not available the
    image is returned unchanged with ``available=False``: never silently "clean".
    """
    det = detector if detector is not None else default_detector()
    if not det.is_available():
        return np.array(image, copy=True), FaceReport(det.name, False, method)
    faces: list[Face] = []
    regions: list[tuple[int, int, int, int]] = []
    out = np.array(image, copy=True)
    found = det.detect(out)
    initial = list(found)
    for _ in range(max_rounds):
        if not found:
            break
        faces.extend(found)
        regions.extend(expand_box(f.box, out.shape, margin) for f in found)
        out = anonymise(out, found, method=method, margin=margin)
        found = det.detect(out)
    report = FaceReport(
        detector=det.name,
        available=True,
        method=method,
        faces=tuple(faces),
        regions=tuple(regions),
        remaining=tuple(found),
        warnings=tuple(person_photo_warnings(image, initial)),
    )
    return out, report
