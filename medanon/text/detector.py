"""A learned text detector (DBNet, PaddleOCR's PP-OCRv6 small detection model) that finds where
text lines lie, used to complete the lines :mod:`medanon.text.finder` found in part.

Why a second detector? The finder's candidates are connected components of glyph-like strokes.
Where a word touches anatomy of the ink's brightness, a frame edge or a rule, its glyphs merge
with it and no component looks like a glyph: the line is read, but only in part ("DOE^HAN"
without its "S", "CHU Sai" without "nte-Anne"). A network trained on text sees the whole line
there. It is not trusted alone at its usual settings: on the benchmark's anatomy it also boxes
vessels, speckle and Doppler flames (13% of non-text pixels), so its boxes extend lines the
finder found, along their rows (``finder._extend_along``), and give a read line its own rows
(``finder._rows_of_detected_line``); only its surest line-shaped boxes (mean probability
>= 0.7) are reported where the finder found nothing. Small text barely lights it at an image's
own size: :func:`second_look` looks again at twice the size where it saw weak evidence that
nothing explains.

The model file comes inside the ``rapidocr`` wheel (Apache-2.0, weights by the PaddleOCR
authors, Apache-2.0; see its MODEL_LICENSES.md); only the file is read, the package is not
imported. It runs in ONNX Runtime on one thread (deterministic: same input, same boxes).

Processing follows DBNet (Liao et al., "Real-time Scene Text Detection with Differentiable
Binarization", AAAI 2020) and PaddleOCR's defaults, except the unclip ratio: the network
marks a text line shrunk by about ``A (1 - 0.4^2) / L`` (area ``A``, perimeter ``L``); PaddleOCR
grows it back by ``1.6 A / L``, which on 10-30 px overlay text adds most of a glyph height of
background on every side. ``0.4 A / L`` kept every line the completion needs and a quarter of
that margin (measured with ``benchmarks/bench_text.py``); the finder then snaps boxes to ink.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MODEL_PACKAGE = "rapidocr"
MODEL_FILE = "PP-OCRv6_det_small.onnx"

_local = threading.local()


@dataclass(frozen=True)
class TextBox:
    """A text line's box (x0, y0, x1, y1, exclusive ends, input pixels) and the mean
    probability of text inside it (0-1)."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float


