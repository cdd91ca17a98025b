"""Read words from an image with Tesseract (medanon.text's engine), for cue matching.

One ``image_to_data`` call (``--psm 11``, sparse text) reads a mosaic of four renderings of the
frame stacked vertically: the grey image, its inverse (light text on dark), and two binarised
local-contrast masks (text lighter, and darker, than its surroundings), which recover
low-contrast, coloured and semi-transparent overlays that the plain passes miss (for colour
images the contrast is the strongest over the grey and the three colour channels). The masks
keep only glyph-sized components: long structures (bones, lines) make Tesseract merge
everything near them into one unreadable block. Starting Tesseract costs
more than reading, so one call beats four.

Tesseract's sparse mode drops isolated single characters (panel labels ``A``/``B``, side markers
``L``/``R``). A second call (``--psm 7``, one line) reads them: isolated glyph-sized components
are cut out, scaled to one height and laid out on one line far apart, each read as its own word.

Every word keeps the rendering it came from and its stroke contrast in the frame, which the
watermark detector uses. Tesseract runs with ``OMP_THREAD_LIMIT=1``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from .model import Region

__all__ = ["OCRConfig", "Word", "is_available", "read_words"]


@dataclass(frozen=True)
class Word:
    """A word read by OCR (or given by the caller, then without a box)."""

    text: str
    region: Region | None
    conf: float
    source: str  # plain | inverse | light | dark | glyph | caller
    contrast: float = 255.0  # stroke contrast in grey levels (low for watermarks)


@dataclass(frozen=True)
class OCRConfig:
    lang: str = "eng"
    min_conf: float = 55.0
    glyph_min_conf: float = 70.0
    detail_sigma: float = 6.0  # px (working scale) of the local background estimate
    detail_threshold: float = 16.0  # grey levels above/below the local background
    max_side: int = 1100  # the frame is scaled down to this before OCR
    min_side: int = 420  # and small frames scaled up to this
    max_glyphs: int = 24
    timeout: float = 60.0


@functools.lru_cache(maxsize=1)
def is_available() -> bool:
    """Whether OCR can run (tesserocr in-process, or the Tesseract binary)."""
    from ..text import is_available as ocr_available

    return ocr_available()


def to_gray(image: np.ndarray) -> np.ndarray:
    """A uint8 grey view of a grey, BGR or BGRA image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def detail_maps(gray: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Local contrast above (light strokes) and below (dark strokes) the local background."""
    g = gray.astype(np.float32)
    bg = cv2.GaussianBlur(g, (0, 0), sigma)
    return np.maximum(g - bg, 0), np.maximum(bg - g, 0)


def _read(
    image: np.ndarray, psm: int, cfg: OCRConfig
) -> list[tuple[str, int, int, int, int, float]]:
    """Words of a grey image, through medanon's OCR engine (in-process tesserocr when
    installed, else the Tesseract binary)."""
    from ..text import ocr_words

    return ocr_words(image, psm=psm, lang=cfg.lang)


def glyph_only(mask: np.ndarray, max_height: int) -> np.ndarray:
    """Keep the glyph-sized components of a binary mask.

    Long or large structures (bones, ribs, separator lines, bars) make Tesseract's layout
    analysis merge everything around them into one unreadable block; text strokes are short.
    """
    n, lab, st, _c = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask
    w, h, area = st[:, 2], st[:, 3], st[:, 4]
    keep = (h <= max_height) & (w <= np.maximum(4 * h, 8)) & (area >= 3)
    keep[0] = False
    return keep[lab].astype(np.uint8)


def _glyph_candidates(masks: list[np.ndarray], cfg: OCRConfig) -> list[tuple[Region, np.ndarray]]:
    """Isolated, glyph-sized components of the binarised masks (panel labels, markers)."""
    h_img, w_img = masks[0].shape
    found: list[tuple[float, Region, np.ndarray]] = []
    for mask in masks:
        n, _lab, st, _c = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n <= 1:
            continue
        boxes = st[1:, :4].astype(np.int64)
        areas = st[1:, 4]
        big = areas >= 4
        for i in np.flatnonzero(big):
            x, y, w, h = (int(v) for v in boxes[i])
            if not (10 <= h <= max(12, 0.2 * h_img)) or not (0.2 <= w / h <= 1.3):
                continue
            fill = areas[i] / float(w * h)
            if not (0.15 <= fill <= 0.9):
                continue
            # Isolated: no other glyph-like component on the same line nearby (not part of a
            # word); large structures around it (anatomy, lines) do not count.
            others = boxes[big]
            oh, ow = others[:, 3], others[:, 2]
            ox0, oy0 = others[:, 0], others[:, 1]
            ox1 = ox0 + ow
            same_size = (oh >= 0.6 * h) & (oh <= 1.4 * h) & (ow <= 1.5 * h)
            same_line = np.abs((oy0 + oh / 2) - (y + h / 2)) <= 0.3 * h
            close = (ox0 < x + w + 0.7 * h) & (ox1 > x - 0.7 * h)
            overl = same_size & same_line & close
            if int(overl.sum()) > 1:
                continue
            edge = min(x, y, w_img - x - w, h_img - y - h) / max(1.0, min(w_img, h_img))
            crop = mask[y : y + h, x : x + w]
            found.append((edge, Region(x, y, w, h), crop))
    found.sort(key=lambda t: t[0])
    out: list[tuple[Region, np.ndarray]] = []
    for _e, reg, crop in found:
        clash = [n for n, (r, _c) in enumerate(out) if _iou(reg, r) > 0.3]
        if clash:
            # The glyph and its halo in the other polarity: keep the smaller (the strokes).
            n = clash[0]
            if reg.w * reg.h < out[n][0].w * out[n][0].h:
                out[n] = (reg, crop)
            continue
        out.append((reg, crop))
    return out[: cfg.max_glyphs]


def _iou(a: Region, b: Region) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union else 0.0


def _read_glyphs(
    cands: list[tuple[Region, np.ndarray]], scale: float, cfg: OCRConfig
) -> list[Word]:
    if not cands:
        return []
    height, gap = 44, 150
    tiles = []
    for _reg, crop in cands:
        w = max(4, round(crop.shape[1] * height / crop.shape[0]))
        tile = cv2.resize((crop > 0).astype(np.uint8) * 255, (w, height), cv2.INTER_AREA)
        tiles.append(np.where(tile > 127, 0, 255).astype(np.uint8))
    width = gap + sum(t.shape[1] + gap for t in tiles)
    canvas = np.full((height + 2 * gap // 3, width), 255, np.uint8)
    starts = []
    x = gap
    for t in tiles:
        canvas[gap // 3 : gap // 3 + height, x : x + t.shape[1]] = t
        starts.append((x, x + t.shape[1]))
        x += t.shape[1] + gap
    found = _read(canvas, 7, cfg)
    words = []
    for text, left, _top, w, _h, conf in found:
        if conf < cfg.glyph_min_conf:
            continue
        mid = left + w / 2
        for (a, b), (reg, _c) in zip(starts, cands, strict=False):
            if a - gap / 2 <= mid <= b + gap / 2:
                words.append(Word(text, _scale_region(reg, scale), conf, "glyph"))
                break
    return words


def _scale_region(r: Region, scale: float) -> Region:
    if scale == 1.0:
        return r
    return Region(
        round(r.x / scale), round(r.y / scale), max(1, round(r.w / scale)), round(r.h / scale)
    )


def read_words(image: np.ndarray, cfg: OCRConfig | None = None) -> list[Word]:
    """Words read in ``image`` (grey or BGR uint8), boxes in its pixels. Deterministic."""
    cfg = cfg or OCRConfig()
    gray = to_gray(image)
    h0, w0 = gray.shape
    scale = 1.0
    if max(h0, w0) > cfg.max_side:
        scale = cfg.max_side / max(h0, w0)
    elif max(h0, w0) < cfg.min_side:
        scale = min(3.0, cfg.min_side / max(h0, w0))
    if scale != 1.0:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        size = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))  # a 2x20000 strip too
        gray = cv2.resize(gray, size, interpolation=interp)
    h, w = gray.shape
    if min(h, w) < 8:
        return []  # a strip too thin to hold a glyph
    max_glyph = max(24, int(0.15 * min(h, w)))
    light, dark = detail_maps(gray, cfg.detail_sigma)
    light_mask = glyph_only((light > cfg.detail_threshold).astype(np.uint8), max_glyph)
    dark_mask = glyph_only((dark > cfg.detail_threshold).astype(np.uint8), max_glyph)
    if image.ndim == 3:
        # Coloured text can have the grey level of its background (red on blue): take the
        # strongest contrast over the colour channels too.
        colour = image[..., :3]
        if scale != 1.0:
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            colour = cv2.resize(colour, (w, h), interpolation=interp)
        for c in range(3):
            lc, dc = detail_maps(colour[..., c], cfg.detail_sigma)
            light, dark = np.maximum(light, lc), np.maximum(dark, dc)
            # Filtered per channel: an edge seen in one channel must not swallow text
            # that another channel separates cleanly.
            lm = glyph_only((lc > cfg.detail_threshold).astype(np.uint8), max_glyph)
            dm = glyph_only((dc > cfg.detail_threshold).astype(np.uint8), max_glyph)
            light_mask, dark_mask = light_mask | lm, dark_mask | dm
    renders = {
        "plain": gray,
        "inverse": 255 - gray,
        "light": np.where(light_mask > 0, 0, 255).astype(np.uint8),
        "dark": np.where(dark_mask > 0, 0, 255).astype(np.uint8),
    }
    gap = 24
    names = list(renders)
    mosaic = np.full((len(names) * (h + gap) + gap, w + 2 * gap), 255, np.uint8)
    for k, name in enumerate(names):
        y = gap + k * (h + gap)
        mosaic[y : y + h, gap : gap + w] = renders[name]
    found = _read(mosaic, 11, cfg)
    contrast_map = np.maximum(light, dark)
    words: list[Word] = []
    for text, left, top, ww, hh, conf in found:
        if conf < cfg.min_conf:
            continue
        k = (top - gap + gap // 2) // (h + gap)
        if not 0 <= k < len(names):
            continue
        y = top - gap - k * (h + gap)
        x = left - gap
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(w, x + ww), min(h, y + hh)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = contrast_map[y0:y1, x0:x1]
        contrast = float(np.percentile(patch, 90)) if patch.size else 0.0
        region = _scale_region(Region(x0, y0, x1 - x0, y1 - y0), scale)
        words.append(Word(text, region, conf, names[k], contrast))
    glyph_masks = [
        (light > 2 * cfg.detail_threshold).astype(np.uint8),
        (dark > 2 * cfg.detail_threshold).astype(np.uint8),
    ]
    words.extend(_read_glyphs(_glyph_candidates(glyph_masks, cfg), scale, cfg))
    return words
