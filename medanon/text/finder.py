"""Find text burned into an image, so that it can be redacted.

Why not one plain OCR pass? Tesseract is built for dark text on a light page. Burned-in overlay
text is the opposite of that in every way: light (or coloured, or mid-grey) on dark anatomy,
small (7-12 px glyphs are common), scattered in corners, sometimes drawn over tissue. A single
``image_to_data`` pass on the frame reads only a fraction of it. What works (measured on this
machine, see ``benchmarks/bench_text.py`` and ``shared/docs/field-notes.md``):

1. **Candidate regions first.** Text is made of thin, high-contrast strokes of similar height,
   aligned on a baseline. Three cheap detectors propose glyph-sized connected components:

   * *stroke contrast*: white top-hat and black-hat (both polarities) of the grey image, which
     keep structures thinner than the kernel and drop smooth anatomy;
   * *plateaus*: overlays are drawn at a few exact intensities (often the maximum), which show
     up as spikes in the histogram; a mask at each spike isolates the glyphs exactly, even over
     anatomy of similar brightness;
   * *colour*: coloured annotations (yellow, cyan, green) over grey anatomy stand out in
     chroma (max - min channel) and in single channels, not always in luminance.

   Small anti-aliased glyphs (7-9 px) touch and merge into one component per word: short,
   wide, sparse components are kept as such words (``merged_*``).

   A second, *sensitive* stroke pass (grey plane, contrast 16 instead of 40, a 15 px kernel)
   finds faint text: grey ink a few tens of levels from the anatomy, black on dark. Its lines
   go to OCR only where their ink stands out from the band around them by ``sensitive_snr_read``
   times that band's noise, are kept when OCR reads them (their box cut to the rows and
   columns of the words read, as they may hold anatomy too), and are reported unreadable only
   when aligned and standing out by ``sensitive_snr``. Plateau lines too faint for the stroke
   test join this pass; those of many aligned glyphs at the exact level are reported even
   unread. Pieces of this pass also extend lines, within their band only (see ``_grow``).

   Thin vertical lines (a sector's edge, a scale bar) are cut out of the grey stroke masks
   first: a label touching one would join it into one component too tall to be a glyph.
   Horizontal ones are kept (cutting them makes ultrasound tissue layers into text-like rows).

   Components are grouped into lines (similar height, overlapping vertically, small gaps).
   Several masks often find one line; the best is kept: most aligned glyphs, weighted by how
   much of the line's height they fill (a channel that splits each glyph in pieces would win
   on their count alone).

2. **Each line is rendered for Tesseract**: cropped, upscaled (a fixed 2x by default; scaling
   each line to ``target_glyph_px`` is available but read no more on the benchmark, since glyphs
   too small to read at 2x are returned as unreadable anyway), polarity set to dark-on-light,
   as binarised glyphs (pixels nearer the ink level than the background, next to the detected
   components). A second, contrast-stretched plain crop per line (``plain_tiles``) and a
   whole-frame tile (``whole_frame_pass``) are available but off: on the benchmark they read
   nothing more, cost a third of the OCR time and add misreads.

3. **One Tesseract call per frame**: all tiles are packed into one mosaic and read with
   ``--psm 11`` (sparse text). OCR runs in-process with ``tesserocr`` (libtesseract) when it is
   installed, with the system's traineddata: the engine starts once per thread (~0.15 s), then
   a mosaic costs ~0.05 s. Without it, the ``tesseract`` binary is run (~0.1 s start-up per
   call). Words are mapped back to the frame through their tile.

4. **Decide.** A line is text when OCR reads a plausible word in one of its tiles: three
   letters or digits, or two read with confidence 90 or more (initials). A line kept whole
   reports every word OCR saw in it, unsure ones too, for phi mode to judge. Lines that
   OCR cannot read but that look strongly like text (several aligned glyphs of equal height, or
   a tiny band of dots standing out from the texture around it, unlike ultrasound speckle, or
   small aligned glyphs in colour over grey: speckle has no colour) are
   returned too, with empty text and ``source="unreadable"``: header matching cannot work on
   them, so they must be redacted anyway. So are merged small words on a clean background.
   Unread aligned "glyphs" taller than ``unreadable_max_glyph`` are not: OCR reads text that
   size, so they are anatomy (colour-Doppler flames).

5. **Grow and snap the boxes.** A line is often found in parts (a word over anatomy as bright
   as the ink, an initial, a slash): each box grows along its baseline to the pieces beside it
   that any detector found and that are drawn like the line (a longer copy of the line from
   the sensitive pass too, whose band is too noisy for that pass alone), and to glyph-sized
   components at the line's exact ink level (a second binarisation at the plateau), then over
   the boxes a learned text-line detector (:mod:`medanon.text.detector`, DBNet) draws on the
   same rows: where a word touches anatomy of its ink's brightness, a rule or a frame edge, no
   component looks like a glyph, but the network still sees the line. Its surest boxes where
   the finder found nothing are reported too, unread. Boxes are then snapped to
   the ink, moving out one pixel where the anti-aliased edge continues, instead of a blind
   padding on every side.

Everything is a pure function of the pixel array and the configuration: the same input gives
the same regions. The Tesseract binary runs with ``OMP_THREAD_LIMIT=1`` (its OpenMP threads cost
~3x more CPU for the same result on 2 cores); parallelise across processes instead.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..errors import MedanonError
from . import detector
from .detector import TextBox

__all__ = ["FinderConfig", "OCRUnavailable", "TextRegion", "find_text", "is_available"]


class OCRUnavailable(MedanonError):
    """The Tesseract binary cannot be found or run; install ``tesseract-ocr``."""


@dataclass(frozen=True)
class TextRegion:
    """A box (pixels, in the input frame) that holds text.

    ``text`` is what OCR read (empty when the region looks like text but could not be read),
    ``confidence`` Tesseract's mean word confidence (0-100; 0 for unreadable regions) and
    ``source`` the pass that found it: ``"lines"`` (candidate lines), ``"frame"`` (the whole-frame
    plain pass), ``"unreadable"`` (looks like text, OCR could not read it) or ``"detector"`` (a
    line only the learned text detector saw, unread).
    """

    x: int
    y: int
    w: int
    h: int
    text: str
    confidence: float
    source: str


@dataclass(frozen=True)
class FinderConfig:
    """Tuning and the switches of each pipeline step (the benchmark turns them off in turn)."""

    # Candidate detection.
    strokes: bool = True  # top-hat / black-hat stroke contrast, both polarities
    plateaus: bool = True  # masks at exact intensity spikes of the histogram
    colour_channels: bool = True  # chroma and per-channel strokes for RGB input
    stroke_kernel: int = 11  # px; strokes thinner than this pass the top-hat
    stroke_contrast: int = 40  # grey levels above the local background
    chroma_min: int = 70  # max-min channel for coloured ink
    # Second, sensitive stroke pass (faint text: grey ink near the anatomy's level, black on
    # dark): a lower contrast threshold, its lines kept only where the ink stands out from the
    # band around them by sensitive_snr times its noise, and then only if OCR reads them or
    # they are aligned glyphs.
    sensitive: bool = True
    sensitive_contrast: int = 16
    sensitive_snr: float = 4.0  # to be reported unreadable
    sensitive_snr_read: float = 4.0  # to be shown to OCR
    plateau_faint_glyphs: int = 8  # aligned glyphs a faint plateau line needs to be reported
    # ... and the grey levels its ink must differ from the band by (a row of that many glyphs at
    # one exact level is text, even over anatomy a few levels away)
    plateau_faint_contrast: float = 4.0
    sensitive_kernel: int = 15
    sensitive_colour: bool = False  # the colour channels too
    sensitive_grow: bool = True  # its pieces may extend lines found (see _grow)
    max_plateaus: int = 8
    plateau_sigma: float = 6.0
    min_glyph_px: int = 2
    merged_max_h: int = 12  # px: words of smaller glyphs may be one merged component
    merged_max_w: float = 14.0  # in heights
    merged_fill: float = 0.7  # at most this share of its box is ink
    merged_unreadable: bool = True  # report such words when OCR cannot read them
    merged_snr: float = 6.0  # ... when their ink stands out this much from the band's noise
    max_glyph_px: int = 48
    # Thin vertical lines (rule_px long, rule_thickness wide at most) are cut out of the grey
    # stroke masks (see _without_rules).
    cut_rules: bool = True
    rule_px: int = 60
    rule_thickness: int = 3
    # Of two masks of one line, the one whose glyphs fill its height is read: a channel that
    # splits glyphs into many short pieces would win on their count alone.
    whole_glyph_score: bool = True
    line_gap: float = 1.1  # horizontal gap allowed inside a line, in glyph heights
    # A stroke mask's line whose ink is darker (top-hat) or lighter (black-hat) than the band
    # around it on its plane is most likely the gaps between letters: its score is cut, so
    # that the text itself, found by the other polarity, is read instead (see _polarity_ok).
    polarity: bool = True
    polarity_penalty: float = 0.25
    # Rendering for OCR.
    # Scale each line so its glyphs are target_glyph_px tall, or else a fixed 2x. Measured on
    # bench_text.py: the fixed 2x reads as much (glyphs too small to read at 2x are returned as
    # unreadable anyway) with smaller tiles, so it is the default.
    glyph_scaling: bool = False
    target_glyph_px: int = 30
    max_scale: float = 6.0
    binarised_tiles: bool = True
    plain_tiles: bool = False  # measured: reads no more than the binarised tile, costs 1/3 of OCR
    whole_frame_pass: bool = False  # measured: finds nothing the lines miss, adds misreads
    max_tiles: int = 60
    # OCR and decision.
    psm: int = 11
    lang: str = "eng"
    min_confidence: float = 45.0
    frame_min_confidence: float = 70.0
    report_unreadable: bool = True
    # Tiny unreadable "text" must stand out from the texture around it by this many times that
    # texture's robust spread: rows of ultrasound speckle look like tiny text, but sit in speckle.
    unreadable_snr: float = 3.0
    # Glyphs this tall are read by OCR when they are text: big aligned blobs it cannot read
    # are anatomy (colour-Doppler flames), not text.
    unreadable_max_glyph: float = 24.0
    unreadable_max_stroke: float = 0.6  # ... with strokes no thicker than this share of height
    unreadable_snr_glyph: float = 6.0  # for glyphs up to this tall (larger ones are shaped)
    # ... unless aligned and coloured over grey (see _colour_on_grey)
    colour_on_grey: bool = True
    grow: bool = True  # extend found lines to glyph pieces beside them (see _grow)
    grow_gap: float = 1.5  # in glyph heights
    grow_max: float = 8.0  # in glyph heights, on each side
    grow_plateau: bool = True  # also grow with a binarisation at the line's exact ink level
    grow_plateau_max: float = 24.0  # in glyph heights, on each side
    grow_plateau_min_h: float = 0.5  # in glyph heights: smaller pieces of that level ignored
    grow_same_line: bool = True  # a sensitive piece holding the line needs no SNR (_same_ink)
    line_min_confidence: float = 60.0
    # A learned text detector (medanon.text.detector, DBNet) extends each line found along its
    # rows where the finder saw only part of it (see _extend_along). "auto": when installed;
    # "off"; "required": raise OCRUnavailable when it is not installed.
    detector: str = "auto"
    detector_score: float = 0.5  # mean text probability of a box to use it
    # ... to report a box alone, unread, where the finder found nothing (0: never; source
    # "detector"), snapped out to its ink by up to this share of its height (see _snap_alone)
    detector_alone: float = 0.7
    detector_alone_pad: float = 0.25
    detector_alone_grow: bool = True  # its boxes grow along their exact ink level (_grow_plateau)
    bridge_gap: float = 2.0  # in heights: unread regions take the gap to a region of their line
    detector_row_margin: float = 0.2  # read lines cut to its line's rows, +- this share of them
    detector_row_excess: float = 0.25  # ... where the ink runs further than this share below
    detector_row_excess_above: float = 0.45  # ... or above (capitals' accents)
    detector_zoom: float = 2.0  # its closer look (detector.second_look); 1 or less: none
    detector_evidence: float = 0.05  # ... where it saw at least this text probability
    detector_unclip: float = 0.4  # growth of its boxes, times area / perimeter
    detector_max_height: float = 1.3  # a box taller than this many line heights (+4 px) is
    # not this line (two lines, or text and anatomy)
    whole_line_text: bool = True  # a line kept whole reports every word OCR saw in it
    # ... but only the rows of its words when its ink is this many times taller (see _ink_box)
    trim_rows: float = 1.5
    typographic_extent: bool = True  # read lines reach the rows of their descenders and slashes
    tail_level: float = 0.5  # ink: this share of the line's contrast from its background
    tail_cut: float = 0.5  # a box edge on a row this dense (share of the median row) was cut
    # Letters or digits a line's words need to be called read text. Two: initials (an
    # operator's "AC") identify; such a short word must be read with more confidence.
    min_read_chars: int = 2
    short_read_confidence: float = 90.0
    short_reads_upper: bool = True  # ... and have no lower-case letter
    # Boxes are snapped to the ink, anti-aliased fringe included (_snap), then padded, in glyph
    # heights plus pad_px. Measured on bench_text.py: snapping one pixel out where there is ink
    # covers nearly as much text as the former blind padding (0.25 x, 0.05 y glyph heights
    # + 1 px; recall 0.89 against 0.90) at less than half the over-redaction (1.0% against
    # 2.4%), so no padding is the default.
    pad_x: float = 0.0
    pad_y: float = 0.0
    pad_px: int = 0
    snap_px: int = 1  # how far a box may move out to the anti-aliased edge of its ink
    snap_level: float = 0.12  # an edge pixel is ink from this share of the ink contrast
    timeout: float = 60.0
    tesseract: str = field(default="tesseract")
    # OCR engine: "auto" reads in-process with tesserocr (libtesseract, no start-up cost per
    # call) when it is installed and the language data is found, else runs the binary;
    # "tesserocr" or "binary" force one.
    engine: str = "auto"
    tessdata: str | None = None  # folder of *.traineddata; None: $TESSDATA_PREFIX, the binary's

    def __post_init__(self) -> None:
        if self.detector not in ("auto", "off", "required"):
            raise ValueError(f"detector must be 'auto', 'off' or 'required', not {self.detector!r}")
        if self.engine not in ("auto", "tesserocr", "binary"):
            raise ValueError(f"engine must be 'auto', 'tesserocr' or 'binary', not {self.engine!r}")


# --------------------------------------------------------------------------- availability


@functools.lru_cache(maxsize=8)
def _tesseract_path(cmd: str) -> str | None:
    path = shutil.which(cmd)
    if path is None:
        return None
    try:
        subprocess.run([path, "--version"], capture_output=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return path


def _has_langs(folder: str, lang: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, f"{x}.traineddata")) for x in lang.split("+"))


@functools.lru_cache(maxsize=8)
def _tessdata_dir(lang: str, explicit: str | None, tesseract: str) -> str | None:
    """A folder holding ``lang``'s traineddata, for tesserocr (which does not know Debian's).

    Tried in order: the configured folder, ``$TESSDATA_PREFIX`` (the folder or its ``tessdata``
    child), the folder the Tesseract binary reports, and the usual system folders.
    """
    folders: list[str] = []
    if explicit:
        folders.append(explicit)
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        folders += [prefix, os.path.join(prefix, "tessdata")]
    path = _tesseract_path(tesseract)
    if path is not None:
        try:
            out = subprocess.run(
                [path, "--list-langs"], capture_output=True, timeout=20, check=False
            ).stdout.decode("utf-8", "replace")
            m = re.search(r'"([^"]+)"', out)
            if m:
                folders.append(m.group(1))
        except (OSError, subprocess.SubprocessError):
            pass
    for root in ("/usr/share/tesseract-ocr", "/usr/share", "/usr/local/share"):
        if os.path.isdir(root):
            for sub in sorted(os.listdir(root), reverse=True):  # newest version first
                folders.append(os.path.join(root, sub, "tessdata"))
            folders.append(os.path.join(root, "tessdata"))
    for folder in folders:
        if os.path.isdir(folder) and _has_langs(folder, lang):
            return folder.rstrip("/") + "/"
    return None


@functools.lru_cache(maxsize=1)
def _tesserocr():  # type: ignore[no-untyped-def]
    try:
        import tesserocr  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # optional: the binary is the fallback
        return None
    return tesserocr


def _in_process(config: FinderConfig) -> str | None:
    """The tessdata folder when OCR runs in-process with tesserocr, else None (the binary)."""
    if config.engine == "binary" or _tesserocr() is None:
        if config.engine == "tesserocr":
            raise OCRUnavailable("tesserocr is not installed")
        return None
    folder = _tessdata_dir(config.lang, config.tessdata, config.tesseract)
    if folder is None and config.engine == "tesserocr":
        raise OCRUnavailable(f"no traineddata for {config.lang!r} found for tesserocr")
    return folder


def is_available(tesseract: str = "tesseract") -> bool:
    """Whether OCR can run: tesserocr with English data, or the Tesseract binary."""
    if _tesserocr() is not None and _tessdata_dir("eng", None, tesseract) is not None:
        return True
    return _tesseract_path(tesseract) is not None


def _check_available(config: FinderConfig) -> None:
    if _in_process(config) is None and _tesseract_path(config.tesseract) is None:
        raise OCRUnavailable(f"Tesseract binary {config.tesseract!r} not found or not runnable")
    if config.detector == "required":
        reason = detector.unavailable_reason()
        if reason is not None:
            raise OCRUnavailable(f"text detector unavailable: {reason}")


# --------------------------------------------------------------------------- OCR


@dataclass(frozen=True)
class _Word:
    x: int
    y: int
    w: int
    h: int
    conf: float
    text: str


_local = threading.local()


def _api(folder: str, config: FinderConfig):  # type: ignore[no-untyped-def]
    """This thread's tesserocr engine for (tessdata, lang, psm): started once (~0.15 s), then
    reused; an engine is not shared between threads."""
    key = (folder, config.lang, config.psm)
    engines = getattr(_local, "engines", None)
    if engines is None:
        engines = _local.engines = {}
    api = engines.get(key)
    if api is None:
        tesserocr = _tesserocr()
        try:
            api = tesserocr.PyTessBaseAPI(path=folder, lang=config.lang, psm=config.psm)
        except RuntimeError as exc:
            raise OCRUnavailable(f"tesserocr cannot start: {exc}") from exc
        engines[key] = api
    return api


def _parse_tsv(tsv: str) -> list[_Word]:
    words: list[_Word] = []
    for line in tsv.splitlines():
        parts = line.split("\t")
        if len(parts) < 12 or parts[0] != "5":
            continue
        text = parts[11].strip()
        if not text:
            continue
        try:
            x, y, w, h = (int(v) for v in parts[6:10])
            conf = float(parts[10])
        except ValueError:
            continue
        words.append(_Word(x, y, w, h, conf, text))
    return words


def _ocr(image: np.ndarray, config: FinderConfig) -> list[_Word]:
    """Read a grey image (dark text on light) once and return its words.

    In-process with tesserocr when available; else the binary, with the image on stdin as PNG
    and the TSV back on stdout (no temporary files).
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    folder = _in_process(config)
    api = None
    if folder is not None:
        try:
            api = _api(folder, config)
        except OCRUnavailable:
            if config.engine != "auto" or _tesseract_path(config.tesseract) is None:
                raise
    if api is not None:
        h, w = image.shape
        api.SetImageBytes(image.tobytes(), w, h, 1, w)
        api.SetSourceResolution(70)  # what the binary assumes for a PNG without resolution
        try:
            api.Recognize()
            return _parse_tsv(api.GetTSVText(0) or "")
        finally:
            api.Clear()
    path = _tesseract_path(config.tesseract)
    if path is None:
        raise OCRUnavailable(f"Tesseract binary {config.tesseract!r} not found or not runnable")
    ok, png = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise OCRUnavailable("cannot encode image for Tesseract")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cmd = [path, "stdin", "stdout", "--psm", str(config.psm), "-l", config.lang, "tsv"]
    try:
        res = subprocess.run(
            cmd, input=png.tobytes(), capture_output=True, env=env, timeout=config.timeout
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise OCRUnavailable(f"Tesseract failed to run: {type(exc).__name__}") from exc
    if res.returncode != 0:
        raise OCRUnavailable(f"Tesseract exited with status {res.returncode}")
    return _parse_tsv(res.stdout.decode("utf-8", "replace"))


def ocr_words(
    image: np.ndarray, *, psm: int = 11, lang: str = "eng"
) -> list[tuple[str, int, int, int, int, float]]:
    """Words Tesseract reads in a grey uint8 image: (text, left, top, width, height, confidence).

    The same engine as :func:`find_text` (in-process tesserocr when installed, else the binary),
    for other stages that need plain word boxes (the sharing verdict's cue words).
    """
    words = _ocr(image, FinderConfig(psm=psm, lang=lang))
    return [(w.text, w.x, w.y, w.w, w.h, w.conf) for w in words]


def _plausible(word: _Word, min_conf: float) -> bool:
    """A word that OCR read with enough confidence to call its region text.

    Anatomy edges read as ``|``, ``—``, ``ee`` and the like, at low confidence: demand letters or
    digits, and more confidence from one-character words.
    """
    alnum = sum(c.isalnum() for c in word.text)
    if alnum == 0:
        return False
    if alnum <= 2:
        return word.conf >= max(min_conf, 75.0)
    return word.conf >= min_conf


# --------------------------------------------------------------------------- candidates


def _grey(image: np.ndarray) -> np.ndarray:
    """The grey plane of an image; for the colour image :func:`find_text` is reading, the one
    it converted once (every line's levels look at it: converting again each time cost a
    third of the time on large colour frames)."""
    if image.ndim == 2:
        return image
    reading = getattr(_local, "reading", None)
    if reading is not None and reading[0] is image:
        return reading[1]
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array, the same value for a fraction of its overhead: it is taken
    for every candidate line, tens of thousands of times on a large frame."""
    a = np.sort(values, kind="stable")
    n = a.size
    return (float(a[(n - 1) // 2]) + float(a[n // 2])) / 2


def _planes(image: np.ndarray, config: FinderConfig) -> list[np.ndarray]:
    """Grey planes on which stroke contrast is measured."""
    planes = [_grey(image)]
    if image.ndim == 3 and config.colour_channels:
        planes += [np.ascontiguousarray(image[:, :, c]) for c in range(3)]
    return planes


def _stroke_masks(plane: np.ndarray, config: FinderConfig) -> list[np.ndarray]:
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (config.stroke_kernel, config.stroke_kernel))
    bright = cv2.morphologyEx(plane, cv2.MORPH_TOPHAT, k)
    dark = cv2.morphologyEx(plane, cv2.MORPH_BLACKHAT, k)
    t = config.stroke_contrast
    return [(bright >= t).astype(np.uint8), (dark >= t).astype(np.uint8)]


def _plateau_levels(grey: np.ndarray, config: FinderConfig) -> list[int]:
    """Intensities that are spikes of the histogram: where overlays are drawn.

    Anatomy gives a smooth histogram; an overlay drawn at one exact value adds its pixels to one
    bin. A bin counts when its excess over the mean of its two neighbours is large against the
    Poisson noise of those neighbours (so grey text over anatomy of the same brightness is still
    seen), and when it holds no more than 40% of the frame (that is background, not ink).
    """
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    padded = np.concatenate([[hist[1]], hist, [hist[-2]]])
    neighbours = (padded[:-2] + padded[2:]) / 2
    excess = hist - neighbours
    significance = excess / np.sqrt(neighbours + 25.0)
    spike = (excess >= 20) & (significance >= config.plateau_sigma) & (hist <= 0.4 * grey.size)
    # The shoulder of a spike (75 beside a huge 74) is the same overlay's anti-aliasing or
    # rounding, not another one: only local maxima count, so they do not crowd out real levels.
    sig = np.concatenate([[-np.inf], significance, [-np.inf]])
    spike &= (significance >= sig[:-2]) & (significance >= sig[2:])
    levels = np.flatnonzero(spike)
    levels = levels[np.argsort(-significance[levels], kind="stable")][: config.max_plateaus]
    return sorted(int(v) for v in levels)


def _glyph_components(
    mask: np.ndarray, config: FinderConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of a binary mask that could be glyphs (or short words).

    Returns the label image, the component stats and the labels kept (components of one mask
    never touch, so dropping some leaves the others as they were).
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return labels, stats, np.zeros(0, np.int64)
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    fill = area / np.maximum(w * h, 1)
    # Small anti-aliased glyphs touch and merge into one component per word: a short, wide,
    # sparse component is kept too (a word, not a rule or a filled bar).
    merged = (
        (h >= 5)
        & (h <= config.merged_max_h)
        & (w <= config.merged_max_w * h)
        & (fill <= config.merged_fill)
    )
    keep = (
        (h >= config.min_glyph_px)
        & (h <= config.max_glyph_px)
        & ((w <= 4 * np.maximum(h, 6)) | merged)
        & (area >= 3)
        & ~((fill > 0.92) & (w >= 6) & (h >= 6))
        & ~((h <= 2) & (w > 12))  # rules and box edges, not glyphs
    )
    keep[0] = False
    return labels, stats, np.flatnonzero(keep)


@dataclass
class _Line:
    x: int
    y: int
    w: int
    h: int
    glyph: float  # median component height
    n: int  # components
    aligned: bool  # three or more glyphs of equal height on one baseline
    ink: np.ndarray | None  # bool, h x w: this line's components (None: not built yet)
    score: float
    worth: bool = True  # passes the shape tests (a candidate for OCR); else a fragment
    labels: np.ndarray | None = None  # for building a fragment's ink when it is needed
    members: np.ndarray | None = None
    levels: tuple[float, float, float] | None = None  # cache of _levels
    noise: float = 0.0  # robust spread of the band around the box (set by _levels)
    sensitive: bool = False  # from the sensitive pass (stricter acceptance)
    exact: bool = False  # a faint plateau line of many aligned glyphs (reported unread)

    def ink_mask(self) -> np.ndarray:
        if self.ink is None:
            assert self.labels is not None and self.members is not None
            crop = self.labels[self.y : self.y + self.h, self.x : self.x + self.w]
            self.ink = np.isin(crop, self.members)
        return self.ink


def _tiny_shape(glyph: float, w: int, h: int) -> bool:
    return glyph <= 6 and w >= 5 * h and h <= 8


def _worth_shape(glyph: float, w: int, h: int, area: int) -> bool:
    """Cheap shape tests that drop anatomy specks and blobs before they cost OCR time.

    Identifying text has several characters: a line narrower than 1.5 glyph heights is a speck,
    a vessel or a lone marker (L, R), and a line much taller than its glyphs is a chain of
    anatomy.
    """
    if _tiny_shape(glyph, w, h):
        return True
    fill = area / max(w * h, 1)
    return glyph >= 3 and w >= 1.5 * h and h <= 2.2 * glyph + 2 and fill <= 0.75


_PAIRS = 1 << 20  # component pairs tested at once when grouping lines


def _group_lines(
    labels: np.ndarray, stats: np.ndarray, kept: np.ndarray, config: FinderConfig
) -> list[_Line]:
    """Group glyph components into lines: overlapping vertically, similar heights, small gaps.

    Lines failing the cheap shape tests are dropped before their ink mask is built.
    """
    m = kept.size
    if m == 0:
        return []
    x, y, w, h, area = (stats[kept, i].astype(np.int64) for i in range(5))
    parent = np.arange(m)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    order = np.argsort(x, kind="stable")
    xs, ws, ys, hs = x[order], w[order], y[order], h[order]
    right = xs + ws
    reach = right + config.line_gap * np.maximum(hs, 4)
    ends = np.searchsorted(xs, reach, side="right")
    # Every pair (a, c) of components with c starting within a's reach, tested at once, in
    # chunks of at most _PAIRS pairs (a tall frame of speckle has tens of millions).
    counts = np.maximum(ends - np.arange(m) - 1, 0)
    cum = np.cumsum(counts)
    first = 0
    while first < m:
        last = max(first + 1, int(np.searchsorted(cum, cum[first] - counts[first] + _PAIRS)))
        last = min(last, m)
        n = counts[first:last]
        a = np.repeat(np.arange(first, last), n)
        c = a + 1 + np.arange(a.size) - np.repeat(np.cumsum(n) - n, n)
        first = last
        overlap = np.minimum(ys[a] + hs[a], ys[c] + hs[c]) - np.maximum(ys[a], ys[c])
        small = np.minimum(hs[a], hs[c])
        big = np.maximum(hs[a], hs[c])
        gap = np.maximum(xs[c] - right[a], 0)
        # Similar heights, or punctuation (comma, hyphen, dots) beside a glyph.
        similar = (overlap >= 0.5 * small) & (big <= 3 * small + 4)
        punct = (overlap >= 0.4 * small) & (small <= 0.5 * big)
        ok = (similar | punct) & (gap <= config.line_gap * big)
        # Union-find; a group's root is its smallest index whatever the order of the unions.
        for i, j in zip(order[a[ok]].tolist(), order[c[ok]].tolist(), strict=True):
            ra, rc = find(i), find(j)
            if ra != rc:
                parent[max(ra, rc)] = min(ra, rc)
    roots = np.array([find(i) for i in range(m)])
    lines: list[_Line] = []
    sort = np.argsort(roots, kind="stable")
    bounds = np.flatnonzero(np.diff(roots[sort])) + 1
    # Each group's box and ink area at once (most groups are one component: a speck).
    starts = np.concatenate(([0], bounds))
    gx0 = np.minimum.reduceat(x[sort], starts)
    gy0 = np.minimum.reduceat(y[sort], starts)
    gx1 = np.maximum.reduceat((x + w)[sort], starts)
    gy1 = np.maximum.reduceat((y + h)[sort], starts)
    garea = np.add.reduceat(area[sort], starts)
    for k, idx in enumerate(np.split(sort, bounds)):
        lx, ly = int(gx0[k]), int(gy0[k])
        lw, lh = int(gx1[k]) - lx, int(gy1[k]) - ly
        hh = h[idx].astype(np.float64)
        glyph = float(hh[0]) if idx.size == 1 else _median(hh)
        if not _worth_shape(glyph, lw, lh, int(garea[k])):
            if lw <= 12 * glyph + 4:  # a fragment: may extend a line found elsewhere
                lines.append(
                    _Line(
                        lx,
                        ly,
                        lw,
                        lh,
                        glyph,
                        int(idx.size),
                        False,
                        None,
                        0.0,
                        False,
                        labels,
                        kept[idx],
                    )
                )
            continue
        tall = hh >= 0.6 * hh.max()
        bottoms = (y[idx] + h[idx])[tall].astype(np.float64)
        aligned = bool(
            int(tall.sum()) >= 3
            and np.std(bottoms) <= 0.15 * glyph + 0.5
            and np.std(hh[tall]) <= 0.2 * glyph + 0.5
        )
        ink = np.isin(labels[ly : ly + lh, lx : lx + lw], kept[idx])
        score = idx.size * (2.0 if aligned else 1.0)
        if config.whole_glyph_score:
            score *= min(1.0, glyph / lh) ** 2
        lines.append(_Line(lx, ly, lw, lh, glyph, int(idx.size), aligned, ink, score))
    return lines


def _candidate_masks(
    image: np.ndarray, config: FinderConfig
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, bool | None, tuple[int, int]]]:
    """Glyph-like components, one mask per detector (stroke polarity and plane, plateau, chroma).

    Each comes with its kind (False: stroke or colour, None: plateau, True: sensitive pass)
    and, for stroke masks, the plane they measure (-1 grey, else a channel) and the ink's
    polarity there (+1 light, -1 dark; 0 for plateaus and chroma).

    Masks are grouped into lines one by one, never OR-ed first: the top-hat of speckle touching
    a clean plateau glyph would merge both into one shapeless component, and the black-hat of
    light text (the gaps between its letters) would fill its words into blobs.
    """
    grey = _grey(image)
    masks: list[np.ndarray] = []
    if config.strokes:
        for plane in _planes(image, config):
            masks += _stroke_masks(plane, config)
    if image.ndim == 3 and config.colour_channels:
        chroma = image.max(axis=2).astype(np.int16) - image.min(axis=2)
        masks.append((chroma >= config.chroma_min).astype(np.uint8))
    if config.cut_rules and config.strokes:  # the grey plane's: colour flames are long too
        masks[:2] = [_without_rules(m, config) for m in masks[:2]]
    # Each plane's top-hat finds ink lighter than its surroundings on that plane, its black-hat
    # darker ink: (plane, sign) with plane -1 for grey, c for channel c; the chroma mask has none.
    signs = [(p, sg) for p in range(-1, len(masks) // 2 - 1) for sg in (1, -1)]
    comps = [
        (*_glyph_components(m, config), False, signs[i] if i < len(signs) else (0, 0))
        for i, m in enumerate(masks)
    ]
    if config.plateaus:
        # An exact level isolates its glyphs even where they barely differ from the anatomy:
        # lines too faint for the stroke test are taken as from the sensitive pass.
        comps += [
            (*_glyph_components((grey == v).astype(np.uint8), config), None, (0, 0))
            for v in _plateau_levels(grey, config)
        ]
    if config.sensitive and config.strokes:
        weak = FinderConfig(
            stroke_kernel=config.sensitive_kernel, stroke_contrast=config.sensitive_contrast
        )
        planes = _planes(image, config) if config.sensitive_colour else [grey]
        for index, plane in enumerate(planes, start=-1):  # grey first, then the channels
            comps += [
                (*_glyph_components(m, config), True, (index, sign))
                for m, sign in zip(_stroke_masks(plane, weak), (1, -1), strict=True)
            ]
    return [c for c in comps if c[2].size]


def _without_rules(mask: np.ndarray, config: FinderConfig) -> np.ndarray:
    """A mask without its long, thin vertical lines (scale bars, sector and frame edges).

    Text touching such a line (a label beside a sector's edge) would join it into one long
    component, too tall to be a glyph, and be lost with it. Horizontal lines are kept: cutting
    them splits the bright layers of ultrasound tissue into text-like rows (measured).
    """
    n, t = config.rule_px, config.rule_thickness + 1
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((n, 1), np.uint8))
    if not lines.any():
        return mask
    # Only thin ones: a blob holds long runs too.
    rules = lines & ~cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((n, t), np.uint8))
    return mask & ~rules


def _levels(image: np.ndarray, ln: _Line, config: FinderConfig) -> tuple[float, float, float]:
    """Grey level of the line's ink, of the band around its box, and the ink's contrast (grey,
    or the best channel for coloured ink over grey of the same luminance). Cached on the line."""
    if ln.levels is not None:
        return ln.levels
    grey = _grey(image)
    hgt, wid = grey.shape
    m = int(max(2, round(0.4 * ln.glyph)))
    x0, y0 = max(0, ln.x - m), max(0, ln.y - m)
    x1, y1 = min(wid, ln.x + ln.w + m), min(hgt, ln.y + ln.h + m)
    outer = grey[y0:y1, x0:x1]
    band = np.ones(outer.shape, bool)
    band[ln.y - y0 : ln.y - y0 + ln.h, ln.x - x0 : ln.x - x0 + ln.w] = False
    inner = grey[ln.y : ln.y + ln.h, ln.x : ln.x + ln.w]
    lnk = ln.ink_mask()
    ink = _median(inner[lnk])
    if not band.any():
        ln.levels = (ink, ink, 255.0)
        return ln.levels
    ring = outer[band].astype(np.float32)
    around = _median(ring)
    ln.noise = 1.4826 * _median(np.abs(ring - around))
    diff = abs(ink - around)
    if image.ndim == 3 and config.colour_channels and diff < config.stroke_contrast / 2:
        # Coloured ink over grey of the same luminance: look at the channels.
        for c in range(3):
            ch_in = image[ln.y : ln.y + ln.h, ln.x : ln.x + ln.w, c]
            ch_out = image[y0:y1, x0:x1, c]
            d = abs(float(np.median(ch_in[lnk])) - float(np.median(ch_out[band])))
            diff = max(diff, d)
    ln.levels = (ink, around, diff)
    return ln.levels


def _contrast_ok(image: np.ndarray, ln: _Line, config: FinderConfig) -> bool:
    """Whether the line's ink stands out from the band around its box.

    This drops the black-hat of light text (the dark gaps between its letters, which are as dark
    as the band around the word) and the top-hat of dark text, as well as faint anatomy.
    """
    return _levels(image, ln, config)[2] >= config.stroke_contrast / 2


def _polarity_ok(
    image: np.ndarray, ln: _Line, polarity: tuple[int, int], config: FinderConfig
) -> bool:
    """Whether a line of a light-ink (top-hat) mask is lighter than the band around it, and one of
    a dark-ink (black-hat) mask darker.

    The black-hat of small light text holds the gaps between its letters, an aligned row of
    "glyphs" of the text's own height; it can outscore the text itself (more, smaller pieces)
    while its pixels are lighter than the band around the word. Read as the line, it gives OCR
    a tile of gaps and the text is lost. Such a line is not dropped, only ranked below the
    text's own line: where the text's polarity found nothing usable (dark text over textured
    bright anatomy), the gaps' tile is still read, and often reads (measured).
    """
    plane, sign = polarity
    if sign == 0:
        return True
    if plane < 0:
        ink, around, _ = _levels(image, ln, config)
        return (ink - around) * sign > 0
    hgt, wid = image.shape[:2]
    m = int(max(2, round(0.4 * ln.glyph)))
    x0, y0 = max(0, ln.x - m), max(0, ln.y - m)
    x1, y1 = min(wid, ln.x + ln.w + m), min(hgt, ln.y + ln.h + m)
    outer = image[y0:y1, x0:x1, plane]
    band = np.ones(outer.shape, bool)
    band[ln.y - y0 : ln.y - y0 + ln.h, ln.x - x0 : ln.x - x0 + ln.w] = False
    if not band.any():
        return True
    inner = image[ln.y : ln.y + ln.h, ln.x : ln.x + ln.w, plane]
    return (_median(inner[ln.ink_mask()]) - _median(outer[band])) * sign > 0


def _same_ink(image: np.ndarray, ln: _Line, piece: _Line, config: FinderConfig) -> bool:
    """Whether a piece is drawn like the line: same polarity, about the same ink level."""
    ink, around, _ = _levels(image, ln, config)
    p_ink, p_around, p_diff = _levels(image, piece, config)
    if piece.sensitive:
        # The line itself, found longer by the sensitive pass (a last letter over anatomy as
        # bright as the ink), need not stand out from its band: the line was found already.
        same_line = config.grow_same_line and piece.aligned and _covers(piece, ln)
        if p_diff < config.sensitive_contrast / 2 or (
            p_diff < config.sensitive_snr * piece.noise and not same_line
        ):
            return False
    elif p_diff < config.stroke_contrast / 2:
        return False
    if (ink - around) * (p_ink - p_around) <= 0:
        return False
    return abs(p_ink - ink) <= 0.3 * abs(ink - around) + 10


def _covers(piece: _Line, ln: _Line) -> bool:
    """Whether a piece holds the line: most of its width, on the same rows, glyphs alike."""
    overlap = min(piece.x + piece.w, ln.x + ln.w) - max(piece.x, ln.x)
    rows = min(piece.y + piece.h, ln.y + ln.h) - max(piece.y, ln.y)
    return (
        overlap >= 0.8 * ln.w
        and rows >= 0.8 * min(piece.h, ln.h)
        and abs(piece.glyph - ln.glyph) <= 0.2 * ln.glyph + 1
    )


def _candidate_lines(image: np.ndarray, config: FinderConfig) -> tuple[list[_Line], list[_Line]]:
    """Lines from every detector, best first, without duplicates (same text, several masks);
    and every piece (lines and fragments, duplicates included) for growing regions."""
    lines: list[_Line] = []
    pieces: list[_Line] = []
    for labels, stats, kept, kind, polarity in _candidate_masks(image, config):
        for ln in _group_lines(labels, stats, kept, config):
            ln.sensitive = bool(kind)
            if not ln.worth:
                if not ln.sensitive or config.sensitive_grow:
                    pieces.append(ln)
                continue
            if config.polarity and not _polarity_ok(image, ln, polarity, config):
                ln.score *= config.polarity_penalty
            if not ln.sensitive and _contrast_ok(image, ln, config):
                lines.append(ln)
                pieces.append(ln)
            elif ln.sensitive or (kind is None and config.sensitive):
                ln.sensitive = True
                _, _, diff = _levels(image, ln, config)
                exact = kind is None and ln.aligned
                snr = 0.0 if exact else config.sensitive_snr_read
                many = exact and ln.n >= config.plateau_faint_glyphs
                least = config.plateau_faint_contrast if many else config.sensitive_contrast / 2
                if diff >= least and diff >= snr * ln.noise:
                    ln.exact = many
                    ln.score *= 0.5
                    lines.append(ln)
                    if config.sensitive_grow:
                        pieces.append(ln)
                elif config.grow_same_line and ln.aligned:
                    pieces.append(ln)  # may still extend the line it holds (_same_ink)
    lines.sort(key=lambda ln: (-ln.score, ln.y, ln.x, ln.w, ln.h))
    return _without_duplicates(lines)[: config.max_tiles], pieces


def _without_duplicates(lines: Sequence[_Line]) -> list[_Line]:
    """Lines, best first, without those lying half or more inside a better one (the same text
    from another mask, or a fragment of it)."""
    kept = np.zeros((len(lines), 4), np.int64)  # x0, y0, x1, y1 of the lines kept
    best: list[_Line] = []
    for ln in lines:
        if best:
            k = kept[: len(best)]
            w = np.minimum(ln.x + ln.w, k[:, 2]) - np.maximum(ln.x, k[:, 0])
            h = np.minimum(ln.y + ln.h, k[:, 3]) - np.maximum(ln.y, k[:, 1])
            inside = np.maximum(w, 0) * np.maximum(h, 0) / max(ln.w * ln.h, 1)
            if inside.max() >= 0.5:
                continue
        kept[len(best)] = (ln.x, ln.y, ln.x + ln.w, ln.y + ln.h)
        best.append(ln)
    return best


def _grow(
    box: tuple[int, int, int, int],
    ln: _Line,
    pieces: Sequence[_Line],
    image: np.ndarray,
    config: FinderConfig,
) -> tuple[int, int, int, int]:
    """Extend a text box (x0, y0, x1, y1) along its baseline to the glyph pieces beside it.

    A line is often found in parts: a word over brighter anatomy, a lone slash, a comma or an
    initial ("Dr.") is missed by the detector that found the rest, or falls apart into pieces
    too short to read. Any detector's piece that lies in the box's band, is no taller than its
    glyphs, is drawn like the line (polarity, ink level) and is within ``grow_gap`` glyph heights
    is added, until nothing more is or the box has grown ``grow_max`` glyph heights on a side.
    """
    if not config.grow or not pieces:
        return box
    glyph = ln.glyph
    x0, y0, x1, y1 = box
    left_lim, right_lim = x0 - config.grow_max * glyph, x1 + config.grow_max * glyph
    band_h = y1 - y0
    top_lim, bot_lim = y0 - 0.3 * band_h - 1, y1 + 0.3 * band_h + 1
    px = np.array([p.x for p in pieces])
    py = np.array([p.y for p in pieces])
    pw = np.array([p.w for p in pieces])
    ph = np.array([p.h for p in pieces])
    pg = np.array([p.glyph for p in pieces])
    # Pieces of the sensitive pass lie within the band and are glyphs, not punctuation.
    weak = np.array([p.sensitive for p in pieces])
    y0_0, y1_0 = y0, y1
    done = np.zeros(len(pieces), bool)
    gap_px = config.grow_gap * max(glyph, 3.0)
    for _ in range(32):
        ov = np.minimum(y1, py + ph) - np.maximum(y0, py)
        gap = np.maximum(np.maximum(px - x1, x0 - (px + pw)), 0)
        near = (
            ~done
            & (ov >= 0.5 * np.minimum(band_h, ph))
            & (py >= top_lim)
            & (py + ph <= bot_lim)
            & (pg <= 1.4 * glyph + 1)
            & (ph <= 1.4 * band_h + 2)
            & ((pg >= 0.6 * glyph) | (gap <= 0.6 * glyph))  # punctuation only close by
            & (gap <= gap_px)
            & ((px < x0) | (px + pw > x1))
            & (px >= left_lim)
            & (px + pw <= right_lim)
            & (
                ~weak
                | (
                    (py >= y0_0 - 1)
                    & (py + ph <= y1_0 + 1)
                    & (pg >= 0.6 * glyph)
                    & (ph >= 0.6 * band_h)
                )
            )
        )
        grown = False
        for j in np.flatnonzero(near):
            done[j] = True
            if not _same_ink(image, ln, pieces[j], config):
                continue
            x0, x1 = min(x0, int(px[j])), max(x1, int(px[j] + pw[j]))
            y0, y1 = min(y0, int(py[j])), max(y1, int(py[j] + ph[j]))
            grown = True
        if not grown:
            break
    if config.grow_plateau:
        x0, x1 = _grow_plateau((x0, y0, x1, y1), ln, image, config)
    return x0, y0, x1, y1


def _grow_plateau(
    box: tuple[int, int, int, int], ln: _Line, image: np.ndarray, config: FinderConfig
) -> tuple[int, int]:
    """Extend a box along its band with a second binarisation at the line's exact ink level.

    Overlays are drawn at one exact value. Where a word of the line lies over anatomy of the
    same brightness, no detector sees it, but its pixels still hold that exact value: glyph-sized
    components of that value in the band, not crossing it (an isophote of smooth anatomy does),
    within ``grow_gap`` glyph heights, extend the box.
    """
    x0, y0, x1, y1 = box
    grey = _grey(image)
    ink_px = grey[ln.y : ln.y + ln.h, ln.x : ln.x + ln.w][ln.ink_mask()]
    if ink_px.size < 8:
        return x0, x1
    counts = np.bincount(ink_px, minlength=256)
    level = int(np.argmax(counts))
    if counts[level] < 0.3 * ink_px.size:
        return x0, x1  # no exact ink level: not a plateau overlay
    glyph = max(ln.glyph, 3.0)
    hgt, wid = grey.shape
    reach = int(config.grow_plateau_max * glyph)
    m = int(np.ceil(0.5 * glyph))
    wx0, wx1 = max(0, x0 - reach), min(wid, x1 + reach)
    wy0, wy1 = max(0, y0 - m), min(hgt, y1 + m)
    mask = (grey[wy0:wy1, wx0:wx1] == level).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return x0, x1
    cx, cy, cw, ch = stats[1:, 0], stats[1:, 1], stats[1:, 2], stats[1:, 3]
    band_top, band_bot = y0 - wy0, y1 - wy0
    ok = (
        (ch >= config.grow_plateau_min_h * glyph)
        & (ch <= 1.2 * (y1 - y0) + 2)
        & (cw <= 2 * glyph + 2)
        & (cy > 0)
        & (cy + ch < wy1 - wy0)
        & (np.minimum(cy + ch, band_bot) - np.maximum(cy, band_top) >= 0.6 * ch)
    )
    lefts, rights = cx[ok] + wx0, cx[ok] + cw[ok] + wx0
    gap = config.grow_gap * glyph
    changed = True
    while changed:
        changed = False
        right = (lefts > x1 - 1) & (lefts - x1 <= gap) & (rights > x1)
        if right.any():
            x1, changed = int(rights[right].max()), True
        left = (rights < x0 + 1) & (x0 - rights <= gap) & (lefts < x0)
        if left.any():
            x0, changed = int(lefts[left].min()), True
    return x0, x1


# --------------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class _Tile:
    line: int  # index into lines, -1 for the whole frame
    kind: str  # "binarised", "plain", "frame"
    x0: int  # crop origin in the frame
    y0: int
    scale: float
    top: int  # position in the mosaic
    left: int
    h: int
    w: int


def _dark_on_light(grey_crop: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Contrast-stretch a crop between its background and ink levels, ink dark."""
    crop = grey_crop.astype(np.float32)
    if ink.any() and (~ink).any():
        ink_level = float(np.median(crop[ink]))
        bg_level = float(np.median(crop[~ink]))
    else:
        ink_level, bg_level = float(crop.max()), float(crop.min())
    if abs(ink_level - bg_level) < 1:
        bg_level = ink_level - 1
    out = (crop - ink_level) / (bg_level - ink_level) * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


def _best_plane(image: np.ndarray, sl: tuple[slice, slice], ink: np.ndarray) -> np.ndarray:
    """The plane (grey or one channel) where the ink stands out most from its background."""
    grey = _grey(image)[sl]
    if image.ndim == 2 or not ink.any() or ink.all():
        return grey
    best, best_c = grey, -1.0
    for plane in [grey] + [image[:, :, c][sl] for c in range(3)]:
        c = abs(float(plane[ink].mean()) - float(plane[~ink].mean()))
        if c > best_c:
            best, best_c = plane, c
    return best


def _render_tiles(
    image: np.ndarray, lines: Sequence[_Line], config: FinderConfig
) -> tuple[np.ndarray, list[_Tile]]:
    """Stack every line (binarised and plain) and the whole frame into one mosaic image.

    One tile per row, with white gaps: side by side, ``--psm 11`` reads tiles of different
    heights as one text line and loses confidence.
    """
    hgt, wid = image.shape[:2]
    pieces: list[tuple[np.ndarray, _Tile]] = []
    for i, ln in enumerate(lines):
        g = max(ln.glyph, 1.0)
        scale = (
            float(np.clip(config.target_glyph_px / g, 1.0, config.max_scale))
            if config.glyph_scaling
            else 2.0
        )
        m = int(max(3, round(0.5 * g)))
        x0, y0 = max(0, ln.x - m), max(0, ln.y - m)
        x1, y1 = min(wid, ln.x + ln.w + m), min(hgt, ln.y + ln.h + m)
        sl = (slice(y0, y1), slice(x0, x1))
        ink = np.zeros((y1 - y0, x1 - x0), bool)
        ink[ln.y - y0 : ln.y - y0 + ln.h, ln.x - x0 : ln.x - x0 + ln.w] = ln.ink_mask()
        size = (round((x1 - x0) * scale), round((y1 - y0) * scale))
        plain = _dark_on_light(_best_plane(image, sl, ink), ink)
        if config.binarised_tiles:
            # Pixels nearer the ink level than the background, near this line's glyphs only:
            # the plateau binarisation, without the halo that the detection masks carry.
            near = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            binar = np.where(near & (plain < 128), 0, 255).astype(np.uint8)
            binar = cv2.resize(binar, size, interpolation=cv2.INTER_LINEAR)
            binar = np.where(binar < 128, 0, 255).astype(np.uint8)
            pieces.append((binar, _Tile(i, "binarised", x0, y0, scale, 0, 0, 0, 0)))
        if config.plain_tiles:
            plain = cv2.resize(plain, size, interpolation=cv2.INTER_CUBIC)
            pieces.append((plain, _Tile(i, "plain", x0, y0, scale, 0, 0, 0, 0)))
    if config.whole_frame_pass:
        grey = _grey(image)
        frame = 255 - grey if float(grey.mean()) < 128 else grey.copy()
        pieces.append((frame, _Tile(-1, "frame", 0, 0, 1.0, 0, 0, 0, 0)))
    if not pieces:
        return np.zeros((0, 0), np.uint8), []
    gap = 20
    width = max(p.shape[1] for p, _ in pieces) + 2 * gap
    height = sum(p.shape[0] + gap for p, _ in pieces) + gap
    mosaic = np.full((height, width), 255, np.uint8)
    tiles: list[_Tile] = []
    top = gap
    for img, t in pieces:
        h, w = img.shape
        mosaic[top : top + h, gap : gap + w] = img
        tiles.append(_Tile(t.line, t.kind, t.x0, t.y0, t.scale, top, gap, h, w))
        top += h + gap
    return mosaic, tiles


# --------------------------------------------------------------------------- decision


def _tile_of(word: _Word, tiles: Sequence[_Tile]) -> _Tile | None:
    cx, cy = word.x + word.w / 2, word.y + word.h / 2
    for t in tiles:
        if t.left <= cx < t.left + t.w and t.top <= cy < t.top + t.h:
            return t
    return None


def _to_frame(word: _Word, t: _Tile) -> tuple[int, int, int, int]:
    x0 = t.x0 + (max(word.x, t.left) - t.left) / t.scale
    y0 = t.y0 + (max(word.y, t.top) - t.top) / t.scale
    x1 = t.x0 + (min(word.x + word.w, t.left + t.w) - t.left) / t.scale
    y1 = t.y0 + (min(word.y + word.h, t.top + t.h) - t.top) / t.scale
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


def _tiny_text(ln: _Line) -> bool:
    """A band of dots too small to read: glyphs of a few pixels merged into one flat blob."""
    return _tiny_shape(ln.glyph, ln.w, ln.h)


def _merged_word(ln: _Line, config: FinderConfig) -> bool:
    """Small anti-aliased glyphs merged into one or two wide components: a word too small to
    read (OCR reads nothing in it), told from a streak of anatomy by a clean background."""
    return (
        config.merged_unreadable
        and not ln.sensitive
        and ln.n <= 2
        and ln.h <= config.merged_max_h - 2
        and ln.w >= 4 * ln.h
    )


def _unreadable_text(ln: _Line, image: np.ndarray, config: FinderConfig) -> bool:
    """Whether a line OCR could not read looks enough like text to be reported anyway.

    Aligned glyphs, a tiny band of dots or a merged small word; from the sensitive pass only
    when standing out from the band's noise; no taller than OCR reads (else anatomy); and, for
    small glyphs, standing out from the texture around (ultrasound speckle makes rows of dots),
    unless drawn in colour over grey: speckle has no colour.
    """
    merged = _merged_word(ln, config)
    if not (ln.aligned or (_tiny_text(ln) and not ln.sensitive) or merged):
        return False
    diff = _levels(image, ln, config)[2]
    if ln.sensitive and not ln.exact and diff < config.sensitive_snr * ln.noise:
        return False
    if ln.glyph > config.unreadable_max_glyph:
        return False
    if ln.glyph > config.unreadable_snr_glyph and not merged:
        return _stroke_ratio(ln) <= config.unreadable_max_stroke
    snr = config.merged_snr if merged else config.unreadable_snr
    return diff >= snr * ln.noise or (
        config.colour_on_grey and ln.aligned and _colour_on_grey(image, ln, config)
    )


def _stroke_ratio(ln: _Line) -> float:
    """Median over a line's full-height glyphs of stroke width / glyph height.

    Letters are drawn with strokes (a tenth to a half of their height, bold small text
    included); blobs of speckle are as thick as they are tall. The stroke width is twice the
    largest distance from a glyph's pixel to its outside.
    """
    ink = ln.ink_mask().astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    inside = cv2.distanceTransform(np.pad(ink, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    ratios = [
        2.0 * float(inside[labels == i].max()) / stats[i, 3]
        for i in range(1, n)
        if stats[i, 3] >= 0.6 * ln.glyph
    ]
    return _median(np.array(ratios)) if ratios else 0.0


def _colour_on_grey(image: np.ndarray, ln: _Line, config: FinderConfig) -> bool:
    """Coloured ink (chroma of ``chroma_min`` or more) over a grey band around the line."""
    if image.ndim != 3:
        return False
    hgt, wid = image.shape[:2]
    m = int(max(2, round(0.4 * ln.glyph)))
    x0, y0 = max(0, ln.x - m), max(0, ln.y - m)
    x1, y1 = min(wid, ln.x + ln.w + m), min(hgt, ln.y + ln.h + m)
    outer = image[y0:y1, x0:x1]
    chroma = outer.max(axis=2).astype(np.int16) - outer.min(axis=2)
    band = np.ones(chroma.shape, bool)
    band[ln.y - y0 : ln.y - y0 + ln.h, ln.x - x0 : ln.x - x0 + ln.w] = False
    ink = chroma[ln.y - y0 : ln.y - y0 + ln.h, ln.x - x0 : ln.x - x0 + ln.w][ln.ink_mask()]
    return bool(
        band.any()
        and float(np.median(ink)) >= config.chroma_min
        and float(np.percentile(chroma[band], 90)) < config.chroma_min / 2
    )


def _ink_box(
    ln: _Line,
    words: Sequence[tuple[int, int, int, int]],
    *,
    whole: bool,
    rows: bool = False,
    trim_rows: float = 0.0,
) -> tuple[int, int, int, int]:
    """Tight box (x0, y0, x1, y1) of the line's ink that OCR read as words.

    OCR word boxes are loose or shifted after scaling; the ink is exact. A line that looks like
    text throughout (aligned glyphs) is kept whole, so a misread character is redacted too.
    """
    sel = ln.ink_mask()
    if words and trim_rows > 0:
        # Not with anatomy that joined its glyphs above or below (a Doppler flame, a skull's
        # edge): when the ink runs much taller than the words read, keep the rows of the
        # words, with a margin for accents and descenders.
        top, bottom = min(b[1] for b in words), max(b[3] for b in words)
        if sel.shape[0] > trim_rows * (bottom - top) + 2:
            m = int(np.ceil(0.15 * (bottom - top))) + 1
            band = np.zeros_like(sel)
            band[max(0, top - ln.y - m) : max(0, bottom - ln.y + m)] = True
            if (sel & band).any():
                sel = sel & band
    if not whole and words:
        keep = np.zeros_like(sel)
        m = int(np.ceil(0.5 * ln.glyph))
        for x0, y0, x1, y1 in words:
            r0, r1 = (max(0, y0 - ln.y - 1), max(0, y1 - ln.y + 1)) if rows else (0, ln.h)
            keep[r0:r1, max(0, x0 - ln.x - m) : max(0, x1 - ln.x + m)] = True
        if (sel & keep).any():
            sel = sel & keep
    ys, xs = np.nonzero(sel)
    return (
        ln.x + int(xs.min()),
        ln.y + int(ys.min()),
        ln.x + int(xs.max()) + 1,
        ln.y + int(ys.max()) + 1,
    )


def _ink_plane(
    image: np.ndarray, ln: _Line, config: FinderConfig
) -> tuple[np.ndarray, float, float]:
    """The plane a line's ink shows on (grey, or for coloured ink of the background's luminance
    the channel where it differs most), with the ink's and the background's levels there."""
    ink_level, around, _ = _levels(image, ln, config)
    plane = _grey(image)
    if image.ndim == 3 and abs(ink_level - around) < config.stroke_contrast / 2:
        # Coloured ink of the background's luminance: the channel where it shows.
        sl = (slice(ln.y, ln.y + ln.h), slice(ln.x, ln.x + ln.w))
        ink = ln.ink_mask()
        best = -1.0
        for c in range(3):
            ch = image[:, :, c]
            i_c, b_c = (
                float(np.median(ch[sl][ink])),
                float(np.median(ch[sl][~ink] if (~ink).any() else ch[sl])),
            )
            if abs(i_c - b_c) > best:
                best, plane, ink_level, around = abs(i_c - b_c), ch, i_c, b_c
    return plane, ink_level, around


def _snap(
    box: tuple[int, int, int, int],
    ln: _Line,
    image: np.ndarray,
    config: FinderConfig,
    reach: tuple[int, int, int, int] | None = None,
) -> tuple[int, int, int, int]:
    """Snap a box (x0, y0, x1, y1) to the ink, anti-aliased fringe included.

    Detection masks keep a glyph's core; its anti-aliased edge (and a stroke a mask cut) lies
    a pixel or two beyond. Each side moves out while its next row or column holds ink pixels
    (nearer the ink than a fifth of the way from the background) that touch ink inside the box,
    at most ``snap_px`` pixels (or ``reach``: left, top, right, bottom); this replaces blind
    padding on every side.
    """
    reach = reach or (config.snap_px,) * 4
    if max(reach) <= 0:
        return box
    hgt, wid = image.shape[:2]
    plane, ink_level, around = _ink_plane(image, ln, config)
    x0, y0, x1, y1 = box
    rl, rt, rr, rb = reach
    wx0, wy0, wx1, wy1 = max(0, x0 - rl), max(0, y0 - rt), min(wid, x1 + rr), min(hgt, y1 + rb)
    win = plane[wy0:wy1, wx0:wx1].astype(np.float32)
    contrast = ink_level - around
    inky = (win - around) * np.sign(contrast) >= max(config.snap_level * abs(contrast), 6.0)
    # In window coordinates.
    bx0, by0, bx1, by1 = x0 - wx0, y0 - wy0, x1 - wx0, y1 - wy0
    for _ in range(max(reach)):
        if by0 > 0 and (inky[by0 - 1, bx0:bx1] & inky[by0, bx0:bx1]).any():
            by0 -= 1
        if by1 < inky.shape[0] and (inky[by1, bx0:bx1] & inky[by1 - 1, bx0:bx1]).any():
            by1 += 1
        if bx0 > 0 and (inky[by0:by1, bx0 - 1] & inky[by0:by1, bx0]).any():
            bx0 -= 1
        if bx1 < inky.shape[1] and (inky[by0:by1, bx1] & inky[by0:by1, bx1 - 1]).any():
            bx1 += 1
    return bx0 + wx0, by0 + wy0, bx1 + wx0, by1 + wy0


def _ink_class(crop: np.ndarray, high: np.ndarray, around: np.ndarray) -> np.ndarray:
    """Which of a box's two Otsu classes (``high`` and its complement) is the ink.

    Overlay text is drawn at one exact value; anatomy has none: a class of which one value makes
    up 30% (an exact plateau) when the other has none is the ink; when both have one (text on a
    flat band), the class that does not hold most of the ring around the box. Otherwise the
    smaller class (ink covers less than the background, except in bold text boxed tightly).
    """
    spikes = []
    for cls in (high, ~high):
        values = crop[cls]
        spikes.append(np.bincount(values, minlength=256).max() / values.size >= 0.3)
    if spikes[0] != spikes[1]:
        return high if spikes[0] else ~high
    if spikes[0] and around.size:
        # Both drawn at one value (text over a flat band): the background is the class of most
        # of the pixels just around the box (``around``: True where on the high side).
        return ~high if around.mean() > 0.5 else high
    return high if high.mean() <= 0.5 else ~high


def _snap_alone(
    box: tuple[int, int, int, int], image: np.ndarray, config: FinderConfig
) -> tuple[int, int, int, int]:
    """A box only the learned detector saw, snapped out to its ink like a line's (:func:`_snap`).

    Its margin was cut (``detector_unclip``) and no glyph component marks the ink: the ink is
    an Otsu class of the box on the plane (grey or a channel) that splits it best (see
    :func:`_ink_class`), and the box moves out while that ink continues, by up to
    ``detector_alone_pad`` of its height; then along its exact ink level (:func:`_grow_plateau`).
    """
    x0, y0, x1, y1 = box
    sl = (slice(y0, y1), slice(x0, x1))
    best, ink = -1.0, None
    planes = [_grey(image)] + ([image[:, :, c] for c in range(3)] if image.ndim == 3 else [])
    hgt, wid = image.shape[:2]
    m = max(2, (y1 - y0) // 3)  # the ring just around the box (the detector cuts glyph tops)
    ring = np.ones((min(hgt, y1 + m) - max(0, y0 - m), min(wid, x1 + m) - max(0, x0 - m)), bool)
    ring[y0 - max(0, y0 - m) : y1 - max(0, y0 - m), x0 - max(0, x0 - m) : x1 - max(0, x0 - m)] = (
        False
    )
    for plane in planes:
        crop = np.ascontiguousarray(plane[sl])
        level, split = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        high = split.astype(bool)
        if high.all() or not high.any():
            continue
        low_mean, high_mean = float(crop[~high].mean()), float(crop[high].mean())
        share = float(high.mean())
        separation = share * (1 - share) * (high_mean - low_mean) ** 2
        if separation > best:
            outside = plane[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m][ring] > level
            best, ink = separation, _ink_class(crop, high, outside)
    if ink is None:
        return box
    ln = _Line(x0, y0, x1 - x0, y1 - y0, float(y1 - y0), int(ink.sum()), False, ink, 0.0)
    steps = max(1, int(np.ceil(config.detector_alone_pad * (y1 - y0))))
    x0, y0, x1, y1 = _snap(box, ln, image, replace(config, snap_px=steps))
    if config.grow_plateau and config.detector_alone_grow:
        x0, x1 = _grow_plateau((x0, y0, x1, y1), ln, image, config)
    return x0, y0, x1, y1


def _detection(image: np.ndarray, config: FinderConfig) -> detector.Detection | None:
    """The learned text detector's pass (:func:`medanon.text.detector.detect`), or None when it
    is off or missing (``detector="required"``: missing raises :class:`OCRUnavailable`)."""
    if config.detector == "off":
        return None
    reason = detector.unavailable_reason()
    if reason is not None:
        if config.detector == "required":
            raise OCRUnavailable(f"text detector unavailable: {reason}")
        return None
    return detector.detect(image, unclip=config.detector_unclip)


def _extend_along(
    box: tuple[int, int, int, int], boxes: Sequence[TextBox], config: FinderConfig
) -> tuple[int, int, int, int]:
    """A line's box (x0, y0, x1, y1) extended sideways over the detector's boxes of that line.

    A detector box belongs to the line when it shares at least half the rows of the smaller of
    the two, is not much taller (``detector_max_height``) and touches the box or lies within
    half a line height of it. Only the columns grow: the detector's boxes carry a margin, the
    line's rows are known from its ink.
    """
    x0, y0, x1, y1 = box
    h = y1 - y0
    changed = True
    while changed:
        changed = False
        for b in boxes:
            if b.score < config.detector_score:
                continue
            dx0, dy0, dx1, dy1 = b.x0, b.y0, b.x1, b.y1
            dh = dy1 - dy0
            if min(y1, dy1) - max(y0, dy0) < 0.5 * min(h, dh):
                continue
            if dh > config.detector_max_height * h + 4:
                continue
            if dx1 < x0 - 0.5 * h or dx0 > x1 + 0.5 * h:
                continue
            if dx0 < x0 or dx1 > x1:
                x0, x1 = min(x0, dx0), max(x1, dx1)
                changed = True
    return x0, y0, x1, y1


# Characters that reach below the baseline / above the capitals in common fonts, and how far, in
# capital heights (Hershey and common sans fonts: descenders 0.25-0.3, slashes and brackets
# 0.1-0.15 on both sides).
_BELOW = {**dict.fromkeys("gjpqy", 0.3), **dict.fromkeys(",;/()[]{}|", 0.15)}
_ABOVE = dict.fromkeys("/()[]{}|", 0.15)


def _typographic_extent(
    box: tuple[int, int, int, int],
    ln: _Line,
    words: Sequence[str],
    image: np.ndarray,
    config: FinderConfig,
) -> tuple[int, int, int, int]:
    """A read line's box (x0, y0, x1, y1) grown to the rows its characters reach.

    The box holds the ink the masks found; a descender or a slash's tip that touched anatomy of
    the ink's brightness was cut with it ("Olga" without the tail of its g, a date's slashes
    without their tips). What OCR read says which characters are there: their extent beyond
    the capitals' rows is known from typography, not from the ink.
    """
    if not config.typographic_extent:
        return box
    chars = "".join(words)
    below = max((_BELOW.get(c, 0.0) for c in chars), default=0.0)
    above = max((_ABOVE.get(c, 0.0) for c in chars), default=0.0)
    if not below and not above:
        return box
    x0, y0, x1, y1 = box
    h = y1 - y0
    plane, ink_level, around = _ink_plane(image, ln, config)
    contrast = ink_level - around
    if abs(contrast) < 8 or h < 4:
        return box
    hgt = plane.shape[0]
    wy0, wy1 = max(0, y0 - 1), min(hgt, y1 + 1)
    inky = (plane[wy0:wy1, x0:x1].astype(np.float32) - around) * np.sign(
        contrast
    ) >= config.tail_level * abs(contrast)
    rows = inky[y0 - wy0 : y1 - wy0]
    # A box that ends on a dense row (the capitals' tops, the baseline) with ink going on past
    # it was cut there (by anatomy of the ink's brightness); one that ends on a sparse row
    # already holds the tails, one with nothing beyond (text on a plain band) is whole.
    density = rows.mean(axis=1)
    dense = config.tail_cut * float(np.median(density))
    if density[0] < dense or wy0 == y0 or not (inky[0] & rows[0]).any():
        above = 0.0
    if density[-1] < dense or wy1 == y1 or not (inky[-1] & rows[-1]).any():
        below = 0.0
    # Cut there: the tails lie beyond, over whatever hid them (anatomy of the ink's brightness,
    # a Doppler flame of its colour), as far as those characters reach.
    bottom = min(hgt, y1 + int(np.ceil(below * h)))
    return x0, max(0, y0 - int(np.ceil(above * h))), x1, bottom


_UNREAD = ("unreadable", "detector")


def _bridged(regions: list[TextRegion], config: FinderConfig) -> list[TextRegion]:
    """Unread regions stretched sideways over the gap to a region on the same rows.

    A line over anatomy is often reported in pieces (a read start, an unread end seen by the
    detector) with a word between them that neither saw ("ST MARY GEN" ... "AL HOSP"). Two
    regions of one line (rows shared for most of the smaller height, heights within 1.6x) at
    most ``bridge_gap`` heights apart are one line: the unread one takes the gap. Read regions
    are not stretched: their text is what phi mode judges, and a gap is not read.
    """
    out = list(regions)
    for i, r in enumerate(out):
        if r.source not in _UNREAD:
            continue
        x0, x1 = r.x, r.x + r.w
        for o in regions:
            if o is regions[i]:
                continue
            rows = min(r.y + r.h, o.y + o.h) - max(r.y, o.y)
            small, large = sorted((r.h, o.h))
            if rows < 0.6 * small or large > 1.6 * small:
                continue
            limit = config.bridge_gap * small
            if 0 < o.x - (r.x + r.w) <= limit:
                x1 = max(x1, o.x)
            elif 0 < r.x - (o.x + o.w) <= limit:
                x0 = min(x0, o.x + o.w)
        if (x0, x1) != (r.x, r.x + r.w):
            out[i] = replace(r, x=x0, w=x1 - x0)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Starts and ends (exclusive) of the runs of True in a 1-D bool array."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _detector_alone(
    boxes: Sequence[TextBox], image: np.ndarray, taken: np.ndarray, config: FinderConfig
) -> list[TextRegion]:
    """Regions of the detector's surest line-shaped boxes that nothing reported yet (``taken``,
    updated), snapped to their ink (:func:`_snap_alone`) and reported unread."""
    regions: list[TextRegion] = []
    for b in boxes:
        w, h = b.x1 - b.x0, b.y1 - b.y0
        # Text that tall is read by OCR when it is text (unreadable_max_glyph).
        if b.score < config.detector_alone or w < 2 * h or h > config.unreadable_max_glyph:
            continue
        # Only the parts nothing reported yet: every run of its columns free of regions along
        # its middle rows at least a line height wide (it may finish a line reported in part,
        # or hold words on both sides of one read).
        mid = taken[b.y0 + h // 4 : b.y1 - h // 4 or None, b.x0 : b.x1].any(axis=0)
        found = []
        for start, end in _runs(~mid):
            if end - start >= h:
                x0, y0, x1, y1 = _snap_alone((b.x0 + start, b.y0, b.x0 + end, b.y1), image, config)
                found.append(TextRegion(x0, y0, x1 - x0, y1 - y0, "", 0.0, "detector"))
        for r in found:
            taken[r.y : r.y + r.h, r.x : r.x + r.w] = True
        regions += found
    return regions


def _rows_of_detected_line(
    box: tuple[int, int, int, int], boxes: Sequence[TextBox], config: FinderConfig
) -> tuple[int, int, int, int]:
    """A read line's box (x0, y0, x1, y1) cut to the rows the detector gives its line, with a
    margin of ``detector_row_margin`` of their height, on a side where the box runs past them
    further than accents (``detector_row_excess_above``) or descenders
    (``detector_row_excess``) do.

    Anatomy as bright as the ink and touching it (a skull's arc over a white name) joins the
    glyphs' components and OCR's word boxes alike; the detector, trained on text, boxes the
    line's own rows. Only detector boxes spanning most of the line's columns count, and the box
    is only ever cut, never grown (rows it lacks are :func:`_typographic_extent`'s business).
    """
    if config.detector_row_margin <= 0:
        return box
    x0, y0, x1, y1 = box
    top, bottom, span = y1, y0, 0
    for b in boxes:
        cols = min(x1, b.x1) - max(x0, b.x0)
        rows = min(y1, b.y1) - max(y0, b.y0)
        if b.score < config.detector_score or cols <= 0 or rows < 0.5 * (b.y1 - b.y0):
            continue
        span += cols
        top, bottom = min(top, b.y0), max(bottom, b.y1)
    if span < 0.8 * (x1 - x0) or bottom <= top:
        return box
    # Accents on capitals, descenders and slash tips reach past the detector's rows: a side is
    # cut only when the ink runs further (anatomy joined).
    h = bottom - top
    m = int(np.ceil(config.detector_row_margin * h))
    if top - y0 > config.detector_row_excess_above * h:
        y0 = top - m
    if y1 - bottom > config.detector_row_excess * h:
        y1 = bottom + m
    return x0, y0, x1, y1


def _padded(
    box: tuple[int, int, int, int], glyph: float, config: FinderConfig, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    px = int(np.ceil(config.pad_x * glyph)) + config.pad_px
    py = int(np.ceil(config.pad_y * glyph)) + config.pad_px
    x0, y0 = max(0, x0 - px), max(0, y0 - py)
    x1, y1 = min(shape[1], x1 + px), min(shape[0], y1 + py)
    return x0, y0, x1 - x0, y1 - y0


def find_text(image: np.ndarray, *, config: FinderConfig | None = None) -> list[TextRegion]:
    """Regions of ``image`` (uint8, grey HxW or RGB HxWx3 display values) that hold text.

    Pass the *display* image: windowed, and inverted for MONOCHROME1, as a person would see it;
    text drawn outside the clinical window may be clipped by windowing, so callers should
    prefer the full range for overlays. Raises :class:`OCRUnavailable` without Tesseract.
    """
    config = config or FinderConfig()
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("find_text wants a uint8 grey (HxW) or RGB (HxWx3) image")
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if image.shape[2] == 1:
            image = image[:, :, 0]
        elif image.shape[2] != 3:
            raise ValueError("colour images must have 3 channels")
    image = np.ascontiguousarray(image)
    _check_available(config)
    _local.reading = (image, _grey(image)) if image.ndim == 3 else None
    try:
        return _find(image, config)
    finally:
        _local.reading = None


def _find(image: np.ndarray, config: FinderConfig) -> list[TextRegion]:
    """:func:`find_text` on a checked, contiguous image."""

    lines, pieces = _candidate_lines(image, config)
    mosaic, tiles = _render_tiles(image, lines, config)
    words = _ocr(mosaic, config) if tiles else []

    # Words per line (best-reading tile kind) and from the whole-frame pass.
    per_line: dict[int, dict[str, list[tuple[_Word, tuple[int, int, int, int]]]]] = {}
    frame_words: list[tuple[_Word, tuple[int, int, int, int]]] = []
    # Every word OCR saw on a line's tile, however unsure: the text of a line kept whole.
    heard: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for word in words:
        t = _tile_of(word, tiles)
        if t is None:
            continue
        if t.line < 0:
            if (
                _plausible(word, config.frame_min_confidence)
                and sum(c.isalnum() for c in word.text) >= 3
            ):
                frame_words.append((word, _to_frame(word, t)))
            continue
        if _plausible(word, config.min_confidence):
            per_line.setdefault(t.line, {}).setdefault(t.kind, []).append(
                (word, _to_frame(word, t))
            )
        heard.setdefault((t.line, t.kind), []).append((t.left + word.x, word.text))

    regions: list[TextRegion] = []
    taken = np.zeros(image.shape[:2], bool)
    # The learned detector's pass (none when off or missing): its boxes complete lines.
    detection = _detection(image, config)
    detected = detection.boxes if detection else []
    for i, ln in enumerate(lines):
        readings = per_line.get(i)
        chosen: list[tuple[_Word, tuple[int, int, int, int]]] = []
        kind = ""
        if readings:
            kind = max(
                sorted(readings),
                key=lambda k: sum(w.conf * len(w.text) for w, _ in readings[k]),
            )
            chosen = sorted(readings[kind], key=lambda wb: (wb[1][0], wb[1][1]))
        alnum = sum(c.isalnum() for w, _ in chosen for c in w.text)
        conf = float(np.mean([w.conf for w, _ in chosen])) if chosen else 0.0
        read = alnum >= config.min_read_chars and conf >= (
            config.line_min_confidence if alnum >= 3 else config.short_read_confidence
        )
        if read and alnum < 3 and config.short_reads_upper:
            # Initials are written in capitals; "af" or "ee" read in anatomy are not.
            read = not any(c.islower() for w, _ in chosen for c in w.text)
        if read:
            # A line of the sensitive pass may hold anatomy too: keep only the ink where OCR
            # read words (rows and columns).
            loose = ln.sensitive
            whole = ln.aligned and not loose
            box = _grow(
                _ink_box(
                    ln, [b for _, b in chosen], whole=whole, rows=loose, trim_rows=config.trim_rows
                ),
                ln,
                pieces,
                image,
                config,
            )
            box = _extend_along(box, detected, config)
            box = _rows_of_detected_line(box, detected, config)
            text = " ".join(w.text for w, _ in chosen)
            if whole and config.whole_line_text:
                # The whole line is filled: judge (phi mode) all OCR saw of it, the unsure
                # words too ("fé/UOWN TIME MARY": the name is in the unsure part).
                text = " ".join(t for _, t in sorted(heard.get((i, kind), [])))
            box = _snap(box, ln, image, config)
            box = _typographic_extent(box, ln, [w.text for w, _ in chosen], image, config)
            region = TextRegion(*_padded(box, ln.glyph, config, image.shape), text, conf, "lines")
        elif config.report_unreadable and _unreadable_text(ln, image, config):
            box = _grow((ln.x, ln.y, ln.x + ln.w, ln.y + ln.h), ln, pieces, image, config)
            box = _extend_along(box, detected, config)
            box = _snap(box, ln, image, config)
            region = TextRegion(*_padded(box, ln.glyph, config, image.shape), "", 0.0, "unreadable")
        else:
            continue
        regions.append(region)
        taken[region.y : region.y + region.h, region.x : region.x + region.w] = True

    for word, b in frame_words:
        x0, y0, x1, y1 = b
        if taken[y0:y1, x0:x1].mean() > 0.3:
            continue
        regions.append(
            TextRegion(*_padded(b, 0.0, config, image.shape), word.text, word.conf, "frame")
        )

    if config.detector_alone > 0:
        # Lines no detector of the finder saw (small coloured text over colour Doppler): the
        # learned detector's surest line-shaped boxes, reported unread; then those of its
        # closer look where it saw a little text nothing explains yet.
        regions += _detector_alone(detected, image, taken, config)
        if detection is not None and config.detector_zoom > 1:
            closer = detector.second_look(
                image,
                detection,
                taken,
                evidence=config.detector_evidence,
                zoom=config.detector_zoom,
                unclip=config.detector_unclip,
            )
            regions += _detector_alone(closer, image, taken, config)
    if config.bridge_gap > 0:
        regions = _bridged(regions, config)
    return sorted(regions, key=lambda r: (r.y, r.x, r.h, r.w, r.source, r.text))
