"""Synthetic images for the verdict tests and benchmark (no real patient data).

Surface "photos" are drawn (skin-toned shapes, texture, moles, creases on a studio background);
radiograph-like images are drawn (bones on dark soft tissue) or taken from pydicom's own test
files (globbed in the installed package, never downloaded). Text is drawn with DejaVu Sans when
Pillow and the font are present (accents), otherwise with OpenCV's Hershey font.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "after_version",
    "compose",
    "draw_qr",
    "draw_scale_bar",
    "draw_stars",
    "put_text",
    "pydicom_images",
    "radiograph",
    "restaged_after",
    "skin_photo",
    "standardised_after",
]

_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def skin_photo(seed: int, size: tuple[int, int] = (300, 240)) -> np.ndarray:
    """A BGR surface photo: a skin-toned subject on a plain background, with moles and creases."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = np.array(rng.choice([(190, 170, 150), (210, 210, 205), (120, 90, 60), (60, 60, 60)]))
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg + rng.normal(0, 2, 3)
    skin = np.array([rng.uniform(90, 150), rng.uniform(130, 180), rng.uniform(180, 235)])
    mask = np.zeros((h, w), np.uint8)
    cx, cy = w // 2 + int(rng.integers(-w // 10, w // 10)), h // 2 + int(rng.integers(-8, 8))
    ax, ay = int(w * rng.uniform(0.25, 0.38)), int(h * rng.uniform(0.3, 0.45))
    cv2.ellipse(mask, (cx, cy), (ax, ay), float(rng.uniform(-20, 20)), 0, 360, 255, -1)
    for _ in range(2):  # a limb or shoulder
        px, py = int(rng.integers(0, w)), int(rng.integers(h // 2, h))
        cv2.ellipse(mask, (px, py), (int(w * 0.2), int(h * 0.15)), 0, 0, 360, 255, -1)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 6)
    texture = texture / (np.abs(texture).max() + 1e-6) * 18
    shade = np.linspace(-15, 15, w, dtype=np.float32)[None, :]
    m = mask > 0
    for c in range(3):
        ch = img[..., c]
        ch[m] = (skin[c] + texture + shade)[m]
    for _ in range(int(rng.integers(3, 8))):  # moles, spots
        px = int(cx + rng.integers(-ax // 2, ax // 2))
        py = int(cy + rng.integers(-ay // 2, ay // 2))
        cv2.circle(img, (px, py), int(rng.integers(2, 6)), (40, 60, 90), -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 5))):  # creases
        p = np.array([cx + rng.integers(-ax, ax) // 2, cy + rng.integers(-ay, ay) // 2])
        q = p + rng.integers(-40, 40, 2)
        cv2.line(
            img,
            tuple(int(v) for v in p),
            tuple(int(v) for v in q),
            tuple(float(v) for v in skin * 0.75),
            2,
            cv2.LINE_AA,
        )
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def after_version(img: np.ndarray, seed: int) -> np.ndarray:
    """The same subject later: smoother, lighter, some spots gone, slightly shifted and scaled."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    out = cv2.bilateralFilter(img, 9, 40, 7) if img.ndim == 3 else cv2.GaussianBlur(img, (5, 5), 1)
    out = out.astype(np.float32)
    out = out * rng.uniform(0.95, 1.1) + rng.uniform(-12, 15)
    if img.ndim == 3:
        out += rng.uniform(-8, 8, 3)
    for _ in range(int(rng.integers(1, 4))):  # a change in the subject
        px, py = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4))
        patch = cv2.GaussianBlur(out, (0, 0), 4)
        m = np.zeros((h, w), np.float32)
        cv2.circle(m, (px, py), int(rng.integers(6, 14)), 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), 3)
        if img.ndim == 3:
            m = m[..., None]
        out = out * (1 - m) + patch * m
    angle, scale = rng.uniform(-4, 4), rng.uniform(0.94, 1.06)
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    mat[:, 2] += rng.uniform(-8, 8, 2)
    out = cv2.warpAffine(out, mat, (w, h), borderMode=cv2.BORDER_REPLICATE)
    out += rng.normal(0, 1.5, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def _changed_subject(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The subject after treatment: a few smoothed patches (spots faded), as float32."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError("a BGR photograph (H x W x 3) is wanted")
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    for _ in range(int(rng.integers(2, 4))):
        px, py = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4))
        patch = cv2.GaussianBlur(out, (0, 0), 4)
        m = np.zeros((h, w), np.float32)
        cv2.circle(m, (px, py), int(rng.integers(6, 14)), 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), 3)
        out = out * (1 - m[..., None]) + patch * m[..., None]
    return out


def standardised_after(img: np.ndarray, seed: int) -> np.ndarray:
    """The same subject later, photographed alike (same background, light, distance and angle:
    photographic standards): only the subject changed, and the framing by a few pixels."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    out = _changed_subject(img, rng)
    mat = np.float32([[1, 0, rng.uniform(-3, 3)], [0, 1, rng.uniform(-3, 3)]])
    out = cv2.warpAffine(out, mat, (w, h), borderMode=cv2.BORDER_REPLICATE)
    out += rng.normal(0, 1.5, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def restaged_after(img: np.ndarray, seed: int) -> np.ndarray:
    """The same subject later, photographed to flatter (not standardised, policy P11): by seed,
    brighter and warmer light, another background, or a closer view."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    out = _changed_subject(img, rng)
    change = seed % 3
    if change == 0:  # brighter, warmer light (BGR)
        out = out * 1.12 + np.array([-8.0, 18.0, 34.0], np.float32)
    elif change == 1:  # another background: the studio colour (the border's) replaced
        lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
        border = np.concatenate([lab[:4].reshape(-1, 3), lab[-4:].reshape(-1, 3)])
        plain = np.linalg.norm(lab - np.median(border, axis=0), axis=2) < 12
        # The backdrop farthest from the old one (a new one close to it would be no change).
        backdrops = np.array([(160, 110, 60), (70, 140, 70), (235, 235, 235)], np.uint8)
        labs = cv2.cvtColor(backdrops[None], cv2.COLOR_BGR2LAB)[0].astype(np.float32)
        far = int(np.argmax(np.linalg.norm(labs - np.median(border, axis=0), axis=1)))
        out[plain] = backdrops[far].astype(np.float32) + rng.normal(0, 2, 3)
    else:  # closer: a quarter larger
        scale = rng.uniform(1.22, 1.32)
        mat = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
        out = cv2.warpAffine(out, mat, (w, h), borderMode=cv2.BORDER_REPLICATE)
    out += rng.normal(0, 1.5, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def radiograph(seed: int, size: tuple[int, int] = (260, 300)) -> np.ndarray:
    """A grey radiograph-like image: long bones or a joint on dark soft tissue."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.full((h, w), 12, np.float32)
    tissue = np.zeros((h, w), np.float32)
    cv2.ellipse(tissue, (w // 2, h // 2), (int(w * rng.uniform(0.3, 0.45)), h), 0, 0, 360, 1, -1)
    img += cv2.GaussianBlur(tissue, (0, 0), 15) * rng.uniform(50, 80)
    bones = np.zeros((h, w), np.float32)
    kind = int(rng.integers(0, 3))
    u = rng.uniform
    if kind == 0:  # a long bone with a joint
        x, j = w // 2 + int(rng.integers(-30, 30)), int(h * u(0.35, 0.6))
        a, b = int(u(12, 22)), int(u(10, 20))
        cv2.rectangle(bones, (x - a, 0), (x + a, j - 20), 1, -1)
        cv2.ellipse(bones, (x, j - 10), (int(u(26, 40)), int(u(16, 26))), u(-15, 15), 0, 360, 1, -1)
        x2 = x + int(rng.integers(-15, 15))
        cv2.ellipse(
            bones, (x2, j + 22), (int(u(24, 36)), int(u(12, 22))), u(-15, 15), 0, 360, 1, -1
        )
        cv2.line(bones, (x2, j + 25), (x2 + int(rng.integers(-40, 40)), h), 1, 2 * b)
    elif kind == 1:  # a hand-like set of rays
        base = (w // 2 + int(rng.integers(-30, 30)), int(h * u(0.75, 0.9)))
        for k in range(int(rng.integers(4, 6))):
            a = np.deg2rad(-70 + u(25, 38) * k + u(-8, 8))
            ln = h * u(0.45, 0.75)
            q = (int(base[0] + np.sin(a) * ln), int(base[1] - np.cos(a) * ln))
            cv2.line(bones, base, q, 1, int(rng.integers(7, 16)))
    else:  # a chest-like cage
        y, xs = h * u(0.05, 0.2), w // 2 + int(rng.integers(-20, 20))
        for _k in range(int(rng.integers(5, 9))):
            y += h * u(0.07, 0.13)
            ax, ay = int(w * u(0.3, 0.45)), int(u(10, 28))
            cv2.ellipse(bones, (xs, int(y)), (ax, ay), u(-8, 8), 180, 360, 1, int(u(3, 7)))
        cv2.line(bones, (xs, 0), (xs + int(rng.integers(-20, 20)), h), 1, int(u(12, 22)))
    bones = cv2.GaussianBlur(bones, (0, 0), 2.5)
    img += bones * rng.uniform(110, 160)
    img += cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3) * 20
    img += rng.normal(0, 3, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def pydicom_images() -> tuple[np.ndarray, ...]:
    """Grey uint8 images from pydicom's installed test files (uncompressed ones only)."""
    try:
        import pydicom
    except ImportError:  # pragma: no cover
        return ()
    folder = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    wanted = ("CT_small.dcm", "MR_small.dcm", "examples_overlay.dcm", "image_dfl.dcm")
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.dcm"))):
        if os.path.basename(path) not in wanted:
            continue
        try:
            arr = pydicom.dcmread(path).pixel_array.astype(np.float32)
        except Exception:
            continue
        lo, hi = np.percentile(arr, (1, 99.5))
        img = np.clip((arr - lo) / max(1.0, hi - lo) * 255, 0, 255).astype(np.uint8)
        scale = 280 / max(img.shape)
        out.append(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    return tuple(out)


def _to_bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def compose(
    panels: Sequence[np.ndarray],
    layout: str = "horizontal",
    gap: int = 0,
    border: int = 0,
    colour: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """Panels side by side (``horizontal``) or stacked (``vertical``), with a gap and a border."""
    grey = all(p.ndim == 2 for p in panels)
    ps = [p if grey else _to_bgr(p) for p in panels]
    if layout == "horizontal":
        h = max(p.shape[0] for p in ps)
        ps = [cv2.resize(p, (round(p.shape[1] * h / p.shape[0]), h)) for p in ps]
    else:
        w = max(p.shape[1] for p in ps)
        ps = [cv2.resize(p, (w, round(p.shape[0] * w / p.shape[1]))) for p in ps]
    fill = int(np.mean(colour)) if grey else colour
    parts = []
    for n, p in enumerate(ps):
        if n and gap:
            shape = (p.shape[0], gap) if layout == "horizontal" else (gap, p.shape[1])
            g = np.empty(shape + (() if grey else (3,)), np.uint8)
            g[:] = fill
            parts.append(g)
        parts.append(p)
    out = np.hstack(parts) if layout == "horizontal" else np.vstack(parts)
    if border:
        out = cv2.copyMakeBorder(
            out, border, border, border, border, cv2.BORDER_CONSTANT, value=fill if grey else colour
        )
    return out


@functools.lru_cache(maxsize=4)
def _font(size: int):  # type: ignore[no-untyped-def]
    try:
        from PIL import ImageFont
    except ImportError:  # pragma: no cover
        return None
    for path in _FONT_PATHS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return None


def put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    size: int = 22,
    colour: tuple[int, int, int] = (255, 255, 255),
    alpha: float = 1.0,
) -> np.ndarray:
    """Draw ``text`` with its top-left corner at ``org`` (``alpha`` < 1: semi-transparent)."""
    font = _font(size)
    layer = img.copy()
    if font is not None:
        from PIL import Image, ImageDraw

        grey = layer.ndim == 2
        pil = Image.fromarray(layer if grey else cv2.cvtColor(layer, cv2.COLOR_BGR2RGB))
        fill = int(np.mean(colour)) if grey else tuple(int(c) for c in colour[::-1])
        ImageDraw.Draw(pil).text(org, text, font=font, fill=fill)
        arr = np.asarray(pil)
        layer = arr if grey else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    else:  # pragma: no cover - fallback without Pillow or fonts
        scale = size / 30
        col = int(np.mean(colour)) if layer.ndim == 2 else colour
        cv2.putText(layer, text, (org[0], org[1] + size), cv2.FONT_HERSHEY_SIMPLEX, scale, col, 2)
    if alpha >= 1.0:
        return layer
    return cv2.addWeighted(layer, alpha, img, 1 - alpha, 0)


def draw_stars(img: np.ndarray, org: tuple[int, int], n: int = 5, r: int = 12) -> np.ndarray:
    """``n`` filled five-pointed stars in a row (a rating)."""
    out = _to_bgr(img).copy()
    for k in range(n):
        cx, cy = org[0] + r + k * int(2.4 * r), org[1] + r
        pts = []
        for i in range(10):
            rad = r if i % 2 == 0 else r * 0.45
            a = -np.pi / 2 + i * np.pi / 5
            pts.append((cx + rad * np.cos(a), cy + rad * np.sin(a)))
        cv2.fillPoly(out, [np.int32(pts)], (0, 200, 255), cv2.LINE_AA)
    return out


def draw_qr(
    img: np.ndarray, org: tuple[int, int], data: str = "https://example.org/rdv", size: int = 90
) -> np.ndarray:
    """A QR code with a quiet zone, drawn at ``org``."""
    qr = cv2.QRCodeEncoder.create().encode(data)
    qr = cv2.resize(qr, (size, size), interpolation=cv2.INTER_NEAREST)
    qr = cv2.copyMakeBorder(qr, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=255)
    out = _to_bgr(img).copy() if img.ndim == 3 else img.copy()
    x, y = org
    h, w = qr.shape
    out[y : y + h, x : x + w] = qr[..., None] if out.ndim == 3 else qr
    return out


def draw_scale_bar(
    img: np.ndarray,
    org: tuple[int, int],
    length: int = 60,
    label: str = "5 mm",
    colour: tuple[int, int, int] = (255, 255, 255),
    ticks: bool = True,
) -> np.ndarray:
    """A scale bar (a thick line, end ticks) with its unit label above it."""
    out = img.copy()
    col = int(np.mean(colour)) if out.ndim == 2 else colour
    x, y = org
    cv2.rectangle(out, (x, y), (x + length, y + 3), col, -1)
    if ticks:
        cv2.line(out, (x, y - 5), (x, y + 8), col, 2)
        cv2.line(out, (x + length, y - 5), (x + length, y + 8), col, 2)
    return put_text(out, label, (x + 4, y - 26), size=18, colour=colour)
