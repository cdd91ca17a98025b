"""Accuracy and speed of burned-in text finding (:func:`medanon.text.find_text`).

Builds its own synthetic corpus, with fake PHI only, and exact ground truth:

* backgrounds: real anatomy from the test images installed with pydicom (CT, MR, NM, ultrasound
  crops without their own text), windowed to 8 bits, cropped, flipped and resized to 512x512
  (grey) or kept in colour (ultrasound, and grey frames turned RGB for coloured overlays);
* text: identifying strings (names, dates, times, IDs, hospitals, physicians) and benign ones
  (L/R markers, "5 cm", kVp, mAs, sequence names), drawn with OpenCV's Hershey fonts at glyph
  heights of 8-30 px, with and without anti-aliasing, in white, grey levels, black and colours,
  in corners, on dark bands and over the anatomy;
* ground truth: each string is drawn alone into a mask first, and its box is the tight box of
  its ink, so the measure does not depend on OpenCV's generous text-size estimate.

Measures, over all frames:

* recall: share of identifying ground-truth boxes whose pixels are >= 95% covered by the union
  of the regions found (pixel coverage, not box matching with a tolerance); benign text reported
  apart;
* over-redaction: share of non-text pixels (outside every ground-truth box) covered by regions;
* seconds per frame: CPU time of this process plus its children (Tesseract, when the binary is
  used), which does not depend on what else runs on the machine; wall clock and the load
  average are printed beside it, since the machine is shared;

then the same with each pipeline step turned off in turn (the ablation table), so that only the
steps that pay are kept.

A second, real-data check: the ultrasound images in pydicom's test files and those of the
``deid-data`` package (test patients: names, MRNs, birth dates, dates and times, institutions,
an operator's initials; cines zipped) carry real burned-in text. It is hand-labelled below
(``REAL_LABELS``, ``DEID_LABELS``: tight boxes, public test data, not patients); recall
(identifying and all labelled text) and over-redaction are measured on them the same way, on
the display image the pipeline shows OCR, for all of them and per file. Then the whole pixel
stage runs on each file as the pipeline runs it (identifiers from its header, ultrasound
regions), in modes ``all`` and ``phi``: whether it calls the file clean, how many labelled
identifying strings it filled (called clean with one left is printed ``FALSE CLEAN``), how
many benign ones phi mode kept. Last, the cost of the whole pixel stage (mode ``all``: find,
fill, re-check) on static-overlay cines (``examples_ybr_color.dcm``; ``deid-data``'s echo
``ultrasound-multiframe.dcm``, ``RGB_CINE`` and ``GREYSCALE_CINE``) against the same stage on
each one's first frame alone (target: at most 2x), and the first cine with a name drawn in its
middle frames only (10-19), which must be filled.

Usage::

    .venv/bin/python benchmarks/bench_text.py [--frames 40] [--seed 7] [--no-ablation]
        [--only STEP,...] [--dump DIR] [--missed] [--no-real]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from medanon.text import FinderConfig, find_text

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

FRAME = 512
COVERAGE = 0.95

FIRST = ["JOHN", "Jane", "MARIE", "Pierre", "Ahmed", "Li", "Olga", "KWAME", "Sofia", "Hans"]
LAST = ["DOE", "Smith", "NOVAK", "Dupont", "Garcia", "OKAFOR", "Tanaka", "Muller", "Rossi"]
HOSPITALS = [
    "ST MARY GENERAL HOSP",
    "Riverside Medical Ctr",
    "CHU Sainte-Anne",
    "NORTHGATE CLINIC",
    "Lakeview Imaging",
]
BENIGN = ["L", "R", "5 cm", "120 kVp", "mAs 250", "AX T2", "HEAD", "10cm", "W:400 L:40"]

FONTS = [
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
]

COLOURS = [(255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 160, 0), (255, 80, 80), (120, 200, 255)]


@dataclass(frozen=True)
class Truth:
    """One drawn string: its tight ink box and whether it identifies someone."""

    x: int
    y: int
    w: int
    h: int
    text: str
    identifying: bool
    style: str


@dataclass
class Frame:
    image: np.ndarray
    truths: list[Truth]
    name: str


# --------------------------------------------------------------------------- backgrounds


def _pydicom_test_files() -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files"


def _window(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    lo, hi = np.percentile(a, [0.5, 99.7])
    return np.clip((a - lo) / max(hi - lo, 1e-9) * 255.0, 0, 255).astype(np.uint8)


def load_backgrounds() -> list[tuple[str, np.ndarray]]:
    """Anatomy from pydicom's installed test files, without their own burned-in text.

    Ultrasound examples carry real burned-in text (institution, date): only crops of the image
    area are used, so that every text pixel in a frame is one we drew and know.
    """
    from pydicom import dcmread

    root = _pydicom_test_files()
    # name -> (frame index, crop as fractions y0, y1, x0, x1)
    wanted: dict[str, tuple[int, tuple[float, float, float, float]]] = {
        "693_J2KI.dcm": (0, (0, 1, 0, 1)),
        "J2K_pixelrep_mismatch.dcm": (0, (0, 1, 0, 1)),
        "CT_small.dcm": (0, (0, 1, 0, 1)),
        "MR_small.dcm": (0, (0, 1, 0, 1)),
        "examples_overlay.dcm": (0, (0, 1, 0, 1)),
        "JPEG2000.dcm": (0, (0.05, 0.45, 0, 1)),
        "JPGExtended.dcm": (0, (0.3, 0.7, 0, 1)),
        "examples_jpeg2k.dcm": (0, (0.3, 0.76, 0.08, 0.92)),
        "examples_rgb_color.dcm": (0, (0.3, 0.76, 0.08, 0.92)),
        "examples_ybr_color.dcm": (5, (0.12, 0.8, 0.25, 0.9)),
    }
    out: list[tuple[str, np.ndarray]] = []
    for name, (frame, (y0, y1, x0, x1)) in wanted.items():
        path = root / name
        if not path.exists():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(path)
                a = ds.pixel_array
        except Exception:  # a codec may be missing: skip that background
            continue
        if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
            a = a[frame]
        if a.ndim == 2:
            a = _window(a)
            if ds.get("PhotometricInterpretation") == "MONOCHROME1":
                a = 255 - a
        else:
            a = a.astype(np.uint8)
        h, w = a.shape[:2]
        a = a[int(y0 * h) : max(int(y1 * h), int(y0 * h) + 8), int(x0 * w) : max(int(x1 * w), 8)]
        out.append((name, np.ascontiguousarray(a)))
    if not out:
        raise SystemExit("no pydicom test images found")
    return out


# --------------------------------------------------------------------------- strings


def identifying_string(rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 9))
    first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
    y, m, d = int(rng.integers(1930, 2025)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    digits = "".join(str(int(c)) for c in rng.integers(0, 10, 8))
    if kind == 0:
        return f"{last.upper()}^{first.upper()}"
    if kind == 1:
        return f"{last}, {first}"
    if kind == 2:
        return f"{d:02d}/{m:02d}/{y}"
    if kind == 3:
        return f"DOB: {y}-{m:02d}-{d:02d}"
    if kind == 4:
        return f"MRN {digits}"
    if kind == 5:
        return f"ID: {digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if kind == 6:
        return HOSPITALS[rng.integers(len(HOSPITALS))]
    if kind == 7:
        return f"Dr. {first[0]}. {last}"
    return f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{digits[:2]}"


# --------------------------------------------------------------------------- rendering


def _scale_for_height(font: int, thickness: int, glyph_px: int) -> float:
    (_, h), _ = cv2.getTextSize("H", font, 1.0, thickness)
    return glyph_px / max(h, 1)


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def make_frame(
    rng: np.random.Generator, backgrounds: list[tuple[str, np.ndarray]], index: int
) -> Frame:
    name, bg = backgrounds[index % len(backgrounds)]
    img = cv2.resize(bg, (FRAME, FRAME), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    colour = img.ndim == 3 or rng.random() < 0.3
    if img.ndim == 2 and colour:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_GRAY2RGB)
    img = np.ascontiguousarray(img)
    if index % 10 == 9:  # anatomy only: every text pixel found there is over-redaction
        return Frame(img, [], f"{name}#{index} (no text)")

    occupied = np.zeros((FRAME, FRAME), bool)
    truths: list[Truth] = []

    # A dark band across the top (like ultrasound headers) on some frames.
    band = rng.random() < 0.35
    if band:
        bh = int(rng.integers(36, 60))
        shade = int(rng.integers(0, 60))
        band_colour = (shade, shade, int(shade + rng.integers(0, 80))) if colour else shade
        cv2.rectangle(img, (0, 0), (FRAME - 1, bh), band_colour, -1)

    n_id = int(rng.integers(4, 9))
    n_benign = int(rng.integers(1, 4))
    corner_cursor = {"tl": 4, "tr": 4, "bl": FRAME - 4, "br": FRAME - 4}
    for k in range(n_id + n_benign):
        identifying = k < n_id
        text = identifying_string(rng) if identifying else BENIGN[rng.integers(len(BENIGN))]
        font = FONTS[rng.integers(len(FONTS))]
        glyph = int(rng.integers(8, 31))
        thickness = 2 if glyph >= 18 and rng.random() < 0.5 else 1
        aa = rng.random() < 0.5
        scale = _scale_for_height(font, thickness, glyph)
        (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
        if tw >= FRAME - 10:
            continue
        where = rng.choice(["corner", "corner", "band", "anatomy"]) if band else None
        if where is None:
            where = rng.choice(["corner", "corner", "anatomy"])
        # Colour / grey level.
        over_anatomy = where == "anatomy"
        if colour and rng.random() < 0.5:
            c = COLOURS[rng.integers(len(COLOURS))]
            ink: tuple[int, int, int] | int = c
            style = "colour"
        else:
            level = int(rng.choice([255, 255, 230, 200, 170, 140]))
            if over_anatomy and rng.random() < 0.2:
                level = int(rng.choice([0, 30]))
            ink = (level, level, level) if colour else level
            style = f"grey{level}"
        placed = False
        for _ in range(40):
            if where == "band" and band:
                x = int(rng.integers(2, FRAME - tw - 2))
                y = int(rng.integers(th + 2, max(th + 3, bh - base)))
            elif where == "corner":
                corner = ["tl", "tr", "bl", "br"][rng.integers(4)]
                gap = int(th * rng.uniform(0.6, 1.2)) + 2
                x = 4 if corner in ("tl", "bl") else FRAME - tw - 4
                if corner in ("tl", "tr"):
                    y = corner_cursor[corner] + th
                    if band:
                        y = max(y, bh + th + 4)
                    corner_cursor[corner] = y + base + gap
                else:
                    y = corner_cursor[corner] - base
                    corner_cursor[corner] = y - th - gap
                if y - th < 0 or y + base >= FRAME:
                    continue
            else:
                x = int(rng.integers(4, FRAME - tw - 4))
                y = int(rng.integers(th + 4, FRAME - base - 4))
            mask = np.zeros((FRAME, FRAME), np.uint8)
            cv2.putText(mask, text, (x, y), font, scale, 255, thickness, cv2.LINE_8)
            box = _ink_box(mask)
            if box is None:
                break
            bx, by, bw, bh_ = box
            m = max(3, glyph // 3)
            if occupied[max(0, by - m) : by + bh_ + m, max(0, bx - m) : bx + bw + m].any():
                continue
            occupied[max(0, by - m) : by + bh_ + m, max(0, bx - m) : bx + bw + m] = True
            cv2.putText(
                img, text, (x, y), font, scale, ink, thickness, cv2.LINE_AA if aa else cv2.LINE_8
            )
            aa_mask = np.zeros((FRAME, FRAME), np.uint8)
            cv2.putText(
                aa_mask, text, (x, y), font, scale, 255, thickness, cv2.LINE_AA if aa else 8
            )
            box = _ink_box(aa_mask > 40) or box
            truths.append(
                Truth(*box, text, identifying, f"{where}/{style}/{glyph}px/{'aa' if aa else 'l8'}")
            )
            placed = True
            break
        del placed
    return Frame(img, truths, f"{name}#{index}")


def make_corpus(n: int, seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    backgrounds = load_backgrounds()
    return [make_frame(rng, backgrounds, i) for i in range(n)]


# --------------------------------------------------------------------------- scoring


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the Tesseract binary)."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass
class Score:
    recall: float
    benign_recall: float
    over: float
    seconds: float  # CPU seconds per frame (process + children)
    wall: float  # wall-clock seconds per frame
    missed: list[tuple[str, Truth, float]]
    n_id: int
    text_recall: float = 0.0  # identifying and benign together
    # Per frame: name, identifying found, identifying, text found, text, over-redaction.
    per_frame: list[tuple[str, int, int, int, int, float]] = dataclasses.field(default_factory=list)


def score(frames: list[Frame], config: FinderConfig) -> Score:
    hit = total = bhit = btotal = 0
    covered_bad = nontext = 0
    elapsed = cpu = 0.0
    missed: list[tuple[str, Truth, float]] = []
    per_frame: list[tuple[str, int, int, int, int, float]] = []
    for fr in frames:
        f_hit, f_total, f_text = hit, total, hit + bhit
        t0, c0 = time.perf_counter(), cpu_seconds()
        regions = find_text(fr.image, config=config)
        elapsed += time.perf_counter() - t0
        cpu += cpu_seconds() - c0
        h, w = fr.image.shape[:2]
        found = np.zeros((h, w), bool)
        for r in regions:
            found[max(0, r.y) : r.y + r.h, max(0, r.x) : r.x + r.w] = True
        text = np.zeros((h, w), bool)
        for t in fr.truths:
            text[t.y : t.y + t.h, t.x : t.x + t.w] = True
            cover = float(found[t.y : t.y + t.h, t.x : t.x + t.w].mean())
            ok = cover >= COVERAGE
            if t.identifying:
                total += 1
                hit += ok
                if not ok:
                    missed.append((fr.name, t, cover))
            else:
                btotal += 1
                bhit += ok
        nontext += int((~text).sum())
        covered_bad += int((found & ~text).sum())
        per_frame.append(
            (
                fr.name,
                hit - f_hit,
                total - f_total,
                hit + bhit - f_text,
                len(fr.truths),
                float((found & ~text).sum() / max(int((~text).sum()), 1)),
            )
        )
    return Score(
        recall=hit / max(total, 1),
        benign_recall=bhit / max(btotal, 1),
        over=covered_bad / max(nontext, 1),
        seconds=cpu / max(len(frames), 1),
        wall=elapsed / max(len(frames), 1),
        missed=missed,
        n_id=total,
        text_recall=(hit + bhit) / max(total + btotal, 1),
        per_frame=per_frame,
    )


def phi_score(frames: list[Frame], config: FinderConfig) -> tuple[float, float]:
    """``phi`` mode, as the pipeline runs it: (recall of identifying text, share of benign text
    kept). The header is assumed to hold the frame's names (as in a real DICOM file)."""
    from medanon.dicom.identifiers import Identifiers, fold
    from medanon.pixels.redact import select_regions

    hit = total = kept = btotal = 0
    for fr in frames:
        words = {
            fold(w)
            for t in fr.truths
            if t.identifying
            for w in t.text.replace("^", " ").replace(",", " ").split()
            if len(w) >= 3 and w.isalpha()
        }
        chosen, _ = select_regions(
            find_text(fr.image, config=config), "phi", Identifiers(names=frozenset(words))
        )
        h, w = fr.image.shape[:2]
        found = np.zeros((h, w), bool)
        for r in chosen:
            found[max(0, r.y) : r.y + r.h, max(0, r.x) : r.x + r.w] = True
        for t in fr.truths:
            cover = float(found[t.y : t.y + t.h, t.x : t.x + t.w].mean())
            if t.identifying:
                total += 1
                hit += cover >= COVERAGE
            else:
                btotal += 1
                kept += cover < 0.5
    return hit / max(total, 1), kept / max(btotal, 1)


