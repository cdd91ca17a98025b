"""The burned-in text stage wired into de-identification: real Tesseract, synthetic images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from medanon import Keyring, Scrubber, load_policy
from medanon.dicom.identifiers import Identifiers
from medanon.pixels.redact import PixelCleaningError, identifying
from medanon.policy import Policy
from medanon.text import TextRegion, find_text, is_available

pytestmark = pytest.mark.skipif(not is_available(), reason="Tesseract is not installed")

NAME = "DUPONTEL^Marguerite"


def burned_dataset(frames: int = 1, photometric: str = "MONOCHROME2") -> Dataset:
    """A secondary capture with the patient's name, a date and an L marker burned in."""
    image = np.full((256, 320), 40, np.uint8)
    cv2.circle(image, (160, 150), 70, 120, -1)  # some 'anatomy'
    cv2.putText(image, "DUPONTEL MARGUERITE", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    cv2.putText(image, "17/03/2024 10:15", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    cv2.putText(image, "L", (290, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 255, 2)
    cv2.putText(image, "120 kV", (10, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    stack = np.repeat(image[np.newaxis], frames, axis=0)
    if photometric == "MONOCHROME1":
        stack = 255 - stack
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.PatientName = NAME
    ds.PatientID = "PID48151623"
    ds.BurnedInAnnotation = "YES"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = image.shape
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = stack.tobytes()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def scrub(ds: Dataset, policy: Policy, keyring: Keyring, tmp_path: Path) -> tuple[Dataset, dict]:
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = Scrubber(policy, keyring).scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "ok", result.error
    return dcmread(tmp_path / "out.dcm"), result.actions


def readable_text(ds: Dataset) -> str:
    frame = ds.pixel_array if ds.get("NumberOfFrames", 1) in (None, 1) else ds.pixel_array[0]
    frame = frame.astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        frame = 255 - frame
    return " ".join(r.text for r in find_text(frame)).upper()


def test_all_mode_removes_every_text_and_marks_clean(keyring: Keyring, tmp_path: Path) -> None:
    assert "DUPONTEL" in readable_text(burned_dataset())
    out, actions = scrub(burned_dataset(), load_policy("social"), keyring, tmp_path)
    text = readable_text(out)
    assert "DUPONTEL" not in text and "2024" not in text
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in {item.CodeValue for item in out.DeidentificationMethodCodeSequence}
    assert actions["pixel_regions_filled"] >= 2


def test_phi_mode_keeps_benign_marker(keyring: Keyring, tmp_path: Path) -> None:
    policy = Policy(name="phi", pixel_text="phi")
    out, actions = scrub(burned_dataset(), policy, keyring, tmp_path)
    text = readable_text(out)
    assert "DUPONTEL" not in text and "MARGUERITE" not in text and "2024" not in text
    assert actions["pixel_text_regions_kept"] >= 1
    assert "KV" in text  # the technique value is kept
    pixels = out.pixel_array
    assert pixels[215:245, 285:310].max() == 255  # so is the L marker


def test_every_frame_is_redacted(keyring: Keyring, tmp_path: Path) -> None:
    out, actions = scrub(burned_dataset(frames=4), load_policy("social"), keyring, tmp_path)
    frames = out.pixel_array
    assert frames.shape[0] == 4
    assert all(np.array_equal(frames[0], frames[i]) for i in range(1, 4))
    assert frames[:, 10:35, 10:200].max() <= 40  # the name's band is filled in every frame
    assert actions["ocr_passes"] <= 2  # one read, one check: the frames are all alike


def moving_cine(frames: int = 12, shown: range = range(5, 9)) -> Dataset:
    """A cine of moving 'anatomy' under a static overlay, with the patient's name burned into
    the middle frames ``shown`` only (none of them the first or the last)."""
    ds = burned_dataset(frames=frames)
    stack = np.frombuffer(ds.PixelData, np.uint8).reshape(frames, 256, 320).copy()
    rng = np.random.default_rng(3)
    for k in range(frames):
        anatomy = stack[k, 100:220, 60:260]
        anatomy[:] = 40
        cv2.circle(anatomy, (80 + 6 * k, 60), 45, 120, -1)  # moves
        anatomy += rng.integers(0, 12, anatomy.shape, dtype=np.uint8)  # speckle, every frame
        if k in shown:
            cv2.putText(stack[k], "KOVACS ZOLTAN", (150, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 2)
    ds.PixelData = stack.tobytes()
    return ds


def test_text_in_middle_frames_only_is_found_and_filled() -> None:
    from medanon.pixels.redact import PixelPolicy, changes, clean_dataset_pixels

    ds = moving_cine()
    stack = np.frombuffer(ds.PixelData, np.uint8).reshape(12, 256, 320)
    assert "KOVACS" not in readable_text(ds)  # not in the first frame
    assert "KOVACS" in " ".join(r.text for r in find_text(stack[6])).upper()
    # What changes shows the name as drawn; the static overlay is not read again there.
    ink = np.zeros((256, 320), np.uint8)
    cv2.putText(ink, "KOVACS ZOLTAN", (150, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 2)
    canvas = changes(stack)
    assert (canvas[ink > 128] == stack[6][ink > 128]).all()
    assert not canvas[:62].any()
    for mode in ("all", "phi"):
        ds = moving_cine()
        outcome = clean_dataset_pixels(
            ds, PixelPolicy(text=mode), Identifiers(names=frozenset({"KOVACS"}))
        )
        assert outcome.verified
        frames = ds.pixel_array
        for k in range(12):
            assert "KOVACS" not in " ".join(r.text for r in find_text(frames[k])).upper()
        assert (frames[5:9][:, ink > 128] <= 40).mean() >= 0.95  # filled where it was shown


def test_static_cine_is_read_as_one_frame() -> None:
    """A cine whose frames are alike costs what its first frame costs: nothing else to read."""
    from medanon.pixels.redact import PixelPolicy, changes, clean_dataset_pixels

    ds = burned_dataset(frames=6)
    stack = np.frombuffer(ds.PixelData, np.uint8).reshape(6, 256, 320)
    assert not changes(stack).any()
    images: list[tuple[int, ...]] = []

    def finder(image: np.ndarray) -> list[TextRegion]:
        images.append(image.shape)
        return find_text(image)

    outcome = clean_dataset_pixels(ds, PixelPolicy(text="all"), Identifiers(), finder=finder)
    assert outcome.verified and len(images) == outcome.ocr_passes == 2  # read, then checked


@pytest.mark.parametrize(
    ("photometric", "boxes"),
    [
        ("MONOCHROME2", [(0, 0, 320, 70)]),  # the range's top (white text) stays elsewhere
        ("MONOCHROME2", [(0, 0, 320, 256)]),  # all of it goes: the range changes
        ("MONOCHROME1", [(0, 0, 320, 70)]),
        ("RGB", [(5, 5, 100, 30), (200, 200, 60, 40)]),
    ],
)
def test_filled_display_is_what_display_frames_gives(
    photometric: str, boxes: list[tuple[int, int, int, int]]
) -> None:
    """The display after a fill, updated in place when the display map allows, is exactly
    the display of the filled stored frames."""
    from medanon.pixels.codec import decode_frames, display_frames
    from medanon.pixels.redact import _filled_display

    ds = burned_dataset(
        frames=3, photometric="MONOCHROME2" if photometric == "RGB" else photometric
    )
    if photometric == "RGB":
        grey = np.frombuffer(ds.PixelData, np.uint8).reshape(3, 256, 320)
        rgb = np.stack([grey, grey // 2, 255 - grey], axis=-1)
        ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.PlanarConfiguration = "RGB", 3, 0
        ds.PixelData = np.ascontiguousarray(rgb).tobytes()
    else:  # 12 bits stored in 16, so the display map is a real rescale
        grey = np.frombuffer(ds.PixelData, np.uint8).reshape(3, 256, 320).astype(np.uint16)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelData = (grey * 16 + 100).tobytes()
    frames = decode_frames(ds)
    value = 0.0 if photometric != "MONOCHROME1" else float(frames.array.max())
    if photometric == "MONOCHROME2":
        value = float(frames.array.min())
    shown = _filled_display(frames, display_frames(frames), boxes, value)
    assert np.array_equal(shown, display_frames(frames))
    x, y, w, h = boxes[0]
    assert not shown[:, y : y + h, x : x + w].any()  # black as displayed


def test_recheck_reads_a_cines_changes_only_near_what_was_filled() -> None:
    """After a fill, a cine's changes are read again near the boxes filled from them only:
    elsewhere that image was read already (moving anatomy, in an echo)."""
    from medanon.pixels.redact import read_frames

    ds = moving_cine()
    stack = np.frombuffer(ds.PixelData, np.uint8).reshape(12, 256, 320)
    images: list[np.ndarray] = []

    def finder(image: np.ndarray) -> list[TextRegion]:
        images.append(image)
        return []

    read_frames(stack, finder)
    whole = images[-1]
    assert whole[100:220, 60:260].any()  # the moving circle's changes, read the first time
    read_frames(stack, finder, within=[(150, 75, 150, 20)])
    near = images[-1]
    assert near[75:95, 150:300].any() and not near[:35].any() and not near[135:].any()
    images.clear()
    read_frames(stack, finder, within=[])
    assert len(images) == 1  # the first frame only


def test_monochrome1_is_filled_with_display_black(keyring: Keyring, tmp_path: Path) -> None:
    out, _ = scrub(
        burned_dataset(photometric="MONOCHROME1"), load_policy("social"), keyring, tmp_path
    )
    assert out.PhotometricInterpretation == "MONOCHROME1"
    assert out.pixel_array[10:35, 10:200].min() >= 215  # light stored values show black
    assert "DUPONTEL" not in readable_text(out)


def test_no_text_leaves_pixel_data_identical(keyring: Keyring, tmp_path: Path) -> None:
    ds = burned_dataset()
    ds.PixelData = np.full((256, 320), 40, np.uint8).tobytes()
    out, actions = scrub(ds, load_policy("social"), keyring, tmp_path)
    assert out.PixelData == ds.PixelData
    assert actions["pixel_regions_filled"] == 0 and out.BurnedInAnnotation == "NO"


def test_ocr_missing_fails_closed(
    keyring: Keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("medanon.pixels.redact.is_available", lambda: False)
    source = tmp_path / "in.dcm"
    burned_dataset().save_as(source, enforce_file_format=True)
    result = Scrubber(load_policy("social"), keyring).scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "failed"
    assert result.error == "pixel cleaning requested but OCR is not available"
    assert not (tmp_path / "out.dcm").exists()
    with pytest.raises(PixelCleaningError):
        Scrubber(load_policy("social"), keyring).scrub_dataset(burned_dataset())


def test_manual_boxes_without_ocr(keyring: Keyring, tmp_path: Path) -> None:
    policy = Policy(name="boxes", pixel_boxes=((0, 0, 320, 70),))
    out, actions = scrub(burned_dataset(), policy, keyring, tmp_path)
    assert out.pixel_array[0:70].max() <= 40
    assert out.BurnedInAnnotation == "YES"  # the rest was not searched: not claimed clean
    assert actions["pixel_regions_filled"] == 1


def test_phi_judgement_tolerates_ocr_errors() -> None:
    ds = Dataset()
    ds.PatientName = NAME
    ds.PatientID = "PID48151623"
    ids = Identifiers.from_dataset(ds)

    def region(text: str) -> TextRegion:
        return TextRegion(0, 0, 10, 10, text, 90.0, "lines")

    assert identifying(region("DUP0NTEL"), ids)  # 0 for O
    assert identifying(region("PID4815I623"), ids)  # I for 1
    assert identifying(region("CHU de Clermont"), ids)
    assert identifying(region("12:45:10"), ids)
    assert identifying(TextRegion(0, 0, 5, 5, "", 0.0, "unreadable"), ids)
    for benign in ("L", "R", "5 cm", "120 kV", "AP"):
        assert not identifying(region(benign), ids), benign


def test_phi_judges_titles_years_measures_and_phrases() -> None:
    from medanon.pixels.redact import select_regions

    ids = Identifiers()

    def region(text: str, x: int = 0, w: int = 60) -> TextRegion:
        return TextRegion(x, 10, w, 12, text, 90.0, "lines")

    for text in ("Dr. K.", "1962", "BAPTIST MED CTR", "AGMC Sports Medicine"):
        assert identifying(region(text), ids), text
    for text in ("120kVp", "3850Hz", "DR 63", "Gn 55", "19fps"):
        assert not identifying(region(text), ids), text
    # One field that OCR split in two words: identifying as a whole; a label apart stays.
    words = [region("Philips", 0, 60), region("Healthcare", 66, 90), region("Gn 55", 300)]
    chosen, kept = select_regions(words, "phi", ids)
    assert chosen == words[:2] and kept == 1


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_ordinary_image_text_is_redacted(keyring: Keyring, tmp_path: Path, suffix: str) -> None:
    image = np.frombuffer(burned_dataset().PixelData, np.uint8).reshape(256, 320)
    colour = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    source = tmp_path / f"shot{suffix}"
    assert cv2.imwrite(str(source), colour)
    result = Scrubber(load_policy("social"), keyring).scrub_file(source, tmp_path / f"o{suffix}")
    assert result.status == "ok", result.error
    out = cv2.imread(str(tmp_path / f"o{suffix}"), cv2.IMREAD_GRAYSCALE)
    assert out.shape == image.shape
    text = " ".join(r.text for r in find_text(out)).upper()
    assert "DUPONTEL" not in text and "2024" not in text
    assert result.actions["pixel_regions_filled"] >= 2


def test_unreadable_shapes_inside_the_ultrasound_image_are_not_text() -> None:
    from medanon.pixels.redact import select_regions

    inside = TextRegion(50, 50, 10, 6, "", 0.0, "unreadable")
    readable_inside = TextRegion(60, 60, 40, 12, "DUPONTEL", 90.0, "lines")
    outside = TextRegion(5, 5, 20, 8, "", 0.0, "unreadable")
    chosen, _ = select_regions(
        [inside, readable_inside, outside], "all", Identifiers(), image_areas=((40, 40, 200, 200),)
    )
    assert chosen == [readable_inside, outside]


def test_scrub_records_the_sharing_verdict_without_text(keyring: Keyring, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    source = tmp_path / "in.dcm"
    burned_dataset().save_as(source, enforce_file_format=True)
    report = tmp_path / "run.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "medanon.cli",
            "scrub",
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--profile",
            "social",
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(report.read_text().splitlines()[0])
    assert record["verdict"]["verdict"] in ("acceptable", "warning", "blocked")
    assert record["verdict"]["channel"] == "social"
    assert "DUPONTEL" not in report.read_text().upper()


def test_scrub_html_page_shows_input_beside_output(keyring: Keyring, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medanon.cli import main

    source = tmp_path / "in.dcm"
    burned_dataset().save_as(source, enforce_file_format=True)
    page = tmp_path / "review.html"
    result = CliRunner().invoke(
        main,
        [
            "scrub",
            str(source),
            "-o",
            str(tmp_path / "out/"),
            "--profile",
            "social",
            "--html",
            str(page),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 2
    assert "http://" not in text and "https://" not in text
    assert "anonymisé" in text


def test_preview_pngs_show_what_was_filled(keyring: Keyring, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medanon.cli import main

    inbox = tmp_path / "in"
    inbox.mkdir()
    burned_dataset().save_as(inbox / "a.dcm", enforce_file_format=True)
    previews = tmp_path / "previews"
    result = CliRunner().invoke(
        main,
        [
            "scrub",
            str(inbox),
            "-o",
            str(tmp_path / "out"),
            "--profile",
            "social",
            "--preview",
            str(previews),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    pngs = list(previews.glob("a.dcm-*.png"))
    assert len(pngs) == 1
    picture = cv2.imread(str(pngs[0]))
    assert picture.shape[:2] == (256, 320)
    red = (picture[..., 2] > 200) & (picture[..., 1] < 50) & (picture[..., 0] < 50)
    assert red.sum() > 100  # the filled regions are outlined
    inside = CliRunner().invoke(
        main, ["scrub", str(inbox), "-o", str(tmp_path / "o2"), "--preview", str(inbox / "p")]
    )
    assert inside.exit_code == 2
