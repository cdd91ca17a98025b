"""Burned-in text finder, with the real Tesseract binary and synthetic images (fake PHI only).

Tests showing that one step is needed turn the learned text detector off as well
(``detector="off"``): it boxes much of the same text, and would hide what the step buys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from medanon.text import FinderConfig, OCRUnavailable, TextRegion, find_text, is_available  # noqa: E402

pytestmark = pytest.mark.skipif(not is_available(), reason="Tesseract binary not installed")

FONT = cv2.FONT_HERSHEY_SIMPLEX


def anatomy(size: int = 512, seed: int = 3) -> np.ndarray:
    """Anatomy-like background: pydicom's CT test image when installed, else smooth blobs."""
    import pydicom

    path = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
    if path.exists():
        a = pydicom.dcmread(path).pixel_array.astype(np.float64)
        lo, hi = np.percentile(a, [0.5, 99.7])
        a = np.clip((a - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
        return cv2.resize(a, (size, size), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (size // 8, size // 8))
    img = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    img = (img - img.min()) / (img.max() - img.min()) * 200
    return img.astype(np.uint8)


def draw(
    img: np.ndarray, text: str, org: tuple[int, int], glyph_px: int, ink: int | tuple[int, ...]
) -> tuple[int, int, int, int]:
    """Draw text with about ``glyph_px`` capital height; return its tight ink box."""
    thickness = 2 if glyph_px >= 20 else 1
    scale = glyph_px / cv2.getTextSize("H", FONT, 1.0, thickness)[0][1]
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.putText(mask, text, org, FONT, scale, 255, thickness, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, ink, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(mask > 40)
    return int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1)


def coverage(regions: list[TextRegion], box: tuple[int, int, int, int], shape) -> float:
    found = np.zeros(shape[:2], bool)
    for r in regions:
        found[r.y : r.y + r.h, r.x : r.x + r.w] = True
    x, y, w, h = box
    return float(found[y : y + h, x : x + w].mean())


def test_available_and_clear_error_without_binary() -> None:
    assert is_available()
    img = np.zeros((64, 64), np.uint8)
    with pytest.raises(OCRUnavailable):
        find_text(img, config=FinderConfig(engine="binary", tesseract="/nonexistent/tesseract"))


def test_rejects_wrong_input() -> None:
    with pytest.raises(ValueError):
        find_text(np.zeros((32, 32), np.uint16))


@pytest.mark.parametrize("glyph_px", [10, 16, 26])
@pytest.mark.parametrize(
    ("background", "ink"),
    [(20, 255), (90, 170), (230, 30)],
    ids=["white-on-black", "grey-on-grey", "dark-on-light"],
)
def test_text_found_at_sizes_and_contrasts(glyph_px: int, background: int, ink: int) -> None:
    img = np.full((200, 420), background, np.uint8)
    box = draw(img, "DOE^JOHN 12/03/1967", (12, 100), glyph_px, ink)
    regions = find_text(img)
    assert coverage(regions, box, img.shape) >= 0.95
    if glyph_px >= 16:
        text = " ".join(r.text for r in regions)
        assert "1967" in text or "DOE" in text
    # Tight boxes: little more than the text itself is covered.
    covered = sum(r.w * r.h for r in regions)
    assert covered <= 2.0 * box[2] * box[3]


def test_text_over_anatomy_and_coloured_overlay() -> None:
    grey = anatomy()
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    boxes = [
        draw(img, "MRN 48213377", (8, 30), 16, (255, 255, 255)),
        draw(img, "Riverside Medical Ctr", (200, 490), 14, (255, 255, 0)),
        draw(img, "SMITH^JANE", (150, 300), 20, (0, 255, 255)),
    ]
    regions = find_text(img)
    for box in boxes:
        assert coverage(regions, box, img.shape) >= 0.95, box


def test_blank_and_anatomy_only_give_nothing() -> None:
    assert find_text(np.zeros((256, 256), np.uint8)) == []
    assert find_text(np.full((256, 256, 3), 128, np.uint8)) == []
    img = anatomy()
    regions = find_text(img)
    covered = np.zeros(img.shape, bool)
    for r in regions:
        covered[r.y : r.y + r.h, r.x : r.x + r.w] = True
    assert covered.mean() < 0.01


def test_deterministic() -> None:
    img = anatomy()
    draw(img, "DOB: 1958-04-03", (10, 40), 12, 255)
    draw(img, "ST MARY GENERAL HOSP", (150, 480), 18, 200)
    first = find_text(img)
    assert first
    assert find_text(img.copy()) == first


def test_tiny_text_is_flagged_unreadable() -> None:
    """Text 2-3 px tall cannot be read, but must be redacted anyway."""
    strip = np.full((30, 400), 20, np.uint8)
    cv2.putText(strip, "DOE^JOHN 12/03/1967", (5, 22), FONT, 0.6, 255, 1, cv2.LINE_AA)
    small = cv2.resize(strip, (400 // 5, 30 // 5), interpolation=cv2.INTER_AREA)
    img = np.full((128, 256), 20, np.uint8)
    img[60 : 60 + small.shape[0], 20 : 20 + small.shape[1]] = small
    ys, xs = np.nonzero(img > 60)
    box = (int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))
    assert box[3] <= 3
    regions = find_text(img)
    assert any(r.source == "unreadable" and r.text == "" for r in regions)
    assert coverage(regions, box, img.shape) >= 0.95


def test_binary_engine_and_fallback_without_tesserocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Tesseract binary reads as well when tesserocr is forced off or not installed."""
    from medanon.text import finder

    img = np.full((200, 420), 20, np.uint8)
    box = draw(img, "DOE^JOHN 12/03/1967", (12, 100), 16, 255)
    regions = find_text(img, config=FinderConfig(engine="binary"))
    assert coverage(regions, box, img.shape) >= 0.95
    monkeypatch.setattr(finder, "_tesserocr", lambda: None)
    assert is_available()
    regions = find_text(img)
    assert coverage(regions, box, img.shape) >= 0.95
    assert "1967" in " ".join(r.text for r in regions)
    with pytest.raises(OCRUnavailable):
        find_text(img, config=FinderConfig(engine="tesserocr"))


def test_line_continuing_over_anatomy_of_its_brightness_is_covered() -> None:
    """Overlay text at one exact grey level, half over dark background and half over noisy
    anatomy of the same brightness: the detectors see only the first half; the box grows along
    the baseline at the ink's exact level."""
    rng = np.random.default_rng(1)
    img = np.full((120, 420), 20, np.uint8)
    tissue = np.clip(rng.normal(140, 14, (120, 270)), 0, 255).astype(np.uint8)
    img[:, 150:] = cv2.GaussianBlur(tissue, (3, 3), 0)
    text, org = "GARCIA^OLGA 12/03/1967", (10, 60)
    cv2.putText(img, text, org, FONT, 0.75, 140, 1, cv2.LINE_8)
    mask = np.zeros_like(img)
    cv2.putText(mask, text, org, FONT, 0.75, 255, 1, cv2.LINE_8)
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))
    grown = coverage(find_text(img), box, img.shape)
    plain = coverage(find_text(img, config=FinderConfig(grow=False)), box, img.shape)
    assert plain < 0.6 and grown >= 0.85


def test_real_ultrasound_header_found_without_speckle() -> None:
    """pydicom's examples_jpeg2k.dcm (public test data): real burned-in header text is covered,
    and rows of speckle inside the ultrasound image are not reported as unreadable text."""
    import warnings

    import pydicom

    path = Path(pydicom.__file__).parent / "data" / "test_files" / "examples_jpeg2k.dcm"
    if not path.exists():
        pytest.skip("pydicom test file not installed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = np.ascontiguousarray(pydicom.dcmread(path).pixel_array.astype(np.uint8))
    except Exception:  # no JPEG 2000 codec
        pytest.skip("cannot decode JPEG 2000")
    regions = find_text(img)
    for box in [(20, 26, 148, 12), (20, 42, 68, 12), (20, 74, 58, 12), (280, 42, 78, 12)]:
        assert coverage(regions, box, img.shape) >= 0.95, box
    speckle = [
        r
        for r in regions
        if r.source == "unreadable" and 90 <= r.x + r.w / 2 < 545 and 110 <= r.y + r.h / 2 < 340
    ]
    assert len(speckle) <= 3, speckle


def test_small_merged_words_are_flagged_unreadable() -> None:
    """Anti-aliased 7 px glyphs touch and make one wide component per word: still text."""
    img = np.full((120, 320), 10, np.uint8)
    box = draw(img, "15:35:92", (6, 30), 7, 255)
    regions = find_text(img)
    assert coverage(regions, box, img.shape) >= 0.95
    # Without merged words (and without the learned detector, which boxes this line too):
    off = FinderConfig(merged_max_h=0, merged_unreadable=False, detector="off")
    assert coverage(find_text(img, config=off), box, img.shape) < 0.95


def test_faint_text_over_noisy_background_is_read() -> None:
    """Ink 30 grey levels above a noisy background: below the stroke threshold, no exact plateau
    (noise on the ink too); the sensitive pass finds it and OCR reads it."""
    rng = np.random.default_rng(1)
    img = np.clip(120 + rng.normal(0, 3, (160, 420)), 0, 255).astype(np.uint8)
    box = draw(img, "DUPONT^MARIE 1967", (12, 90), 16, 150)
    noise = rng.normal(0, 3, img.shape).astype(np.int16)
    img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    regions = find_text(img)
    assert coverage(regions, box, img.shape) >= 0.95
    assert any("1967" in r.text or "DUPONT" in r.text for r in regions)
    assert find_text(img, config=FinderConfig(sensitive=False, detector="off")) == []


def test_initials_are_read_as_text() -> None:
    """Two letters read with confidence (an operator's initials) are text, not a marker."""
    img = np.full((80, 200), 20, np.uint8)
    box = draw(img, "AC", (60, 50), 15, 230)
    regions = find_text(img)
    assert coverage(regions, box, img.shape) >= 0.95
    assert any(r.text == "AC" for r in regions)
    assert find_text(img, config=FinderConfig(min_read_chars=3)) == []


def test_label_touching_a_sector_edge_is_found() -> None:
    """A thin vertical line (a sector's or frame's edge) touching small text would make one
    component too tall to be a glyph; it is cut out of the stroke masks first."""
    img = np.full((160, 200), 60, np.uint8)
    box = draw(img, "22:13:58", (10, 80), 8, 255)
    cv2.line(img, (box[0] + box[2], 5), (box[0] + box[2], 150), 255, 1)
    assert coverage(find_text(img), box, img.shape) >= 0.95
    assert (
        coverage(
            find_text(img, config=FinderConfig(cut_rules=False, detector="off")), box, img.shape
        )
        < 0.95
    )


def test_small_coloured_text_over_grey_texture_is_flagged() -> None:
    """Coloured glyphs too small to read, over grey texture as noisy as their contrast: speckle
    has no colour, so they are text."""
    grey = anatomy(256)
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    box = draw(img, "ID: 0230-847-1", (60, 60), 6, (255, 160, 0))
    assert coverage(find_text(img), box, img.shape) >= 0.95
    off = FinderConfig(colour_on_grey=False, detector="off")
    assert coverage(find_text(img, config=off), box, img.shape) < 0.95


def test_line_grows_to_its_longer_copy_from_the_sensitive_pass() -> None:
    """A line whose end lies over anatomy as bright as its ink is found short by the usual
    masks; the sensitive pass finds it whole, but its band (noisy anatomy) is too noisy for
    that pass on its own. That copy, holding the line, still extends it."""
    from medanon.text import finder

    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(120, 45, (60, 300)), 0, 255).astype(np.uint8)
    mask = np.zeros_like(img)
    for target, ink in ((img, 230), (mask, 255)):
        cv2.putText(target, "GENERAL HOSP", (10, 40), FONT, 0.9, ink, 2, cv2.LINE_8)
    ys, xs = np.nonzero(mask)
    y0, y1 = int(ys.min()), int(ys.max()) + 1

    def line(x0: int, x1: int, sensitive: bool) -> finder._Line:
        ink = mask[y0:y1, x0:x1] > 0
        return finder._Line(
            x0, y0, x1 - x0, y1 - y0, y1 - y0, 8, True, ink, 1.0, sensitive=sensitive
        )

    short, whole = line(int(xs.min()), 180, False), line(int(xs.min()), int(xs.max()) + 1, True)
    box = (short.x, short.y, short.x + short.w, short.y + short.h)
    for same_line, right in ((True, whole.x + whole.w), (False, 180)):
        config = FinderConfig(grow_plateau=False, grow_same_line=same_line)
        assert finder._grow(box, short, [whole], img, config)[2] == right


def test_small_light_text_is_read_from_its_own_strokes_not_the_gaps_between_them() -> None:
    """The black-hat of small light text is the row of dark gaps between its letters: aligned
    "glyphs" of the text's height, often more of them than the letters. Ranked first, that line's
    tile (gaps, not letters) was what OCR read, and an ID over dark texture was missed. A line
    lighter than its band from a dark-ink mask is ranked last (``FinderConfig.polarity``)."""
    from medanon.text import finder

    def first_line_ink(seed: int, polarity: bool) -> float:
        rng = np.random.default_rng(seed)
        img = rng.normal(36, 20, (120, 240)).clip(0, 255).astype(np.uint8)
        img = cv2.GaussianBlur(img, (0, 0), 1.0)
        font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX)[seed % 2]
        (_, h), _ = cv2.getTextSize("H", font, 1.0, 1)
        cv2.putText(img, "ID: 8285-107-8", (40, 60), font, 8 / h, 200, 1, cv2.LINE_AA)
        lines, _ = finder._candidate_lines(img, FinderConfig(polarity=polarity))
        first = next(ln for ln in lines if ln.y < 62 and ln.y + ln.h > 50 and ln.x < 100)
        return finder._levels(img, first, FinderConfig())[0]

    seeds = range(8)
    assert any(first_line_ink(s, polarity=False) < 120 for s in seeds)  # the gaps won before
    assert all(first_line_ink(s, polarity=True) > 120 for s in seeds)  # the letters (ink 200)


def test_plateau_levels_skip_the_shoulder_of_a_bigger_spike() -> None:
    """A huge overlay level drags its neighbour over the spike test too (rounding, anti-aliasing);
    counted as a level of its own it crowded a real, fainter overlay out of the short list."""
    from medanon.text import finder

    rng = np.random.default_rng(0)
    grey = rng.normal(128, 40, (400, 400)).clip(0, 255).astype(np.uint8)
    flat = grey.ravel()
    flat[:20000] = 75  # a big overlay level ...
    flat[20000:24000] = 76  # ... and its shoulder
    for k, v in enumerate((20, 170, 200, 230, 250, 140)):  # other overlays, 140 the faintest
        flat[30000 + 3000 * k : 30000 + 3000 * k + (1500 if v == 140 else 2500)] = v
    levels = finder._plateau_levels(grey, FinderConfig())
    assert 75 in levels and 76 not in levels
    assert 140 in levels


def test_a_line_kept_whole_is_cut_to_the_rows_of_its_words() -> None:
    """Anatomy joined to a line's glyphs (a Doppler flame above the text) made its box twice as
    tall as the text; the rows of the words OCR read bound it (``FinderConfig.trim_rows``)."""
    from medanon.text import finder

    ink = np.zeros((40, 100), bool)
    ink[20:32, 5:95:6] = True  # glyph strokes, 12 px tall
    ink[0:20, 40:46] = True  # a flame joined to one glyph, above the line
    ln = finder._Line(0, 100, 100, 40, 12.0, 15, True, ink, 1.0)
    words = [(5, 120, 90, 132)]
    assert finder._ink_box(ln, words, whole=True)[1] == 100  # the flame's top
    x0, y0, x1, y1 = finder._ink_box(ln, words, whole=True, trim_rows=1.5)
    assert (x0, x1) == (5, 90) and 116 <= y0 <= 120 and y1 == 132


def test_two_letter_reads_count_only_in_capitals() -> None:
    """Two letters read with confidence are an operator's initials ("AC"), written in capitals;
    "af" or "ee" read in anatomy were filled as text (0.02% of a benchmark's non-text pixels)."""
    img = np.full((80, 160), 10, np.uint8)
    draw(img, "ok", (40, 50), 22, 255)
    lower = find_text(img)
    assert not any(r.text.strip() for r in lower)
    assert any(r.text.strip() for r in find_text(img, config=FinderConfig(short_reads_upper=False)))
    caps = np.full((80, 160), 10, np.uint8)
    draw(caps, "AC", (40, 50), 22, 255)
    assert any(r.text.strip() == "AC" for r in find_text(caps))


def _found_line(img: np.ndarray, rows: slice) -> tuple[object, tuple[int, int, int, int]]:
    """A line as the finder holds it (its ink) and its box, the ink cut to ``rows``."""
    from medanon.text import finder

    ink = img > 130
    ink[: rows.start] = False
    ink[rows.stop :] = False
    ys, xs = np.nonzero(ink)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    mask = ink[y0:y1, x0:x1]
    line = finder._Line(x0, y0, x1 - x0, y1 - y0, float(y1 - y0), 9, True, mask, 0.0)
    return line, (x0, y0, x1, y1)


def test_a_read_line_cut_at_its_baseline_reaches_its_descenders() -> None:
    """ "Rossi, Olga" over a Doppler flame of its colour: its ink, hence its box, stopped at the
    baseline and left the g's tail. OCR read a g and ink goes on below: the box reaches down as
    far as descenders go (0.3 of the capitals' height). A box that already holds the tails (its
    last row is sparse), one with nothing beyond (text on a plain band), and text without such
    characters are left as they are."""
    from medanon.text import finder

    cfg = FinderConfig()
    img = np.full((70, 240), 30, np.uint8)
    cv2.putText(img, "Rossi, Olga", (10, 40), FONT, 0.9, 230, 2)
    tail = int(np.nonzero((img > 130).any(axis=1))[0].max()) + 1
    cut, box = _found_line(img, slice(0, 40))  # down to the baseline's row (39)
    plain = img.copy()
    plain[40:] = 30  # nothing below the baseline: nothing was cut
    assert finder._typographic_extent(box, cut, ["Rossi,", "Olga"], plain, cfg) == box
    flame = img.copy()
    flame[40:60, 100:200] = 230  # under "Olga": the tail is lost in it
    grown = finder._typographic_extent(box, cut, ["Rossi,", "Olga"], flame, cfg)
    assert grown[:3] == box[:3] and grown[3] >= tail
    assert finder._typographic_extent(box, cut, ["ROSSI"], flame, cfg) == box
    whole, full = _found_line(img, slice(0, 70))
    assert full[3] == tail
    below = img.copy()
    below[tail:60, 100:200] = 230  # ink goes on below, but the box ends on the sparse tails
    assert finder._typographic_extent(full, whole, ["Rossi,", "Olga"], below, cfg) == full


def test_slashes_cut_at_the_digits_tops_reach_up_and_down() -> None:
    """A date over bright anatomy touching its slashes' tips above and below the digits."""
    from medanon.text import finder

    img = np.full((70, 240), 20, np.uint8)
    cv2.putText(img, "08/06/2004", (10, 45), FONT, 0.9, 240, 2)
    rows = np.nonzero((img > 130).any(axis=1))[0]
    digits = np.nonzero((img[:, 10:30] > 130).any(axis=1))[0]  # the "0": no slash in it
    top, bottom = int(digits.min()), int(digits.max()) + 1
    tips = np.nonzero((img[:top] > 130).any(axis=0) | (img[bottom:] > 130).any(axis=0))[0]
    cut, box = _found_line(img, slice(top, bottom))
    for x in tips:  # anatomy as bright as the ink around the slashes' tips
        img[: top + 1, x - 2 : x + 3] = np.maximum(img[: top + 1, x - 2 : x + 3], 200)
        img[bottom - 1 :, x - 2 : x + 3] = np.maximum(img[bottom - 1 :, x - 2 : x + 3], 200)
    grown = finder._typographic_extent(box, cut, ["08/06/2004"], img, FinderConfig())
    assert grown[1] <= rows.min() and grown[3] >= rows.max() + 1


def test_unread_part_of_a_line_takes_the_gap_to_its_read_part() -> None:
    """ "ST MARY GEN" read, "AL HOSP" seen unread by the detector, "ER" by nothing: the unread
    region stretches over the gap; the read one keeps its box (phi mode judges its text)."""
    from medanon.text import finder

    read = TextRegion(10, 20, 100, 14, "ST MARY GEN", 80.0, "lines")
    unread = TextRegion(130, 19, 70, 15, "", 0.0, "detector")
    far = TextRegion(300, 20, 40, 14, "", 0.0, "unreadable")  # 100 px on: 7 heights
    other_row = TextRegion(215, 60, 40, 14, "", 0.0, "unreadable")
    taller = TextRegion(205, 5, 40, 40, "", 0.0, "unreadable")  # not the same line's height
    out = finder._bridged([read, unread, far, other_row], FinderConfig())
    assert out[0] == read
    assert (out[1].x, out[1].x + out[1].w) == (110, 200)
    assert out[2:] == [far, other_row]
    assert finder._bridged([unread, taller], FinderConfig())[0] == unread
    assert finder._bridged([read, unread], FinderConfig(bridge_gap=0.0)) == [read, unread]


def test_ink_of_a_tight_box_is_the_class_drawn_at_one_value() -> None:
    """Bold black text fills most of a tight box: the smaller Otsu class is the background
    there. The class holding an exact value (how overlays are drawn) is the ink."""
    from medanon.text import finder

    rng = np.random.default_rng(0)
    crop = rng.integers(12, 30, (16, 40)).astype(np.uint8)
    bold = np.zeros(crop.shape, bool)
    bold[2:14, 1:39] = True
    bold[6:9, ::5] = False
    crop[bold] = 0
    high = crop > 6
    assert bold.mean() > 0.5
    nothing = np.zeros(0, bool)
    assert (finder._ink_class(crop, high, nothing) == bold).all()
    smooth = np.tile(np.linspace(10, 60, 40).astype(np.uint8), (16, 1))  # no exact value
    assert (finder._ink_class(smooth, smooth > 35, nothing) == (smooth > 35)).all()  # smaller
    # Both classes at one value (bold text on a flat band): the background is what surrounds.
    flat = np.where(bold, 0, 200).astype(np.uint8)
    dark_around = np.zeros(40, bool)  # the ring around is on the low side: dark background
    assert (finder._ink_class(flat, flat > 100, dark_around) == (flat > 100)).all()
    assert (finder._ink_class(flat, flat > 100, ~dark_around) == bold).all()


def test_blobs_as_thick_as_tall_are_not_unread_text() -> None:
    """Three aligned blobs of speckle or Doppler (glyph-sized, so not held to a contrast test)
    were reported as unread text; letters are strokes a tenth to half their height thick."""
    from medanon.text import finder

    blobs = np.zeros((20, 60), np.uint8)
    for cx in (8, 28, 48):
        cv2.ellipse(blobs, (cx, 10), (6, 7), 0, 0, 360, 1, -1)
    letters = np.zeros((30, 120), np.uint8)
    cv2.putText(letters, "HSE", (2, 24), FONT, 0.8, 1, 2)
    for ink, thick in ((blobs, True), (letters.astype(bool)[:, :70].astype(np.uint8), False)):
        line = finder._Line(0, 0, ink.shape[1], ink.shape[0], 14.0, 3, True, ink.astype(bool), 0.0)
        assert (finder._stroke_ratio(line) > FinderConfig().unreadable_max_stroke) == thick


def test_runs() -> None:
    from medanon.text import finder

    assert finder._runs(np.array([0, 1, 1, 0, 1, 1, 1, 0], bool)) == [(1, 3), (4, 7)]
    assert finder._runs(np.zeros(5, bool)) == []
    assert finder._runs(np.ones(3, bool)) == [(0, 3)]