# --------------------------------------------------------------------------- real data

# Hand-labelled header text of the real ultrasound images in pydicom's test files (public test
# data, not patients): file -> (frame, [(x, y, w, h, text, identifying)]), tight boxes in the
# stored frame. Identifying: institution, IDs, dates, times, age/sex; the rest is technical.
REAL_LABELS: dict[str, tuple[int, list[tuple[int, int, int, int, str, bool]]]] = {
    "examples_jpeg2k.dcm": (
        0,
        [
            (20, 26, 148, 12, "BAPTIST MED CTR", True),
            (20, 42, 68, 12, "630P630", True),
            (20, 58, 48, 12, "78F78", True),
            (20, 74, 58, 12, "44CG43", True),
            (280, 42, 78, 12, "+2:09:04", True),
            (12, 90, 46, 14, "IM#2", False),
            (500, 25, 118, 16, "3cm3cm M12L", False),
            (550, 42, 68, 12, "MSCSKEL", False),
            (530, 58, 88, 12, "CINE 0118", False),
            (570, 74, 48, 12, "22G22", False),
            (560, 90, 64, 14, "78DR78", False),
            (10, 138, 28, 12, "PWR", False),
            (600, 138, 28, 12, "PWR", False),
            (10, 218, 28, 12, "PWR", False),
            (600, 218, 28, 12, "PWR", False),
            (250, 362, 108, 12, "LYMPH NODE", False),
            (400, 458, 218, 12, "TIS<0.4 MI=0.8 AO=100%", False),
        ],
    ),
    "examples_rgb_color.dcm": (
        0,
        [
            (10, 13, 74, 6, "BAPTIST MED CTR", True),
            (10, 21, 34, 6, "630P630", True),
            (10, 29, 24, 6, "78F78", True),
            (10, 37, 29, 6, "44CG43", True),
            (141, 21, 38, 6, "+2:09:04", True),
            (11, 45, 18, 6, "IM#2", False),
            (250, 13, 59, 7, "3cm3cm M12L", False),
            (275, 21, 34, 6, "MSCSKEL", False),
            (265, 29, 44, 6, "CINE 0118", False),
            (285, 37, 24, 6, "22G22", False),
            (280, 45, 29, 6, "78DR78", False),
            (5, 69, 14, 6, "PWR", False),
            (300, 69, 14, 6, "PWR", False),
            (5, 109, 14, 6, "PWR", False),
            (300, 109, 14, 6, "PWR", False),
            (125, 181, 54, 6, "LYMPH NODE", False),
            (200, 229, 109, 6, "TIS<0.4 MI=0.8 AO=100%", False),
        ],
    ),
    "examples_palette.dcm": (
        0,
        [
            (328, 36, 181, 16, "Philips Healthcare", True),
            (97, 37, 166, 12, "11-05-25-142825", True),
            (670, 9, 102, 16, "5/25/2011", True),
            (670, 37, 109, 12, "2:56:22 PM", True),
            (11, 9, 63, 13, "PHILIPS", False),
            (95, 10, 24, 12, "OB", False),
            (575, 10, 59, 12, "MI 1.1", False),
            (575, 37, 70, 12, "TIB 0.2", False),
            (4, 68, 69, 12, "Gen OB", False),
            (4, 87, 42, 12, "C5-1", False),
            (127, 88, 86, 15, "+ Cist Mag", False),
            (242, 88, 60, 12, "1.06 cm", False),
            (4, 106, 46, 12, "28Hz", False),
            (6, 125, 46, 12, "11cm", False),
            (4, 163, 23, 12, "2D", False),
            (12, 185, 49, 12, "HGen", False),
            (12, 204, 54, 12, "Gn 60", False),
            (12, 223, 40, 12, "C 61", False),
            (12, 241, 64, 16, "3/3/4", False),
        ],
    ),
    "examples_ybr_color.dcm": (
        0,
        [
            (2, 3, 26, 8, "PLA", False),
            (3, 14, 33, 7, "Gen THI", False),
            (3, 23, 5, 6, "S", False),
            (302, 15, 14, 6, "Crd", False),
            (302, 24, 13, 6, "P21", False),
            (306, 64, 8, 6, "MI", False),
            (304, 71, 11, 6, "0.9", False),
            (304, 82, 12, 6, "TIS", False),
            (304, 89, 11, 6, "0.7", False),
            (289, 199, 10, 6, "19", False),
            (59, 230, 13, 7, "Gen", False),
            (138, 230, 24, 7, "Sector", False),
            (178, 230, 22, 7, "MB Off", False),
            (224, 230, 10, 7, "On", False),
            (246, 230, 30, 7, "Page 1/3", False),
        ],
    ),
}


