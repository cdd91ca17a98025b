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

A second, real-data check: the ultrasound images in pydicom's test files carry real burned-in
text (institution, IDs, times, technical labels). Their header text is hand-labelled below
(``REAL_LABELS``: tight boxes, public test data, not patients); recall (identifying and all
labelled text) and over-redaction are measured on them the same way, on the display image the
pipeline shows OCR. Last, the cost of the whole pixel stage (``clean_dataset_pixels``, mode
``all``: find, fill, re-check) on the 30-frame static-overlay cine ``examples_ybr_color.dcm``
against the same stage on its first frame alone (target: at most 2x).

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


def score(frames: list[Frame], config: FinderConfig) -> Score:
    hit = total = bhit = btotal = 0
    covered_bad = nontext = 0
    elapsed = cpu = 0.0
    missed: list[tuple[str, Truth, float]] = []
    for fr in frames:
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
    return Score(
        recall=hit / max(total, 1),
        benign_recall=bhit / max(btotal, 1),
        over=covered_bad / max(nontext, 1),
        seconds=cpu / max(len(frames), 1),
        wall=elapsed / max(len(frames), 1),
        missed=missed,
        n_id=total,
        text_recall=(hit + bhit) / max(total + btotal, 1),
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


def _read_dicom(name: str):  # type: ignore[no-untyped-def]
    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(_pydicom_test_files() / name)


def real_corpus() -> list[Frame]:
    """The labelled real images, as the pixel stage shows them to OCR (display frames)."""
    from medanon.pixels.codec import decode_frames, display_frames

    out: list[Frame] = []
    for name, (index, labels) in REAL_LABELS.items():
        if not (_pydicom_test_files() / name).exists():
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


def cine_cost(config: FinderConfig) -> tuple[float, float, float, int] | None:
    """CPU seconds of the pixel stage (mode all) on the static-overlay cine, of decoding that
    cine alone (JPEG, not the finder's work), and of the stage on its first frame alone stored
    uncompressed; and the cine's frame count."""
    from medanon.dicom.identifiers import Identifiers
    from medanon.pixels.codec import decode_frames, display_frames
    from medanon.pixels.redact import PixelPolicy, clean_dataset_pixels

    name = "examples_ybr_color.dcm"
    if not (_pydicom_test_files() / name).exists():
        return None

    def finder(image: np.ndarray) -> list:  # type: ignore[type-arg]
        return find_text(image, config=config)

    def run(ds) -> float:  # type: ignore[no-untyped-def]
        c0 = cpu_seconds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clean_dataset_pixels(ds, PixelPolicy(text="all"), Identifiers(), finder=finder)
        return cpu_seconds() - c0

    cine = _read_dicom(name)
    frames = int(cine.NumberOfFrames)
    single = _read_dicom(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = np.ascontiguousarray(single.pixel_array[0])
    single.PhotometricInterpretation = "RGB"
    single.NumberOfFrames = 1
    single.PixelData = first.tobytes()
    single.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    single.PlanarConfiguration = 0
    run(_read_dicom(name))  # warm-up (codec imports, OCR engine start)
    c0 = cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display_frames(decode_frames(_read_dicom(name)))
    decode = cpu_seconds() - c0
    return run(cine), decode, run(single), frames


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
        for name, t, cover in r.missed:
            print(f"  missed {name}: {t.text!r} at ({t.x},{t.y}) covered {cover:.2f}")
        if args.dump:
            dump(real, base, args.dump / "real")
        cost = cine_cost(base)
        if cost:
            cine, decode, one, n = cost
            print(
                f"pixel stage (find, fill, re-check), examples_ybr_color.dcm: {n}-frame cine "
                f"{cine:.3f} CPU s (of which decoding its JPEG frames {decode:.3f}), first frame "
                f"alone {one:.3f} CPU s: {cine / max(one, 1e-9):.2f}x, "
                f"{(cine - decode) / max(one, 1e-9):.2f}x without decoding"
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
