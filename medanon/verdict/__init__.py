"""Sharing verdict: is an image fit for scientific sharing, or promotional / identifiable?

>>> from medanon.verdict import assess_image
>>> verdict = assess_image(pixels, channel="social", jurisdiction="fr")   # doctest: +SKIP
>>> verdict.verdict, [j.signal.id for j in verdict.signals]              # doctest: +SKIP

Signals come from :func:`find_signals` (OCR text cues, composites, graphics, plus what the
caller knows); :func:`judge` applies the rules in ``rules.toml`` for a channel and jurisdiction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .loading import Loaded, LoadError, load_image
from .model import Judged, Region, Signal, Verdict
from .ocr import OCRConfig
from .rules import RuleError, Rules, judge, load_rules
from .signals import Known, file_name_signals, find_signals

__all__ = [
    "Judged",
    "Known",
    "LoadError",
    "Loaded",
    "OCRConfig",
    "Region",
    "RuleError",
    "Rules",
    "Signal",
    "Verdict",
    "assess_file",
    "assess_image",
    "file_name_signals",
    "find_signals",
    "judge",
    "load_image",
    "load_rules",
]


def face_detector_available() -> bool:
    from ..faces import default_detector

    return default_detector().is_available()


def find_faces(image: np.ndarray) -> tuple[Region, ...]:
    """Faces in an image (grey or BGR) as regions, with medanon's default detector."""
    from ..faces import default_detector

    detector = default_detector()
    if not detector.is_available():
        return ()
    if image.ndim == 3 and image.shape[2] in (3, 4):  # the detector reads RGB (a BGR face is blue)
        image = image[..., [2, 1, 0]]
    found = detector.detect(np.ascontiguousarray(image))
    return tuple(
        Region(f.box[0], f.box[1], f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in found
    )


def assess_image(
    image: np.ndarray,
    known: Known | None = None,
    *,
    channel: str | None = None,
    jurisdiction: str | None = None,
    consent: bool = False,
    lang: str = "fr",
    ocr: bool = True,
    rules: Rules | None = None,
) -> Verdict:
    """Signals of ``image`` (uint8 grey or BGR) judged for a channel and jurisdiction."""
    return judge(find_signals(image, known, ocr=ocr), channel, jurisdiction, consent, lang, rules)


def assess_file(
    path: str | Path,
    *,
    caption: str = "",
    faces: tuple[Region, ...] = (),
    channel: str | None = None,
    jurisdiction: str | None = None,
    consent: bool = False,
    lang: str = "fr",
    ocr: bool = True,
    rules: Rules | None = None,
    detect_faces: bool = True,
) -> tuple[Loaded, Verdict]:
    """Read a DICOM or image file and judge it. Raises :class:`LoadError` if unreadable.

    Faces (signal I1) are found with :mod:`medanon.faces` unless the caller gives them or
    ``detect_faces`` is False; without a detector none are reported.
    """
    path = Path(path)
    loaded = load_image(path)
    searched = bool(faces)
    if detect_faces and not faces:
        searched = face_detector_available()
        faces = find_faces(loaded.image)
    known = Known(
        caption=caption,
        faces=faces,
        faces_searched=searched,
        identifying_metadata=tuple(loaded.identifying_metadata),
        identifying_values=tuple(loaded.identifying_values),
        file_name=path.name,
        modality=loaded.modality,
        declared_burned_in=loaded.declared_burned_in,
    )
    return loaded, assess_image(
        loaded.image,
        known,
        channel=channel,
        jurisdiction=jurisdiction,
        consent=consent,
        lang=lang,
        ocr=ocr,
        rules=rules,
    )