# The real ultrasound files of the ``deid-data`` package (test patients, public): header bands
# with names, IDs, birth dates, dates and times, institutions and operators' initials, and
# technical labels. Labelled on frame 0 from PNG crops (ink above the band's level, tight).
# Identifying as above (age/sex included); the cines' overlays are static (no pixel of them
# changes between frames). ultrasound-multiframe.dcm was cropped above its header: technical
# labels only, and the bottoms of one cut line.
DEID_LABELS: dict[str, tuple[int, list[tuple[int, int, int, int, str, bool]]]] = {
    "GREYSCALE_IMAGE.dcm": (
        0,
        [
            (9, 6, 164, 13, "ZZZ TEST PATIENTFI...", True),
            (183, 6, 98, 13, "00079241539", True),
            (392, 6, 123, 13, "DOB: 08/29/1951", True),
            (530, 6, 13, 13, "M", True),
            (556, 6, 129, 13, "CCHS CLEVELAN...", True),
            (823, 6, 83, 13, "03/02/2017", True),
            (923, 6, 86, 13, "05:24:57PM", True),
            (14, 26, 124, 17, "Adv Breast", False),
            (16, 54, 59, 17, "L12-5", False),
            (15, 78, 53, 17, "36Hz", False),
            (16, 100, 24, 15, "RS", False),
            (14, 140, 25, 19, "2D", False),
            (27, 161, 38, 15, "60%", False),
            (16, 181, 79, 19, "Dyn R 58", False),
            (16, 201, 55, 15, "P Med", False),
            (22, 221, 32, 15, "Res", False),
            (20, 241, 45, 15, "TAC1", False),
            (828, 26, 69, 17, "TIS0.0", False),
            (918, 26, 65, 17, "MI 0.6", False),
            (964, 80, 20, 12, "M3", False),
            (905, 320, 18, 15, "x3", False),
            (857, 700, 55, 15, "4.0cm", False),
        ],
    ),
    "RGB_IMAGE.dcm": (
        0,
        [
            (4, 8, 223, 18, "ZZZDOWNTIME,MARY", True),
            (403, 8, 30, 15, "AC", True),  # Operators' Name
            (504, 8, 211, 15, "8:48:26 AM 4/14/2020", True),
            (776, 8, 105, 15, "120907058", True),  # Accession Number
            (4, 36, 132, 15, "00047431395", True),
            (504, 36, 265, 15, "CCHS CLEVELAND CLINIC", True),
            (928, 65, 90, 15, "SIEMENS", False),
            (955, 85, 64, 13, "6C1 HD", False),
            (965, 103, 54, 13, "*Renal", False),
            (955, 121, 64, 13, "General", False),
            (958, 147, 61, 13, "TIS: 0.5", False),
            (958, 165, 61, 13, "TIB: 0.5", False),
            (967, 183, 52, 13, "MI: 1.4", False),
            (976, 201, 43, 17, "19fps", False),
            (933, 227, 86, 13, "2D -- 100%", False),
            (990, 245, 28, 13, "THI", False),
            (930, 263, 89, 13, "H4.00 MHz", False),
            (921, 281, 98, 13, "20dB / DR60", False),
            (967, 299, 52, 13, "ASC 3", False),
            (952, 317, 66, 13, "DTCE M", False),
            (930, 335, 89, 17, "MapE / ST2", False),
            (519, 743, 173, 25, "Sag Liver L-M", False),
            (799, 745, 46, 14, "16cm", False),
        ],
    ),
    "ultrasound-multiframe.dcm": (
        0,
        [
            (12, 51, 30, 3, "(cut line)", False),
            (12, 61, 37, 12, "18Hz", False),
            (12, 77, 39, 12, "15cm", False),
            (11, 108, 21, 15, "2D", False),
            (20, 124, 30, 12, "59%", False),
            (12, 139, 32, 12, "C 50", False),
            (12, 154, 43, 12, "P Low", False),
            (16, 169, 38, 12, "HGen", False),
            (11, 202, 22, 15, "CF", False),
            (20, 218, 30, 12, "68%", False),
            (20, 233, 53, 12, "3850Hz", False),
            (11, 248, 74, 12, "WF 384Hz", False),
            (16, 263, 52, 12, "2.5MHz", False),
            (751, 61, 45, 12, "M3 M4", False),
            (762, 77, 38, 12, "+59.3", False),
            (763, 269, 35, 12, "-59.3", False),
            (765, 285, 31, 12, "cm/s", False),
            (707, 284, 21, 20, "X2", False),
            (736, 569, 55, 15, "75 bpm", False),
        ],
    ),
    "GREYSCALE_CINE.zip": (
        0,
        [
            (7, 6, 127, 10, "ZZZ TEST PATIENTFI...", True),
            (143, 6, 77, 10, "00079241539", True),
            (306, 6, 97, 10, "DOB: 08/29/1951", True),
            (414, 6, 10, 10, "M", True),
            (434, 6, 100, 10, "CCHS CLEVELA...", True),
            (643, 6, 65, 10, "03/02/2017", True),
            (721, 6, 67, 10, "05:24:54PM", True),
            (11, 20, 97, 14, "Adv Breast", False),
            (12, 42, 47, 14, "L12-5", False),
            (12, 61, 41, 13, "36Hz", False),
            (12, 78, 19, 12, "RS", False),
            (11, 109, 19, 15, "2D", False),
            (21, 126, 30, 12, "60%", False),
            (12, 141, 62, 15, "Dyn R 58", False),
            (12, 157, 44, 12, "P Med", False),
            (17, 172, 25, 13, "Res", False),
            (15, 188, 36, 12, "TAC1", False),
            (647, 20, 54, 14, "TIS0.0", False),
            (717, 20, 51, 14, "MI 0.6", False),
            (753, 62, 16, 10, "M3", False),
            (704, 250, 17, 15, "x3", False),
            (670, 547, 54, 11, "4.0cm", False),
            (736, 569, 55, 15, "*** bpm", False),
        ],
    ),
    "RGB_CINE.zip": (
        0,
        [
            (112, 5, 128, 18, "TEST, ADL ^^", True),
            (407, 5, 40, 15, "30 M", True),
            (462, 4, 102, 19, "01/30/1986", True),
            (609, 4, 197, 20, "AGMC Sports Medicine", True),
            (840, 5, 105, 15, "7-OCT-2016", True),
            (113, 29, 108, 15, "0001128201", True),
            (834, 29, 109, 15, "01:07:45 PM", True),
            (7, 17, 81, 18, "terason", False),
            (406, 28, 78, 16, "Shoulder", False),
            (870, 65, 60, 15, "MI 0.6", False),
            (868, 89, 63, 15, "TIS 0.6", False),
            (870, 143, 40, 15, "15L4", False),
            (868, 190, 132, 19, "OM/C/3/H/TV3", False),
            (868, 215, 120, 15, "Gn 55 DR 63", False),
            (869, 262, 100, 20, "Depth 4 cm", False),
            (870, 287, 48, 15, "17 Hz", False),
            (173, 623, 360, 20, "rt hip inj Right Supraspinatus Transverse", False),
        ],
    ),
}


