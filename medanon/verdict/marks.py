"""Graphic signals: QR codes and star ratings (P5, P7), logos and watermarks (P4), scale bars
(S2), side and view markers (S3), panel labels (S4) and the medical-imaging look (S5).

Text-based parts use the OCR words (see :mod:`.ocr`); everything else is plain OpenCV.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import cv2
import numpy as np

from .model import Region, Signal
from .ocr import Word, detail_maps, to_gray
from .textcues import contact_kind, key

__all__ = [
    "find_imaging_look",
    "find_logos",
    "find_markers",
    "find_qr_codes",
    "find_scale_bars",
    "find_star_ratings",
    "find_watermarks",
]


def _overlaps(r: Region, others: Sequence[Region]) -> bool:
    for o in others:
        if r.x < o.x + o.w and o.x < r.x + r.w and r.y < o.y + o.h and o.y < r.y + r.h:
            return True
    return False


# ------------------------------------------------------------------------------ P5: QR codes


def find_qr_codes(image: np.ndarray) -> list[Signal]:
    """Decodable QR codes: a link or contact, P5."""
    gray = to_gray(image)
    det = cv2.QRCodeDetector()
    try:
        ok, decoded, points, _ = det.detectAndDecodeMulti(gray)
    except cv2.error:
        ok, decoded, points = False, (), None
    if not ok or points is None:
        try:
            text, pts, _ = det.detectAndDecode(gray)
        except cv2.error:
            return []
        if pts is None:
            return []
        decoded, points = (text,), pts.reshape(1, -1, 2)
    out = []
    for text, pts in zip(decoded, points, strict=False):
        x, y, w, h = cv2.boundingRect(np.asarray(pts, np.float32))
        if w < 10 or h < 10 or not text:
            continue  # undecodable "codes" are mostly anatomy or texture
        shown = f"QR code, {contact_kind(text)}"  # its content can be anyone's contact
        out.append(Signal("P5", region=Region(x, y, w, h), text=shown, detail="QR code"))
    return out


# ------------------------------------------------------------------------------ P7: stars


def _star_masks(image: np.ndarray) -> list[np.ndarray]:
    gray = to_gray(image)
    light, dark = detail_maps(gray, 12.0)
    masks = [(light > 30).astype(np.uint8), (dark > 30).astype(np.uint8)]
    if image.ndim == 3:
        hsv = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2HSV)
        masks.append(((hsv[..., 1] > 120) & (hsv[..., 2] > 120)).astype(np.uint8))
    return masks


def find_star_ratings(image: np.ndarray) -> list[Signal]:
    """Three or more five-pointed stars of one size on one line: a rating, P7."""
    stars: list[Region] = []
    for mask in _star_masks(image):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            if not (8 <= w <= 80 and 8 <= h <= 80 and 0.7 <= w / h <= 1.4):
                continue
            area = cv2.contourArea(c)
            hull = cv2.contourArea(cv2.convexHull(c))
            if hull <= 0 or not 0.35 <= area / hull <= 0.7:
                continue
            approx = cv2.approxPolyDP(c, 0.04 * cv2.arcLength(c, True), True)
            if not 8 <= len(approx) <= 12:
                continue
            r = Region(x, y, w, h)
            if not _overlaps(r, stars):
                stars.append(r)
    rows: dict[int, list[Region]] = defaultdict(list)
    for r in stars:
        rows[(r.y + r.h // 2) // max(8, r.h)].append(r)
    out = []
    for row in rows.values():
        if len(row) < 3:
            continue
        hs = [r.h for r in row]
        if max(hs) > 1.5 * min(hs):
            continue
        box = row[0]
        for r in row[1:]:
            box = box.union(r)
        out.append(Signal("P7", region=box, text=f"{len(row)} stars", detail="star rating"))
    return out


# ------------------------------------------------------------------------------ P4


def find_watermarks(
    image: np.ndarray,
    words: Sequence[Word],
    explained: Sequence[Region],
    cues: Sequence[Region] = (),
) -> list[Signal]:
    """Logos and watermarks from text: low-contrast (semi-transparent) words, the same word
    repeated over the image, and signature-like text in a corner.

    ``explained`` are regions already accounted for by labels, markers, timepoints and
    measurements (never watermarks); ``cues`` are the other text cues (contact, price...),
    which can be watermarks but are not counted again as corner signatures.
    """
    h, w = image.shape[:2]
    out: list[Signal] = []
    readable = [
        wd
        for wd in words
        if wd.region is not None
        and wd.source != "glyph"
        and len(key(wd.text)) >= 3
        and sum(c.isalpha() for c in wd.text) >= 3
        and not _overlaps(wd.region, explained)
    ]
    faint = [wd for wd in readable if wd.contrast < 60 and wd.conf >= 70]
    if len(faint) == 1 and (len(key(faint[0].text)) < 4 or faint[0].conf < 80):
        faint = []  # one short or doubtful word: likely texture read as text
    if faint:
        box = faint[0].region
        assert box is not None
        for wd in faint[1:]:
            assert wd.region is not None
            box = box.union(wd.region)
        text = _count_words("overlay text", faint)
        out.append(Signal("P4", region=box, text=text, detail="low-contrast overlay text"))
    groups: dict[str, list[Region]] = defaultdict(list)
    for wd in readable:
        assert wd.region is not None
        if not _overlaps(wd.region, groups[key(wd.text)]):
            groups[key(wd.text)].append(wd.region)
    for regions in groups.values():
        if len(regions) >= 3:
            text = f"one word repeated {len(regions)} times"
            out.append(
                Signal(
                    "P4", regions=tuple(regions), text=text, detail="text repeated over the image"
                )
            )
    corner = []
    for wd in readable:
        r = wd.region
        assert r is not None
        in_x = r.x < 0.3 * w or r.x + r.w > 0.7 * w
        in_y = r.y < 0.2 * h or r.y + r.h > 0.8 * h
        if in_x and in_y and wd.conf >= 75 and len(key(wd.text)) >= 4 and not _overlaps(r, cues):
            corner.append(wd)
    if corner and not out:
        box = corner[0].region
        assert box is not None
        for wd in corner[1:]:
            assert wd.region is not None
            if abs(wd.region.y - box.y) < 3 * box.h:
                box = box.union(wd.region)
        text = _count_words("corner text", corner)
        out.append(Signal("P4", region=box, text=text, detail="text in a corner (signature)"))
    return out


def _count_words(kind: str, words: Sequence[Word]) -> str:
    """Watermark and signature evidence by kind and size: the words themselves are often a
    name (the practitioner's, the patient's), so they are never quoted."""
    n = len({key(wd.text) for wd in words})
    return f"{kind}, {n} word{'s' if n > 1 else ''}"


def find_logos(image: np.ndarray) -> list[Signal]:
    """A saturated colour mark in a corner of an otherwise grey image (a logo), P4."""
    if image.ndim != 3:
        return []
    bgr = image[..., :3].astype(np.int16)
    chroma = (bgr.max(axis=2) - bgr.min(axis=2)).astype(np.uint8)
    if float(np.median(chroma)) > 6:
        return []
    h, w = chroma.shape
    mask = (chroma > 60).astype(np.uint8)
    n, _l, st, _c = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in st[i])
        if area < 0.001 * h * w or bw > 0.4 * w or bh > 0.4 * h:
            continue
        in_x = x < 0.3 * w or x + bw > 0.7 * w
        in_y = y < 0.25 * h or y + bh > 0.75 * h
        if in_x and in_y:
            out.append(Signal("P4", region=Region(x, y, bw, bh), detail="colour mark in a corner"))
    return out[:1]


# ------------------------------------------------------------------------------ S2


def find_scale_bars(image: np.ndarray, unit_regions: Sequence[Region]) -> list[Signal]:
    """Straight bars with end ticks, or next to a length unit ("5 mm"): S2."""
    gray = to_gray(image)
    h, w = gray.shape
    light, dark = detail_maps(gray, 10.0)
    out: list[Signal] = []
    for mask in ((light > 40).astype(np.uint8), (dark > 40).astype(np.uint8)):
        n, _l, st, _c = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            x, y, bw, bh, _area = (int(v) for v in st[i])
            if not (20 <= bw <= 0.5 * w and bh <= 18 and bw >= 5 * bh):
                continue
            if x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1:
                continue
            rows = mask[y : y + bh, x : x + bw].sum(axis=1)
            if rows.max() < 0.85 * bw:
                continue  # not a continuous horizontal line
            r = Region(x, y, bw, bh)
            near = [
                u
                for u in unit_regions
                if abs((u.y + u.h / 2) - (y + bh / 2)) < 3 * max(u.h, 10)
                and u.x < x + bw + 40
                and u.x + u.w > x - 40
            ]
            ticks = bh >= 7
            if near or ticks:
                why = "next to a length unit" if near else "with end ticks"
                out.append(Signal("S2", region=r, text="", detail=f"scale bar {why}"))
    return out[:2]


# ------------------------------------------------------------------------------ S3, S4

_SIDE = {"l", "r", "g", "d"}
_PANEL = "abcdefgh"


def find_markers(
    image: np.ndarray, words: Sequence[Word], panels: Sequence[Region] = ()
) -> list[Signal]:
    """Side markers (L/R, G/D) near an edge (S3) and panel labels A, B... (S4).

    Panel labels are single capital letters (or "(a)", "a)", "A.") found at the top of a
    panel or of the image; at least two consecutive ones from A are needed.
    """
    h, w = image.shape[:2]
    out: list[Signal] = []
    frames = list(panels) or [Region(0, 0, w, h)]
    labels: dict[str, Region] = {}
    for wd in words:
        if wd.region is None:
            continue
        raw = wd.text.strip()
        core = raw.strip("().:,;[]")
        r = wd.region
        if len(core) != 1 or not core.isalpha():
            continue
        if core.lower() in _PANEL and (core.isupper() or raw != core):
            for f in frames:
                top = r.y - f.y < 0.3 * f.h and r.y >= f.y - r.h
                left = f.x - r.w <= r.x < f.x + 0.35 * f.w
                right = f.x + 0.65 * f.w <= r.x <= f.x + f.w
                if top and (left or right or len(frames) == 1):
                    labels.setdefault(core.upper(), r)
                    break
        if core.lower() in _SIDE and core.isupper():
            edge = min(r.x, r.y, w - r.x - r.w, h - r.y - r.h)
            if edge < 0.25 * min(w, h):
                out.append(Signal("S3", region=r, text=core, detail="side marker"))
    found = [c for c in _PANEL.upper() if c in labels]
    run = 0
    for c in _PANEL.upper():
        if c in labels:
            run += 1
        else:
            break
    if run >= 2:
        regs = tuple(labels[c] for c in found)
        out.append(Signal("S4", regions=regs, text="/".join(found), detail="panel labels"))
    return out


# ------------------------------------------------------------------------------ S5


def find_imaging_look(image: np.ndarray, modality: str | None = None) -> list[Signal]:
    """Internal imaging: a DICOM modality that is not a photograph, or a grey image with the
    dynamics of a radiograph or a slice (S5)."""
    photo_modalities = {"XC", "VL", "OT", "SC", "DOC", ""}
    if modality is not None and modality.upper() not in photo_modalities:
        return [Signal("S5", text=modality.upper(), detail="DICOM modality")]
    if image.ndim == 3:
        bgr = image[..., :3].astype(np.int16)
        chroma = bgr.max(axis=2) - bgr.min(axis=2)
        if float(np.mean(chroma)) > 4:
            return []
    gray = to_gray(image)
    std = float(gray.std())
    bright = float((gray > 235).mean())
    dark = float((gray < 40).mean())
    if std > 20 and bright < 0.4 and dark > 0.05:
        return [Signal("S5", detail="grey image with radiograph-like dynamics")]
    return []
