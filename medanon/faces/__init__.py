"""Faces and other recognisable features in photographs (see ``docs/faces.md``).

:func:`remove_faces` is the stage: it finds faces with an offline detector
(:func:`default_detector`), covers each with a margin for hair, ears and chin
(:func:`anonymise`), runs the detector again on the result and reports what is left, so that a
caller can fail closed. :func:`person_photo_warnings` lists what medanon cannot judge in a
photograph of a person (tattoos, jewellery, marks, backgrounds).
"""

from __future__ import annotations

from medanon.faces.anonymise import (
    DEFAULT_MARGIN,
    FaceReport,
    Margin,
    Method,
    PersonPhotoWarning,
    anonymise,
    expand_box,
    person_photo_warnings,
    remove_faces,
    skin_fraction,
)
from medanon.faces.detect import (
    BACKENDS,
    CascadeBackend,
    CenterFaceBackend,
    CombinedBackend,
    Face,
    FaceDetector,
    MtcnnBackend,
    MultiPassDetector,
    SlimeFaceBackend,
    YuFaceBackend,
    as_bgr,
    default_detector,
    merge_faces,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_MARGIN",
    "CascadeBackend",
    "CenterFaceBackend",
    "CombinedBackend",
    "Face",
    "FaceDetector",
    "FaceReport",
    "Margin",
    "Method",
    "MtcnnBackend",
    "MultiPassDetector",
    "PersonPhotoWarning",
    "SlimeFaceBackend",
    "YuFaceBackend",
    "anonymise",
    "as_bgr",
    "default_detector",
    "expand_box",
    "merge_faces",
    "person_photo_warnings",
    "remove_faces",
    "skin_fraction",
]
