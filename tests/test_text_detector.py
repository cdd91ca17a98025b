"""The learned text detector (DBNet, ``medanon.text.detector``) and the line completion it feeds
in the finder, with the real model and real Tesseract."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from medanon.text import FinderConfig, OCRUnavailable, detector, find_text, is_available  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not is_available(), reason="Tesseract binary not installed"),
    pytest.mark.skipif(not detector.is_available(), reason="text detector model not installed"),
]


def test_detector_boxes_a_line_of_text_and_nothing_on_a_blank_image() -> None:
    img = np.full((120, 320), 20, np.uint8)
    cv2.putText(img, "DOE^JANE 1961", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 230, 2)
    boxes = detector.detect_lines(img)
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x0 <= 22 and b.x1 >= 200 and b.y0 <= 55 and b.y1 >= 70 and b.score > 0.5
    assert detector.detect_lines(np.full((120, 320), 20, np.uint8)) == []
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    assert detector.detect_lines(rgb) == boxes  # grey and its RGB copy: the same boxes


def test_detector_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (200, 260), dtype=np.uint8)
    cv2.putText(img, "MRN 4821", (10, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2)
    assert detector.detect_lines(img) == detector.detect_lines(img.copy())


def _benchmark_frames(seed: int, count: int) -> list:  # type: ignore[type-arg]
    """Frames of ``benchmarks/bench_text.py``'s generator: real anatomy from pydicom's test
    files with fake PHI drawn in, and exact ground truth."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_text
    finally:
        sys.path.pop(0)
    return bench_text.make_corpus(count, seed)


@pytest.mark.parametrize(
    ("index", "text"),
    [(7, "Dr. P. Smith"), (20, "DOE^HANS"), (27, "CHU Sainte-Anne")],
)
def test_lines_found_in_part_are_completed_by_the_detector(index: int, text: str) -> None:
    """Lines the finder read only in part (a white rule along the tops of "P. Smith", bright
    anatomy touching the last "S", a vertical line through the "C"): the detector's boxes of
    the same line extend them, and the whole line is covered."""
    frame = _benchmark_frames(11, index + 1)[index]
    truth = next(t for t in frame.truths if t.text == text)

    def coverage(config: FinderConfig) -> float:
        found = np.zeros(frame.image.shape[:2], bool)
        for r in find_text(frame.image, config=config):
            found[r.y : r.y + r.h, r.x : r.x + r.w] = True
        return float(found[truth.y : truth.y + truth.h, truth.x : truth.x + truth.w].mean())

    assert coverage(FinderConfig(detector="off")) < 0.95  # found in part without it
    assert coverage(FinderConfig()) >= 0.95


def test_required_detector_fails_closed_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detector, "model_path", lambda: None)
    img = np.full((80, 300), 10, np.uint8)
    cv2.putText(img, "SMITH JOHN", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 240, 2)
    with pytest.raises(OCRUnavailable):
        find_text(img, config=FinderConfig(detector="required"))
    assert find_text(img)  # "auto": the finder alone still finds the line


def test_a_line_no_mask_finds_is_reported_from_the_detector_alone() -> None:
    """8 px anti-aliased coloured text over colour Doppler: no stroke, plateau or colour mask
    gives glyphs, OCR cannot read it; the detector's sure line-shaped box is reported unread."""
    frame = _benchmark_frames(7, 29)[28]
    truth = next(t for t in frame.truths if t.text == "MULLER^OLGA")

    def regions(config: FinderConfig) -> list:  # type: ignore[type-arg]
        return [
            r
            for r in find_text(frame.image, config=config)
            if r.x < truth.x + truth.w
            and truth.x < r.x + r.w
            and r.y < truth.y + truth.h
            and truth.y < r.y + r.h
        ]

    assert regions(FinderConfig(detector_alone=0.0)) == []
    (region,) = regions(FinderConfig())
    assert region.source == "unreadable" and region.text == ""
    assert region.x <= truth.x and region.x + region.w >= truth.x + truth.w
    assert region.y <= truth.y and region.y + region.h >= truth.y + truth.h