def model_path() -> Path | None:
    """Where the detection model is installed, or None."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / MODEL_FILE
        if path.is_file():
            return path
    return None


class DetectorUnavailable(RuntimeError):
    """The model file or ONNX Runtime is missing, or the model cannot be loaded."""


def unavailable_reason() -> str | None:
    """Why the detector cannot run here (missing or unloadable model or runtime), or None.

    The model is loaded to find out (once per thread, ~0.1 s): a file that is there but
    truncated (an interrupted download into the same folder) must count as missing, not fail
    every image later.
    """
    try:
        _session()
    except DetectorUnavailable as exc:
        return str(exc)
    return None


def is_available() -> bool:
    """Whether the model and ONNX Runtime are installed and load."""
    return unavailable_reason() is None


def _session() -> Any:
    """The ONNX Runtime session of this thread (loading costs ~0.1 s, once); a failure to load
    is remembered for the thread and raised as :class:`DetectorUnavailable`."""
    session = getattr(_local, "session", None)
    if isinstance(session, DetectorUnavailable):
        raise session
    if session is None:
        try:
            session = _load()
        except DetectorUnavailable as exc:
            _local.session = exc
            raise
        _local.session = session
    return session


def _load() -> Any:
    path = model_path()
    if path is None:
        raise DetectorUnavailable(f"{MODEL_FILE} not found (install {MODEL_PACKAGE})")
    try:
        import onnxruntime as ort
    except Exception as exc:  # missing, or a broken install
        reason = f"onnxruntime cannot be imported ({type(exc).__name__})"
        raise DetectorUnavailable(reason) from None
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated or foreign file
        raise DetectorUnavailable(f"{MODEL_FILE} cannot be loaded ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Detection:
    """One pass of the network over an image: its line boxes, and the probability map they came
    from (at the network's resolution: ``scale`` input pixels per map pixel, x and y), which
    :func:`second_look` uses to find where to look closer."""

    boxes: list[TextBox]
    prob: np.ndarray
    scale: tuple[float, float]


def detect_lines(
    image: np.ndarray,
    *,
    threshold: float = 0.3,
    box_threshold: float = 0.5,
    unclip: float = 0.4,
    max_side: int = 1280,
) -> list[TextBox]:
    """Boxes of the text lines in a uint8 grey or RGB image, in reading order (see
    :func:`detect`)."""
    return detect(
        image, threshold=threshold, box_threshold=box_threshold, unclip=unclip, max_side=max_side
    ).boxes


def detect(
    image: np.ndarray,
    *,
    threshold: float = 0.3,
    box_threshold: float = 0.5,
    unclip: float = 0.4,
    max_side: int = 1280,
) -> Detection:
    """The network's pass over a whole uint8 grey or RGB image.

    The image is resized to sides that are multiples of 32 (the network's stride), at most
    ``max_side`` on the long side; ``threshold`` binarises the probability map, a region is
    kept when its mean probability is at least ``box_threshold``, and is grown by ``unclip``
    times its area over its perimeter (see the module's docstring).
    """
    h, w = image.shape[:2]
    ratio = min(1.0, max_side / max(h, w))
    prob = _probability(
        image, max(32, round(w * ratio / 32) * 32), max(32, round(h * ratio / 32) * 32)
    )
    scale = (w / prob.shape[1], h / prob.shape[0])
    boxes = _boxes(prob, scale, (0, 0), (w, h), threshold, box_threshold, unclip)
    return Detection(sorted(boxes, key=_reading_order), prob, scale)


def second_look(
    image: np.ndarray,
    first: Detection,
    explained: np.ndarray,
    *,
    evidence: float = 0.05,
    zoom: float = 2.0,
    margin: tuple[int, int] = (48, 16),
    budget: float = 4.0,
    threshold: float = 0.3,
    box_threshold: float = 0.5,
    unclip: float = 0.4,
) -> list[TextBox]:
    """Boxes from a closer look (``zoom`` times the image's own resolution) at the places where
    the first pass saw some text probability (above ``evidence``) that nothing explains.

    Text under about 12 px (8 px dates over Doppler, a name 7 grey levels above its background)
    barely lights the network at an image's own size, but is plain to it at twice the size; a
    whole frame at twice the size costs four passes (~0.4 s for 512 x 512). Crops of the places
    with weak evidence not covered by ``explained`` (a bool mask of the image: what the finder
    already reports), widened by ``margin`` map pixels (x, y) so a line is seen whole, cost
    ~0.03 s per frame on the benchmark (8.5% of its area). The zoomed pixels are held to
    ``budget`` times the first pass's (the zoom is lowered to fit).
    """
    h, w = image.shape[:2]
    sx, sy = first.scale
    ph, pw = first.prob.shape
    done = cv2.resize(explained.astype(np.uint8), (pw, ph), interpolation=cv2.INTER_AREA) > 0
    weak = ((first.prob > evidence) & ~done).astype(np.uint8)
    if not weak.any():
        return []
    mx, my = margin
    step = max(1, round(32 / zoom))
    weak = cv2.dilate(weak, np.ones((2 * my + 1, 2 * mx + 1), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    crops = []
    for i in range(1, n):
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        # Whole multiples of the network's stride once zoomed (no stretching), centred.
        bx, bw = _widened(bx, bw, step, pw)
        by, bh = _widened(by, bh, step, ph)
        crops.append((bx, by, bw, bh))
    # ``zoom`` is relative to the image's own pixels: a frame the first pass saw shrunk (over
    # ``max_side``) is looked at closer by that much more, within a budget of ``budget`` first
    # passes (a busy frame's weak evidence can join into one crop of most of it).
    native = max(sx, sy, 1.0)
    wanted = sum(bw * bh for _, _, bw, bh in crops) * (zoom * native) ** 2
    factor = zoom * native * min(1.0, np.sqrt(budget * pw * ph / max(wanted, 1.0)))
    if factor <= 1.0:
        return []  # no closer than the first pass
    boxes: list[TextBox] = []
    for bx, by, bw, bh in crops:
        x0, y0 = int(np.floor(bx * sx)), int(np.floor(by * sy))
        x1, y1 = min(w, int(np.ceil((bx + bw) * sx))), min(h, int(np.ceil((by + bh) * sy)))
        nw, nh = max(32, round(bw * factor / 32) * 32), max(32, round(bh * factor / 32) * 32)
        # Bicubic: small glyphs keep their strokes (8 px text over Doppler was found with it,
        # not with bilinear).
        method = cv2.INTER_CUBIC if nw > x1 - x0 else cv2.INTER_AREA
        prob = _probability(image[y0:y1, x0:x1], nw, nh, method)
        scale = ((x1 - x0) / nw, (y1 - y0) / nh)
        boxes += _boxes(prob, scale, (x0, y0), (x1, y1), threshold, box_threshold, unclip)
    return sorted(boxes, key=_reading_order)


def _widened(start: int, size: int, step: int, limit: int) -> tuple[int, int]:
    """An interval (start, size) grown to a multiple of ``step`` about its centre, kept within
    0..``limit`` (shifted at the edges; cut to ``limit`` when longer)."""
    grown = min(limit, -(-size // step) * step)
    start = min(max(0, start - (grown - size) // 2), limit - grown)
    return start, grown


def _reading_order(b: TextBox) -> tuple[int, int, int, int]:
    return (b.y0, b.x0, b.y1, b.x1)


def _probability(image: np.ndarray, nw: int, nh: int, method: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The network's text probability map of ``image`` resized to ``nw`` x ``nh``."""
    # Resized first, then made BGR (the order commutes: the same pixels), so that a huge grey
    # image is not first copied to three channels at full size.
    plane = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, :3])
    if (nw, nh) != plane.shape[1::-1]:
        plane = cv2.resize(plane, (nw, nh), interpolation=method)
    code = cv2.COLOR_GRAY2BGR if plane.ndim == 2 else cv2.COLOR_RGB2BGR
    x = cv2.cvtColor(plane, code).astype(np.float32)
    x = (x * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)[None]  # (x / 255 - 0.5) / 0.5, NCHW
    session = _session()
    return session.run(None, {session.get_inputs()[0].name: x})[0][0, 0]


def _boxes(
    prob: np.ndarray,
    scale: tuple[float, float],
    origin: tuple[int, int],
    limit: tuple[int, int],
    threshold: float,
    box_threshold: float,
    unclip: float,
) -> list[TextBox]:
    """Line boxes of a probability map, in input pixels (map pixel * ``scale`` + ``origin``,
    clipped to ``origin``..``limit``)."""
    mask = (prob > threshold).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    (sx, sy), (ox, oy), (lx, ly) = scale, origin, limit
    boxes: list[TextBox] = []
    for i in range(1, n):
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        if min(bw, bh) < 2:
            continue
        score = float(
            prob[by : by + bh, bx : bx + bw][labels[by : by + bh, bx : bx + bw] == i].mean()
        )
        if score < box_threshold:
            continue
        d = unclip * bw * bh / (2 * (bw + bh))
        boxes.append(
            TextBox(
                max(ox, ox + int(np.floor((bx - d) * sx))),
                max(oy, oy + int(np.floor((by - d) * sy))),
                min(lx, ox + int(np.ceil((bx + bw + d) * sx))),
                min(ly, oy + int(np.ceil((by + bh + d) * sy))),
                score,
            )
        )
    return boxes
