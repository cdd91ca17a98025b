"""Burned-in text in pixel data: where it is, and what it says (Tesseract OCR).

See :mod:`medanon.text.finder`.
"""

from .finder import (
    FinderConfig,
    OCRUnavailable,
    TextRegion,
    find_text,
    is_available,
    ocr_words,
)

__all__ = [
    "FinderConfig",
    "OCRUnavailable",
    "TextRegion",
    "find_text",
    "is_available",
    "ocr_words",
]