def _deid_data_files() -> Path | None:
    try:
        import deid_data  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return Path(deid_data.__file__).parent / "data" / "ultrasounds"


def _real_path(name: str) -> Path | None:
    """Where a labelled real file is: pydicom's test files or deid-data's ultrasounds."""
    folder = _deid_data_files() if name in DEID_LABELS else _pydicom_test_files()
    if folder is None or not (folder / name).exists():
        return None
    return folder / name


def _read_dicom(name: str):  # type: ignore[no-untyped-def]
    """A labelled real file as a dataset (a ``.zip`` holds one DICOM file)."""
    import io
    import zipfile

    from pydicom import dcmread

    path = _real_path(name)
    if path is None:
        raise FileNotFoundError(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                return dcmread(io.BytesIO(z.read(z.namelist()[0])))
        return dcmread(path)


def real_corpus() -> list[Frame]:
    """The labelled real images, as the pixel stage shows them to OCR (display frames)."""
    from medanon.pixels.codec import decode_frames, display_frames

    out: list[Frame] = []
    for name, (index, labels) in {**REAL_LABELS, **DEID_LABELS}.items():
        if _real_path(name) is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                display = display_frames(decode_frames(_read_dicom(name)))
        except Exception as exc:  # a codec may be missing
            print(f"  skipped {name}: {type(exc).__name__}")
            continue
        truths = [Truth(x, y, w, h, t, ident, "real") for x, y, w, h, t, ident in labels]
        out.append(Frame(np.ascontiguousarray(display[index]), truths, name))
    return out


@dataclass
class Stage:
    """The whole pixel stage on one labelled real file (see :func:`stage_check`)."""

    clean: bool  # called clean
    filled: int  # labelled identifying strings filled (>= 95% of their box)
    identifying: int
    kept: int  # labelled benign strings kept (< 50% filled)
    benign: int
    over: float  # share of unlabelled pixels filled


def stage_check(name: str, config: FinderConfig, mode: str) -> Stage:
    """The whole pixel stage on a labelled real file, as the pipeline runs it (identifiers from
    its header, ultrasound regions as image areas), measured in the labelled frame. Called clean
    with an identifying string left is a false clean."""
    from medanon.dicom.identifiers import Identifiers
    from medanon.pixels.redact import (
        PixelCleaningError,
        PixelPolicy,
        clean_dataset_pixels,
        ultrasound_areas,
    )

    _, labels = {**REAL_LABELS, **DEID_LABELS}[name]
    ds = _read_dicom(name)
    wanted = [(x, y, w, h) for x, y, w, h, _, ident in labels if ident]
    benign = [(x, y, w, h) for x, y, w, h, _, ident in labels if not ident]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = clean_dataset_pixels(
                ds,
                PixelPolicy(text=mode, image_areas=ultrasound_areas(ds)),
                Identifiers.from_dataset(ds),
                finder=lambda image: find_text(image, config=config),
            )
    except PixelCleaningError:
        return Stage(False, 0, len(wanted), 0, len(benign), 0.0)
    filled = np.zeros((int(ds.Rows), int(ds.Columns)), bool)
    for x, y, w, h in outcome.redacted:
        filled[max(0, y) : y + h, max(0, x) : x + w] = True
    text = np.zeros(filled.shape, bool)
    for x, y, w, h, *_ in labels:
        text[y : y + h, x : x + w] = True
    return Stage(
        outcome.verified,
        sum(float(filled[y : y + h, x : x + w].mean()) >= COVERAGE for x, y, w, h in wanted),
        len(wanted),
        sum(float(filled[y : y + h, x : x + w].mean()) < 0.5 for x, y, w, h in benign),
        len(benign),
        float((filled & ~text).sum() / max(int((~text).sum()), 1)),
    )


def _verdict(stage: Stage) -> str:
    if stage.clean and stage.filled < stage.identifying:
        return "FALSE CLEAN"
    return "clean" if stage.clean else "failed"


CINES = (
    "examples_ybr_color.dcm",
    "ultrasound-multiframe.dcm",
    "RGB_CINE.zip",
    "GREYSCALE_CINE.zip",
)


def cine_cost(config: FinderConfig, name: str) -> tuple[float, float, float, int] | None:
    """CPU seconds of the pixel stage (mode all) on a cine, of decoding that cine alone (not
    the finder's work), and of the stage on its first frame alone stored uncompressed; and the
    cine's frame count."""
    from medanon.dicom.identifiers import Identifiers
    from medanon.pixels.codec import decode_frames, display_frames
    from medanon.pixels.redact import PixelPolicy, clean_dataset_pixels, ultrasound_areas

    if _real_path(name) is None:
        return None

    def finder(image: np.ndarray) -> list:  # type: ignore[type-arg]
        return find_text(image, config=config)

    def run(ds) -> float:  # type: ignore[no-untyped-def]
        policy = PixelPolicy(text="all", image_areas=ultrasound_areas(ds))  # as the pipeline
        c0 = cpu_seconds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clean_dataset_pixels(ds, policy, Identifiers(), finder=finder)
        return cpu_seconds() - c0

    cine = _read_dicom(name)
    frames = int(cine.NumberOfFrames)
    single = _read_dicom(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = np.ascontiguousarray(single.pixel_array[0])
    if first.ndim == 3:
        single.PhotometricInterpretation = "RGB"
        single.PlanarConfiguration = 0
    single.NumberOfFrames = 1
    single.PixelData = first.tobytes()
    single.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    run(_read_dicom(name))  # warm-up (codec imports, OCR engine start)
    c0 = cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display_frames(decode_frames(_read_dicom(name)))
    decode = cpu_seconds() - c0
    return run(cine), decode, run(single), frames


def middle_frames_check(config: FinderConfig) -> tuple[float, bool, float] | None:
    """The static-overlay cine with a name drawn in its middle frames only (10-19 of 30, over
    the anatomy): share of the name's ink filled in those frames by the pixel stage (mode
    ``all``), whether the stage called it clean, and its CPU seconds."""
    from medanon.dicom.identifiers import Identifiers
    from medanon.pixels.redact import PixelPolicy, clean_dataset_pixels, ultrasound_areas

    name = "examples_ybr_color.dcm"
    if _real_path(name) is None:
        return None
    ds = _read_dicom(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = np.ascontiguousarray(ds.pixel_array)
    ink = np.zeros(frames.shape[1:3], np.uint8)
    args = ("NOVAK^OLGA", (110, 150), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
    cv2.putText(ink, *args)
    for k in range(10, 20):
        frames[k][ink > 40] = (255, 255, 0)
    ds.PhotometricInterpretation = "RGB"
    ds.PixelData = frames.tobytes()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.PlanarConfiguration = 0
    c0 = cpu_seconds()
    outcome = clean_dataset_pixels(
        ds,
        PixelPolicy(text="all", image_areas=ultrasound_areas(ds)),
        Identifiers(),
        finder=lambda image: find_text(image, config=config),
    )
    cpu = cpu_seconds() - c0
    filled = np.zeros(ink.shape, bool)
    for x, y, w, h in outcome.redacted:
        filled[max(0, y) : y + h, max(0, x) : x + w] = True
    return float(filled[ink > 40].mean()), outcome.verified, cpu


def dump(frames: list[Frame], config: FinderConfig, folder: Path) -> None:
    """Write each frame with ground truth (green) and regions found (red) for a person to see."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, fr in enumerate(frames):
        img = fr.image if fr.image.ndim == 3 else cv2.cvtColor(fr.image, cv2.COLOR_GRAY2RGB)
        img = img.copy()
        for t in fr.truths:
            cv2.rectangle(img, (t.x, t.y), (t.x + t.w - 1, t.y + t.h - 1), (0, 255, 0), 1)
        for r in find_text(fr.image, config=config):
            cv2.rectangle(img, (r.x, r.y), (r.x + r.w - 1, r.y + r.h - 1), (255, 0, 0), 1)
        cv2.imwrite(str(folder / f"frame{i:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


ABLATIONS: dict[str, dict[str, object]] = {
    "plateaus": {"plateaus": False},
    "stroke-contrast": {"strokes": False},
    "colour-channels": {"colour_channels": False},
    "glyph-scaling(on)": {"glyph_scaling": True},  # off by default: this row turns it on
    "binarised-tiles": {"binarised_tiles": False},
    "plain-tiles(on)": {"plain_tiles": True},  # off by default
    "unreadable": {"report_unreadable": False},
    "grow": {"grow": False},
    "grow-plateau": {"grow_plateau": False},
    "snap": {"snap_px": 0},
    "padding(on)": {"pad_x": 0.25, "pad_y": 0.05, "pad_px": 1, "snap_px": 0},  # the former boxes
    "unreadable-snr": {"unreadable_snr": 0.0},
    "tesserocr(binary)": {"engine": "binary"},  # the Tesseract binary instead of in-process
    "whole-frame(on)": {"whole_frame_pass": True},  # off by default
    "sensitive-pass": {"sensitive": False},  # the second, low-contrast stroke pass
    "sensitive-grow": {"sensitive_grow": False},  # its pieces extending lines
    "faint-plateau": {"plateau_faint_glyphs": 10**6},  # faint aligned plateau lines unread
    "merged-words": {"merged_max_h": 0},  # small glyphs merged into one component
    "merged-unreadable": {"merged_unreadable": False},
    "unreadable-max-glyph": {"unreadable_max_glyph": 1e9},  # big unread blobs reported
    "whole-glyph-score": {"whole_glyph_score": False},  # dedup by component count alone
    "colour-on-grey": {"colour_on_grey": False},  # small coloured glyphs need the grey SNR
    "cut-rules": {"cut_rules": False},  # thin vertical lines stay in the grey stroke masks
    "two-char-reads": {"min_read_chars": 3},  # "AC" (initials) not a reading
    "polarity": {"polarity": False},  # a black-hat line lighter than its band (gaps) kept
    "text-detector": {"detector": "off"},  # no learned detector extending lines found in part
    "detector-alone": {"detector_alone": 0.0},  # its surest boxes not reported alone
    "trim-rows": {"trim_rows": 0.0},  # a line kept whole keeps anatomy joined above or below
    "plateau-nms(8)": {"max_plateaus": 6},  # six plateau levels (the former limit)
    "grow-same-line": {"grow_same_line": False},  # a longer sensitive copy of a line unused
    "closer-look": {"detector_zoom": 1.0},  # no second detector pass at 2x on weak evidence
    "typographic-extent": {"typographic_extent": False},  # cut descenders/slashes not restored
    "bridge": {"bridge_gap": 0.0},  # unread parts of a line do not take the gap to the rest
    "detector-grow": {"detector_alone_grow": False},  # detector boxes not grown along ink level
    "stroke-ratio": {"unreadable_max_stroke": 100.0},  # unread blobs as thick as tall reported
    "detector-rows": {"detector_row_margin": 0.0},  # read lines keep anatomy joined above/below
}


def _row(label: str, s: Score, r: Score | None) -> str:
    real = f" {r.recall:7.3f} {100 * r.over:7.2f}" if r else ""
    return (
        f"{label:<20} {s.recall:7.3f} {s.benign_recall:7.3f} {100 * s.over:7.2f} "
        f"{s.seconds:8.3f} {s.wall:7.3f}{real}"
    )


HEADER = (
    f"{'step changed':<20} {'recall':>7} {'benign':>7} {'over %':>7} {'cpu s':>8} {'wall s':>7}"
    f" {'real id':>7} {'real o%':>7}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated ablation steps to run")
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--missed", action="store_true", help="list missed identifying boxes")
    parser.add_argument("--no-real", action="store_true", help="skip the real-data check")
    args = parser.parse_args(argv)

    print(load())
    frames = make_corpus(args.frames, args.seed)
    n_id = sum(t.identifying for f in frames for t in f.truths)
    n_b = sum(not t.identifying for f in frames for t in f.truths)
    print(f"{len(frames)} frames {FRAME}x{FRAME}, {n_id} identifying + {n_b} benign strings")

    base = FinderConfig()
    find_text(frames[0].image, config=base)  # warm-up: OCR engine start, imports
    s = score(frames, base)
    print(
        f"full pipeline: recall {s.recall:.3f} (benign {s.benign_recall:.3f}), "
        f"over-redaction {100 * s.over:.2f}%, {s.seconds:.3f} CPU s/frame "
        f"({s.wall:.3f} s wall; {load()})"
    )
    phi_recall, benign_kept = phi_score(frames, base)
    print(
        f"phi mode: recall of identifying text {phi_recall:.3f}, benign text kept {benign_kept:.3f}"
    )
    if args.missed:
        for name, t, cover in s.missed:
            print(f"  missed {name}: {t.style} {t.w}x{t.h} at ({t.x},{t.y}) covered {cover:.2f}")
    if args.dump:
        dump(frames, base, args.dump)
    real = [] if args.no_real else real_corpus()
    r: Score | None = None
    if real:
        r = score(real, base)
        print(
            f"real ultrasound ({len(real)} files, {r.n_id} identifying strings): recall "
            f"{r.recall:.3f}, all labelled text {r.text_recall:.3f}, over-redaction "
            f"{100 * r.over:.2f}%, {r.seconds:.3f} CPU s/frame"
        )
        print(
            "  finder on the labelled frame; then the whole stage (find, fill, re-check, every "
            "frame) in modes all and phi: verdict, identifying filled, unlabelled pixels filled, "
            "benign kept"
        )
        for name, hit, total, text_hit, text_total, over in r.per_frame:
            a, p = stage_check(name, base, "all"), stage_check(name, base, "phi")
            print(
                f"  {name:<26} identifying {hit}/{total}, all text {text_hit}/{text_total}, "
                f"over {100 * over:.2f}% | all: {_verdict(a)} {a.filled}/{a.identifying}, "
                f"{100 * a.over:.2f}% | phi: {_verdict(p)} {p.filled}/{p.identifying}, "
                f"{100 * p.over:.2f}%, benign kept {p.kept}/{p.benign}"
            )
        for name, t, cover in r.missed:
            print(f"  missed {name}: {t.text!r} at ({t.x},{t.y}) covered {cover:.2f}")
        if args.dump:
            dump(real, base, args.dump / "real")
        print("pixel stage (find, fill, re-check) on a cine against its first frame alone:")
        for name in CINES:
            cost = cine_cost(base, name)
            if cost:
                cine, decode, one, n = cost
                print(
                    f"  {name:<26} {n} frames {cine:.3f} CPU s (decoding {decode:.3f}), first "
                    f"frame {one:.3f} CPU s: {cine / max(one, 1e-9):.2f}x, "
                    f"{(cine - decode) / max(one, 1e-9):.2f}x without decoding"
                )
        middle = middle_frames_check(base)
        if middle:
            share, clean, cpu = middle
            verdict = "called clean" if clean else "failed"
            if clean and share < COVERAGE:
                verdict = "FALSE CLEAN"
            print(
                f"the same cine, stored uncompressed, with a name in frames 10-19 only: "
                f"{100 * share:.0f}% of its ink filled, {verdict}, {cpu:.3f} CPU s"
            )
    if args.no_ablation:
        return 0
    steps = [x for x in args.only.split(",") if x] or list(ABLATIONS)
    print()
    print(HEADER)
    print(_row("(none)", s, r))
    for step in steps:
        cfg = dataclasses.replace(base, **ABLATIONS[step])  # type: ignore[arg-type]
        print(_row(step, score(frames, cfg), score(real, cfg) if real else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
