"""A clinical photograph through the social profile: face, wristband text and a manual region
all go in one run, and the report says what medanon cannot judge (issue 4, other features)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from medanon.cli import main
from medanon.faces import default_detector
from medanon.text import find_text, is_available

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(
    not (is_available() and default_detector().is_available()),
    reason="needs Tesseract and a face detector",
)


def rgb(bgr: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (what files are read as) in the RGB order the face detector reads."""
    return np.ascontiguousarray(bgr[..., ::-1])


WRISTBAND = (40, 440, 330, 490)  # x0, y0, x1, y1 of the label drawn on the photograph
TATTOO = (400, 380, 480, 460)  # a region only a person can judge: the user boxes it


def photograph(path: Path) -> np.ndarray:
    """The astronaut portrait with a patient wristband label burned in (fake PHI)."""
    bgr = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    x0, y0, x1, y1 = WRISTBAND
    cv2.rectangle(bgr, (x0, y0), (x1, y1), (245, 245, 245), -1)
    cv2.putText(bgr, "DUPONTEL M 13/04/61", (x0 + 8, y1 - 16), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
    cv2.imwrite(str(path), bgr)
    return bgr


def test_face_text_and_manual_region_go_in_one_run(tmp_path: Path) -> None:
    source = tmp_path / "in" / "wound.png"
    source.parent.mkdir()
    before = photograph(source)
    x0, y0, x1, y1 = TATTOO
    result = CliRunner().invoke(
        main,
        [
            "scrub",
            str(source.parent),
            "-o",
            str(tmp_path / "out"),
            "--profile",
            "social",
            "--region",
            f"{x0},{y0},{x1 - x0},{y1 - y0}",
            "--report",
            str(tmp_path / "report.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    after = cv2.imread(str(tmp_path / "out" / "wound.png"))
    assert after.shape == before.shape
    # The face is gone: the detector no longer finds one.
    assert default_detector().detect(rgb(after)) == []
    # The wristband's text is gone: OCR reads nothing in it, and its ink was covered.
    wx0, wy0, wx1, wy1 = WRISTBAND
    band = after[wy0:wy1, wx0:wx1]
    assert not any(r.text.strip() for r in find_text(band))
    ys, xs = np.nonzero(before[wy0:wy1, wx0:wx1].max(axis=-1) < 100)  # the black ink
    text = band[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    assert (text == text[0, 0]).all()  # one solid fill over the whole line
    # The manual region is filled.
    region = after[y0:y1, x0:x1]
    assert (region == region[0, 0]).all() and not (before[y0:y1, x0:x1] == region[0, 0]).all()
    # And the report says what a person must still check.
    report = (tmp_path / "report.jsonl").read_text()
    assert "tattoo" in report.lower() and "DUPONTEL" not in report


def test_a_16_bit_photograph_is_searched_as_shown(tmp_path: Path) -> None:
    """The detector takes 8-bit pictures; a 16-bit PNG is searched scaled and filled itself."""
    source = tmp_path / "in" / "portrait16.png"
    source.parent.mkdir()
    bgr = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    cv2.imwrite(str(source), bgr)
    result = CliRunner().invoke(
        main, ["scrub", str(source.parent), "-o", str(tmp_path / "out"), "--profile", "social"]
    )
    assert result.exit_code == 0, result.output
    after = cv2.imread(str(tmp_path / "out" / "portrait16.png"), cv2.IMREAD_UNCHANGED)
    assert after.dtype == np.uint16 and after.shape == bgr.shape
    assert default_detector().detect(rgb((after >> 8).astype(np.uint8))) == []


def test_phi_mode_on_a_picture_fills_names_it_cannot_judge(tmp_path: Path) -> None:
    image = np.full((120, 420), 40, np.uint8)
    cv2.putText(image, "MARGUERITE DUPONTEL", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 255, 2)
    source = tmp_path / "in" / "case.png"
    source.parent.mkdir()
    cv2.imwrite(str(source), image)
    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        main,
        ["scrub", str(source.parent), "-o", str(tmp_path / "out"), "--pixels", "phi",
         "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "phi mode needs a DICOM header" in report.read_text()
    after = cv2.imread(str(tmp_path / "out" / "case.png"), cv2.IMREAD_GRAYSCALE)
    assert not any(r.text.strip() for r in find_text(after))


def test_text_hidden_in_the_alpha_channel_is_found(tmp_path: Path) -> None:
    """Black pixels everywhere, the text only in alpha: viewers show black text on white."""
    alpha = np.zeros((120, 420), np.uint8)
    cv2.putText(alpha, "DUPONTEL 13/04/1961", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 255, 2)
    rgba = np.dstack([np.zeros((120, 420, 3), np.uint8), alpha])
    source = tmp_path / "in" / "label.png"
    source.parent.mkdir()
    cv2.imwrite(str(source), rgba)
    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        main,
        ["scrub", str(source.parent), "-o", str(tmp_path / "out"), "--profile", "social",
         "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "transparency flattened" in report.read_text()
    after = cv2.imread(str(tmp_path / "out" / "label.png"), cv2.IMREAD_UNCHANGED)
    shown = after if after.ndim == 2 or after.shape[2] == 3 else after[..., :3]
    assert not any(r.text.strip() for r in find_text(np.ascontiguousarray(shown)))


def test_a_portrait_photo_stored_turned_is_searched_as_displayed(tmp_path: Path) -> None:
    """Phones store portrait photos turned, with EXIF Orientation 6: the face is found in the
    picture as shown, and the output keeps the stored order and the orientation."""
    from medanon.raster import _minimal_exif, jpeg_orientation, to_displayed

    shown = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    stored = np.ascontiguousarray(np.rot90(shown, k=1))  # what the camera wrote
    ok, encoded = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    source = tmp_path / "in" / "portrait.jpg"
    source.parent.mkdir()
    data = encoded.tobytes()
    source.write_bytes(data[:2] + _minimal_exif(6) + data[2:])
    result = CliRunner().invoke(
        main, ["scrub", str(source.parent), "-o", str(tmp_path / "out"), "--profile", "social"]
    )
    assert result.exit_code == 0, result.output
    out = (tmp_path / "out" / "portrait.jpg").read_bytes()
    assert jpeg_orientation(out) == 6
    after = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_UNCHANGED)
    assert after.shape == stored.shape
    assert default_detector().detect(rgb(to_displayed(after, 6))) == []


def test_multi_page_pictures_are_refused_when_pixels_are_cleaned(tmp_path: Path) -> None:
    from PIL import Image

    pages = [Image.new("RGB", (64, 64), (90, 90, 90)), Image.new("RGB", (64, 64), (10, 10, 10))]
    source = tmp_path / "in" / "scan.tif"
    source.parent.mkdir()
    pages[0].save(source, save_all=True, append_images=pages[1:])
    result = CliRunner().invoke(
        main, ["scrub", str(source.parent), "-o", str(tmp_path / "out"), "--profile", "social"]
    )
    assert result.exit_code == 1 and "2 pages or frames" in result.stderr
    assert not (tmp_path / "out" / "scan.tif").exists()


def test_fast_face_search_is_chosen_from_the_command_line_or_the_profile(tmp_path: Path) -> None:
    """``--face-search fast`` (or ``[pixels] face_search = "fast"``) uses the coarser pyramid
    (docs/faces.md: the issue's targets at ~20% less time); the face is still gone, checked by
    the thorough detector too; a resumed batch with the other search redoes its files."""
    from medanon.cli_policy import build_policy
    from medanon.keys import Keyring
    from medanon.policy import ProfileError, load_policy
    from medanon.runners.resume import run_digest

    source = tmp_path / "in" / "face.png"
    source.parent.mkdir()
    photograph(source)
    out = tmp_path / "out"
    args = ["scrub", str(source.parent), "-o", str(out), "--profile", "social"]
    result = CliRunner().invoke(main, [*args, "--face-search", "fast"])
    assert result.exit_code == 0, result.output
    after = cv2.imread(str(out / "face.png"))
    assert default_detector("fast").detect(rgb(after)) == []
    assert default_detector().detect(rgb(after)) == []

    fast = default_detector("fast").backend.mtcnn
    assert fast.scale_factor == 0.6 and default_detector().backend.mtcnn.scale_factor > 0.7
    with pytest.raises(ValueError):
        default_detector("quick")

    profile = tmp_path / "fast.toml"
    profile.write_text('extends = "social"\n[pixels]\nface_search = "fast"\n')
    assert load_policy(str(profile)).face_search == "fast"
    profile.write_text('extends = "social"\n[pixels]\nface_search = "quick"\n')
    with pytest.raises(ProfileError, match="face_search"):
        load_policy(str(profile))

    keyring = Keyring(b"k" * 32)
    thorough = build_policy("social")
    digests = {
        run_digest(thorough, keyring, dry_run=False),
        run_digest(build_policy("social", face_search="fast"), keyring, dry_run=False),
    }
    assert len(digests) == 2
