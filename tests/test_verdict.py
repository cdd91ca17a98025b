"""Sharing verdict: signals on small generated images, rules per channel and jurisdiction,
the ``check`` command (exit codes, JSON Lines, HTML). No real patient data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from medanon.check_cmd import check
from medanon.verdict import Known, Region, Signal, find_signals, judge, load_rules
from medanon.verdict import synthetic as sy
from medanon.verdict.ocr import is_available
from medanon.verdict.rules import RuleError, Rules
from medanon.verdict.signals import file_name_signals
from medanon.verdict.textcues import caller_words, find_text_cues

needs_ocr = pytest.mark.skipif(not is_available(), reason="Tesseract not installed")


def ids(signals):
    return {s.id + (":" + s.variant if s.variant else "") for s in signals}


def cue_ids(text):
    return ids(find_text_cues(caller_words(text)))


# ----------------------------------------------------------------------------- text cues


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AVANT / APRÈS", "P2"),
        ("apres", "P2"),  # accent missing
        ("befor", "P2"),  # OCR lost a letter
        ("pré-op", "P2"),
        ("J+30", "P3"),
        ("3 mois après", "P3"),
        ("Prenez rendez-vous", "P5"),
        ("Prenez rendezvous", "P5"),
        ("06 12 34 56 78", "P5"),
        ("+33 6 12 34 56 78", "P5"),
        ("www.clinique-exemple.fr", "P5"),
        ("contact@exemple.fr", "P5"),
        ("@dr.sourire", "P5"),
        ("-20%", "P6"),
        ("à partir de 1 990 €", "P6"),
        ("Offre spéciale", "P6"),
        ("★★★★★", "P7"),
        ("Merci docteur !", "P7"),
        ("avis patients", "P7"),
        ("Résultat garanti", "P8:guarantee"),
        ("sans douleur", "P8:guarantee"),
        ("le meilleur", "P8"),
        ("#rhinoplastie", "P9"),
        ("Collaboration commerciale", "P9:sponsored"),
        ("Images retouchées", "P10"),
        ("scale 5 mm", "S2"),
        ("Fig. 2", "S7"),
        ("12/03/1985", "I3"),
    ],
)
def test_text_cues(text, expected):
    assert expected in cue_ids(text)


def test_timepoint_is_not_before_after():
    assert cue_ids("3 mois après") == {"P3"}


def test_plain_words_are_not_cues():
    assert cue_ids("avait une fracture du radius") == set()


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("Appelez le 04 73 55 12 98", {"P5": {"appelez", "phone number"}}),
        ("marguerite.dupontel@mail.fr", {"P5": {"e-mail address"}}),
        ("www.dupontel-esthetique.fr", {"P5": {"web address"}}),
        ("suivez @dr.dupontel", {"P5": {"social media handle"}}),
        ("Rhinoplastie 3500 € seulement", {"P6": {"price or offer"}}),
        ("#DrDupontel", {"P9": {"hashtag"}}),
        ("Merci Marguerite docteur", {"P7": {"testimonial or rating"}}),
        ("AVAMT / APRÈS J+30", {"P2": {"avant", "apres"}, "P3": {"j+30"}}),  # OCR misread
        ("Code Pr0mo", {"P6": {"promo", "code promo"}}),
        ("fracture 12 mm", {"S2": {"12 mm"}}),
    ],
)
def test_cue_evidence_is_a_lexicon_word_or_a_kind(text: str, evidence: dict[str, set[str]]):
    """Evidence quotes lexicon entries and fixed-form matches only, never what was read."""
    found: dict[str, set[str]] = {}
    for s in find_text_cues(caller_words(text)):
        found.setdefault(s.id, set()).update(s.text.split(" | "))
    assert found == evidence


def test_identifying_text_is_redacted():
    found = [s for s in find_text_cues(caller_words("né le 02/03/1985")) if s.id == "I3"]
    assert found and all("1985" not in s.text for s in found)


@pytest.mark.parametrize(
    ("name", "hit"),
    [
        ("DUPONT_Marie.jpg", True),
        ("scan_2024-03-02.png", True),
        ("IPP123456.dcm", True),
        ("figure1.png", False),
        ("CT_small.dcm", False),
        ("IMG_Small.png", False),
    ],
)
def test_file_name_signals(name, hit):
    assert bool(file_name_signals(name)) is hit
    for s in file_name_signals(name):
        assert "DUPONT" not in s.text and "2024" not in s.text


# ----------------------------------------------------------------------------- image signals


def promo_pair(layout="horizontal", gap=10, seed=1):
    a = sy.skin_photo(seed)
    return sy.compose([a, sy.after_version(a, seed + 50)], layout, gap=gap)


@pytest.mark.parametrize(
    ("layout", "gap"), [("horizontal", 10), ("horizontal", 0), ("vertical", 6)]
)
def test_same_subject_composite(layout, gap):
    assert "P1" in ids(find_signals(promo_pair(layout, gap), ocr=False))


def test_different_subjects_are_not_a_composite():
    img = sy.compose([sy.radiograph(4), sy.radiograph(11)], "horizontal", gap=8)
    assert "P1" not in ids(find_signals(img, ocr=False))


def test_single_image_is_not_a_composite():
    assert "P1" not in ids(find_signals(sy.skin_photo(3), ocr=False))
    assert "P1" not in ids(find_signals(sy.radiograph(3), ocr=False))


def test_duplicate_panels_are_not_before_after():
    a = sy.skin_photo(2)
    assert "P1" not in ids(find_signals(sy.compose([a, a], gap=8), ocr=False))


def test_qr_code():
    found = find_signals(sy.draw_qr(sy.skin_photo(4), (10, 10)), ocr=False)
    (qr,) = [s for s in found if s.id == "P5"]
    assert qr.text == "QR code, web address" and qr.region is not None  # kind, not content


def test_star_rating():
    assert "P7" in ids(find_signals(sy.draw_stars(sy.skin_photo(5), (10, 10)), ocr=False))


def test_colour_logo_on_grey_image():
    img = cv2.cvtColor(sy.radiograph(6), cv2.COLOR_GRAY2BGR)
    cv2.circle(img, (240, 20), 12, (200, 40, 230), -1)
    assert "P4" in ids(find_signals(img, ocr=False))


def test_imaging_look_and_modality():
    assert "S5" in ids(find_signals(sy.radiograph(7), ocr=False))
    assert "S5" not in ids(find_signals(sy.skin_photo(7), ocr=False))
    assert "S5" in ids(find_signals(sy.skin_photo(7), Known(modality="ES"), ocr=False))


def test_caller_identification_signals():
    known = Known(
        faces=[Region(1, 2, 30, 30)],
        identifying_text=[Region(0, 0, 50, 10)],
        identifying_metadata=["PatientName"],
        file_name="MARTIN_Paul.png",
    )
    assert {"I1", "I3", "I4", "I8"} <= ids(find_signals(sy.radiograph(1), known, ocr=False))


@pytest.fixture(scope="module")
def ocr_cases():
    """One OCR pass per case for all OCR tests (Tesseract is the slow part)."""
    if not is_available():
        pytest.skip("Tesseract not installed")
    a = sy.skin_photo(8)
    labelled = sy.put_text(promo_pair(seed=8), "AVANT", (12, 8), 24)
    labelled = sy.put_text(labelled, "APRÈS", (322, 8), 24)
    contact = sy.put_text(a.copy(), "Prenez rendez-vous 01 23 45 67 89", (8, 200), 15, (20, 20, 20))
    price = sy.put_text(a.copy(), "-30% ce mois-ci", (10, 10), 22, (0, 0, 255))
    rad = cv2.cvtColor(sy.radiograph(3), cv2.COLOR_GRAY2BGR)
    rad = sy.draw_scale_bar(rad, (180, 260))
    fig = sy.compose([sy.radiograph(4), sy.radiograph(11)], "horizontal", gap=8)
    fig = sy.put_text(cv2.cvtColor(fig, cv2.COLOR_GRAY2BGR), "A", (6, 6), 26)
    fig = sy.draw_scale_bar(sy.put_text(fig, "B", (274, 6), 26), (420, 270))
    hashtag = sy.put_text(a.copy(), "#rhinoplastie", (10, 10), 22, (255, 255, 255))
    cases = {
        "labelled": labelled,
        "contact": contact,
        "price": price,
        "rad": rad,
        "fig": fig,
        "hashtag": hashtag,
    }
    return {k: find_signals(v) for k, v in cases.items()}


@needs_ocr
def test_ocr_before_after_labels(ocr_cases):
    found = ids(ocr_cases["labelled"])
    assert {"P1", "P2"} <= found
    assert judge(ocr_cases["labelled"]).verdict == "blocked"


@needs_ocr
def test_ocr_contact_price_hashtag(ocr_cases):
    assert "P5" in ids(ocr_cases["contact"])
    assert "P6" in ids(ocr_cases["price"])
    assert "P9" in ids(ocr_cases["hashtag"])


@needs_ocr
def test_ocr_scientific_figure(ocr_cases):
    assert "S2" in ids(ocr_cases["rad"])
    fig = ids(ocr_cases["fig"])
    assert {"S2", "S4"} <= fig
    assert judge(ocr_cases["fig"]).verdict == "acceptable"


@needs_ocr
def test_semi_transparent_watermark():
    img = sy.put_text(sy.radiograph(9), "CLINIQUE ESTHETIQUE", (20, 130), 24, alpha=0.35)
    found = [s for s in find_signals(img) if s.id == "P4"]
    assert found, "faint overlay text not reported"
    assert all("CLINIQUE" not in s.text.upper() for s in found)


def test_watermark_evidence_counts_words_and_never_quotes_them():
    from medanon.verdict.marks import find_watermarks
    from medanon.verdict.ocr import Word

    image = np.full((200, 400, 3), 128, np.uint8)
    faint = [Word("DUPONTEL", Region(20 + 60 * i, 90, 50, 12), 90.0, "plain", 30.0) for i in (0, 1)]
    repeated = [
        Word("Marguerite", Region(20 + 120 * i, 40, 80, 12), 90.0, "plain") for i in range(3)
    ]
    corner = [Word("Dr.Vasseur", Region(330, 180, 60, 12), 90.0, "plain")]
    found = find_watermarks(image, faint + repeated, ()) + find_watermarks(image, corner, ())
    assert sorted(s.text for s in found) == [
        "corner text, 1 word",
        "one word repeated 3 times",
        "overlay text, 1 word",
    ]


# ----------------------------------------------------------------------------- rules


def verdict_of(*sigs, **kw):
    return judge([Signal(*s) if isinstance(s, tuple) else Signal(s) for s in sigs], **kw)


def test_face_on_social_in_france_stays_blocked_with_consent():
    assert verdict_of("I1", consent=True).verdict == "blocked"
    assert verdict_of("I1", consent=True, channel="publication").verdict == "acceptable"
    assert verdict_of("I1", consent=True, jurisdiction="uk").verdict == "acceptable"
    assert verdict_of("I1", channel="publication").verdict == "blocked"


def test_metadata_blocks_even_with_consent():
    assert (
        verdict_of("I4", consent=True, channel="teaching", jurisdiction="us").verdict == "blocked"
    )


def test_composite_alone_warns_and_with_commercial_cue_blocks():
    assert verdict_of("P1").verdict == "warning"
    for cue in ("P4", "P5", "P6", "P7", "P9"):
        v = verdict_of("P1", cue)
        assert v.verdict == "blocked" and v.status == "promotional", cue


def test_before_after_wording_by_channel():
    assert verdict_of("P1", "P2").verdict == "blocked"
    assert verdict_of("P1", "P2", channel="publication").verdict == "warning"
    assert verdict_of("P2", channel="teaching").verdict == "acceptable"


def test_scientific_panels_lower_composite():
    v = verdict_of("P1", "S4", "S2")
    assert v.verdict == "acceptable" and v.status == "scientific"
    assert "lowered" in next(j.reason for j in v.signals if j.signal.id == "P1")
    assert verdict_of("P1", "S4", "P5").verdict == "blocked"


def test_jurisdictions_and_variants():
    assert verdict_of("P6").verdict == "blocked"
    assert verdict_of("P6", jurisdiction="us").verdict == "warning"
    assert verdict_of(("P8", "guarantee"), jurisdiction="uk").verdict == "blocked"
    assert verdict_of("P8").verdict == "warning"
    assert verdict_of(("P9", "sponsored")).verdict == "blocked"


def test_messages_in_both_languages():
    fr = verdict_of(("P6", "", None, "-20%"), lang="fr").signals[0]
    en = verdict_of(("P6", "", None, "-20%"), lang="en").signals[0]
    assert "« -20% »" in fr.message and '"-20%"' in en.message
    assert fr.rule.startswith("CSP R.4127-19")


def test_rules_file_covers_catalogue():
    rules = load_rules()
    expected = {f"I{n}" for n in range(1, 11)} | {f"P{n}" for n in range(1, 14)}
    expected |= {f"S{n}" for n in range(1, 9)}
    assert set(rules.signals) == expected
    for ch in rules.channels:
        for ju in rules.jurisdictions:
            for sid in rules.signals:
                assert rules.severity(sid, "", ch, ju, False) in ("info", "warn", "block")


def test_bad_rules_are_refused():
    with pytest.raises(RuleError):
        Rules(
            {
                "meta": {
                    "channels": ["social"],
                    "jurisdictions": ["fr"],
                    "default_channel": "social",
                    "default_jurisdiction": "fr",
                },
                "signals": {"P1": {"kind": "promotional", "severity": "maybe"}},
            }
        )


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "radio.png"), sy.radiograph(2))
    cv2.imwrite(str(folder / "pair.png"), promo_pair(seed=3))
    cv2.imwrite(str(folder / "price.png"), sy.draw_stars(sy.skin_photo(4), (10, 10)))
    return folder


def run(args):
    return CliRunner().invoke(check, args)


def test_cli_exit_codes(files: Path):
    assert run([str(files / "radio.png"), "--no-ocr"]).exit_code == 0
    assert run([str(files / "pair.png"), "--no-ocr"]).exit_code == 1
    assert run([str(files), "--no-ocr"]).exit_code == 2
    assert run([str(files / "missing.png")]).exit_code == 3
    assert run(["--channel", "nowhere", str(files)]).exit_code == 3
    assert run([]).exit_code == 3
    (files / "broken.png").write_bytes(b"not an image")
    assert run([str(files / "broken.png"), "--no-ocr"]).exit_code == 4


def test_cli_json_lines(files: Path):
    res = run([str(files), "--json", "--no-ocr", "--lang", "en"])
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 3
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["price.png"]["verdict"] == "blocked"
    assert by_name["radio.png"]["verdict"] == "acceptable"
    p7 = next(s for s in by_name["price.png"]["signals"] if s["id"] == "P7")
    assert p7["severity"] == "block" and p7["regions"] and p7["rule"]


def test_cli_human_output_in_french(files: Path):
    res = run([str(files / "price.png"), "--no-ocr"])
    assert "BLOQUÉ" in res.output and "R.4127-19-1" in res.output


def test_cli_dicom(tmp_path: Path):
    import pydicom

    src = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
    shutil.copy(src, tmp_path / "ct.dcm")
    res = run([str(tmp_path / "ct.dcm"), "--json", "--no-ocr"])
    row = json.loads(res.output)
    assert row["verdict"] == "blocked" and res.exit_code == 2
    i4 = next(s for s in row["signals"] if s["id"] == "I4")
    assert "PatientName" in i4["text"]
    assert "CompressedSamples" not in res.output  # no header value is quoted


def test_cli_html_is_self_contained(files: Path, tmp_path: Path):
    out = tmp_path / "report.html"
    res = run([str(files), "--no-ocr", "--html", str(out)])
    assert res.exit_code == 2
    page = out.read_text("utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "BLOQUÉ" in page


def test_numpy_api_rejects_non_uint8():
    with pytest.raises(TypeError):
        find_signals(np.zeros((10, 10), np.float32), ocr=False)


def test_check_finds_faces_itself(tmp_path: Path) -> None:
    """I1 comes from medanon's face detector when the caller gives no faces."""
    skimage_data = pytest.importorskip("skimage.data")
    from medanon.faces import default_detector
    from medanon.verdict import assess_file

    if not default_detector().is_available():
        pytest.skip("no face detector installed")
    path = tmp_path / "portrait.png"
    cv2.imwrite(str(path), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    _, verdict = assess_file(path, channel="social", jurisdiction="fr", ocr=False)
    assert "I1" in {j.signal.id for j in verdict.signals}
    assert verdict.verdict == "blocked"


def test_check_output_never_quotes_identifying_text(tmp_path: Path) -> None:
    """Text read from the image that matches the header is never printed, whatever the signal."""
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    image = np.full((256, 320), 40, np.uint8)
    cv2.putText(image, "DUPONTEL MARGUERITE", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.PatientName, ds.Modality = "DUPONTEL^Marguerite", "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = image.shape
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = image.tobytes()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "x.dcm"
    ds.save_as(path, enforce_file_format=True)
    for args in (["--json"], ["--lang", "en"]):
        result = CliRunner().invoke(check, [str(path), *args])
        assert "DUPONTEL" not in result.output.upper()
        assert "MARGUERITE" not in result.output.upper()


@needs_ocr
def test_check_output_never_quotes_text_read_from_a_picture(tmp_path: Path) -> None:
    """A PNG has no header to compare with: contacts and names read in it are reported by kind."""
    import re

    image = np.full((200, 700, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, "Tel 04 73 55 12 98", (20, 60), font, 1.3, (0, 0, 0), 3)
    cv2.putText(image, "marguerite.dupontel@mail.fr", (20, 130), font, 1.1, (0, 0, 0), 3)
    cv2.putText(image, "Dupontel_Marguerite", (20, 185), font, 1.1, (0, 0, 0), 3)
    path = tmp_path / "picture.png"
    cv2.imwrite(str(path), image)
    phone = re.compile(r"04\D{0,3}73|73\D{0,3}55|55\D{0,3}12|12\D{0,3}98")
    for args in (["--json"], ["--lang", "en"], ["--lang", "fr"]):
        output = CliRunner().invoke(check, [str(path), *args]).output
        assert "DUPONTEL" not in output.upper() and "MARGUERITE" not in output.upper()
        assert "@" not in output and "mail.fr" not in output
        assert not phone.search(output), output
    signals = json.loads(CliRunner().invoke(check, [str(path), "--json"]).output)["signals"]
    contacts = {s["text"] for s in signals if s["id"] == "P5"}
    assert contacts == {"phone number", "e-mail address"}


def _masked_astronaut(kind: str) -> tuple[np.ndarray, Region]:
    """The astronaut with the face box the detector gives for it, masked the way named."""
    skimage_data = pytest.importorskip("skimage.data")
    image = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    face = Region(178, 64, 92, 111)
    x0, y0, x1, y1 = face.x, face.y, face.x + face.w, face.y + face.h
    inside = image[y0:y1, x0:x1]
    if kind == "eye bar":
        cv2.rectangle(image, (x0 - 5, y0 + 28), (x1 + 5, y0 + 50), (0, 0, 0), -1)
    elif kind == "blurred":
        image[y0:y1, x0:x1] = cv2.GaussianBlur(inside, (0, 0), 3)
    elif kind == "pixelated":
        blocks = cv2.resize(inside, (face.w // 6, face.h // 6), interpolation=cv2.INTER_AREA)
        image[y0:y1, x0:x1] = cv2.resize(blocks, (face.w, face.h), interpolation=cv2.INTER_NEAREST)
    return image, face


@pytest.mark.parametrize("kind", ["eye bar", "blurred", "pixelated"])
def test_inadequate_masking_of_a_face_is_named(kind: str) -> None:
    image, face = _masked_astronaut(kind)
    signals = find_signals(image, Known(faces=(face,)), ocr=False)
    masking = [s for s in signals if s.id == "I2"]
    assert [s.variant for s in masking] == [kind]
    verdict = judge(signals, "social", "fr", lang="en")
    i2 = next(j for j in verdict.signals if j.signal.id == "I2")
    assert i2.severity == "block" and "ICMJE" in i2.rule


def test_unmasked_face_and_filled_face_are_not_inadequate_masking() -> None:
    image, face = _masked_astronaut("none")
    assert not [s for s in find_signals(image, Known(faces=(face,)), ocr=False) if s.id == "I2"]
    filled = image.copy()
    filled[face.y : face.y + face.h, face.x : face.x + face.w] = 0
    # A filled face is no longer found by the detector; I2 only looks at faces it is given.
    assert not [s for s in find_signals(filled, Known(), ocr=False) if s.id == "I2"]


@pytest.mark.skipif(not is_available(), reason="Tesseract is not installed")
def test_s1_only_when_everything_was_searched_and_nothing_found(tmp_path: Path) -> None:
    from medanon.faces import default_detector
    from medanon.verdict import assess_file

    if not default_detector().is_available():
        pytest.skip("no face detector installed")
    image = np.full((256, 256), 30, np.uint8)
    cv2.circle(image, (128, 128), 80, 150, -1)
    clean = tmp_path / "figure.png"
    cv2.imwrite(str(clean), image)
    ids = {j.signal.id for j in assess_file(clean, channel="social", jurisdiction="fr")[1].signals}
    assert "S1" in ids
    not_searched = assess_file(clean, channel="social", jurisdiction="fr", detect_faces=False)[1]
    assert "S1" not in {j.signal.id for j in not_searched.signals}
    cv2.putText(image, "DOB 13/04/1961", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    dated = tmp_path / "dated.png"
    cv2.imwrite(str(dated), image)
    ids = {j.signal.id for j in assess_file(dated, channel="social", jurisdiction="fr")[1].signals}
    assert "I3" in ids and "S1" not in ids
    # A name in a picture without a header cannot be told from any word: no S1 either.
    named = np.full((256, 256), 30, np.uint8)
    cv2.putText(named, "Marguerite Dupontel", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 2)
    cv2.imwrite(str(tmp_path / "named.png"), named)
    verdict = assess_file(tmp_path / "named.png", channel="social", jurisdiction="fr")[1]
    assert "S1" not in {j.signal.id for j in verdict.signals}


def test_check_judges_extreme_strips_without_crashing(tmp_path: Path) -> None:
    for name, shape in (("wide.png", (2, 20000)), ("tall.png", (9000, 1))):
        cv2.imwrite(str(tmp_path / name), np.zeros(shape, np.uint8))
    page = tmp_path / "page.html"
    result = CliRunner().invoke(check, [str(tmp_path), "--json", "--html", str(page)])
    assert result.exit_code in (0, 1, 2), result.output
    assert page.exists() and len(result.stdout.strip().splitlines()) == 2


# --------------------------------------------------------------- P11 / S6: standardised views


def _standards(img: np.ndarray, imaging: bool = False) -> list[str]:
    from medanon.verdict.composite import find_panels
    from medanon.verdict.standards import find_standardisation

    same = next((p for p in find_panels(img) if p.same), None)
    assert same is not None  # a same-subject composite
    return [s.id for s in find_standardisation(img, same, imaging)]


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_views_taken_alike_are_standardised_photography(seed: int) -> None:
    """Same plain background, light, distance and angle; only the subject changed (S6)."""
    before = sy.skin_photo(seed)
    img = sy.compose([before, sy.standardised_after(before, seed + 100)], gap=8)
    assert _standards(img) == ["S6"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])  # light, background, closer: twice each
def test_a_flattering_after_view_is_a_non_standardised_comparison(seed: int) -> None:
    """Brighter, warmer light, another background or a closer view (P11, with what differs)."""
    from medanon.verdict.composite import find_panels
    from medanon.verdict.standards import find_standardisation

    before = sy.skin_photo(seed)
    img = sy.compose([before, sy.restaged_after(before, seed + 100)], gap=8)
    same = next(p for p in find_panels(img) if p.same)
    (signal,) = find_standardisation(img, same, imaging=False)
    assert signal.id == "P11"
    expected = ("background or lighting", "background or lighting", "distance or framing")
    assert expected[(seed + 100) % 3] in signal.text


def test_standards_are_not_judged_on_grey_or_internal_imaging() -> None:
    """Radiographs and slices: the modality sets the conditions (no P11, no S6)."""
    before = sy.skin_photo(3)
    colour = sy.compose([before, sy.restaged_after(before, 102)], gap=8)
    assert _standards(colour) == ["P11"]
    assert _standards(colour, imaging=True) == []
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    assert _standards(grey) == []


def test_labelled_panels_do_not_excuse_a_non_standardised_comparison() -> None:
    """P1 with panel labels (S4) is a scientific composite only if the views were taken alike:
    P11 keeps P1 at warning."""
    p1 = Signal("P1", regions=(Region(0, 0, 10, 10), Region(20, 0, 10, 10)))
    labels = Signal("S4", text="A/B")
    alike = judge([p1, labels, Signal("S6")])
    assert alike.verdict == "acceptable"
    restaged = judge([p1, labels, Signal("P11", text="distance or framing (x1.27)")])
    assert restaged.verdict == "warning"
    assert {j.signal.id: j.severity for j in restaged.signals}["P1"] == "warn"


def _skin_treated(img: np.ndarray, shift: tuple[int, int, int] = (14, 6, -14)) -> np.ndarray:
    """The subject's skin less red (a treatment's effect), the backdrop unchanged."""
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
    backdrop = np.median(lab[:4].reshape(-1, 3), axis=0)
    skin = np.linalg.norm(lab - backdrop, axis=2) > 12
    out = img.astype(np.float32)
    out[skin] += np.array(shift, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("layout", ["horizontal", "vertical"])
def test_a_treated_skin_on_a_shared_backdrop_is_not_another_background(layout: str) -> None:
    """Photographs butted together on one plain backdrop: trimming the composite takes the
    backdrop off, and the ring of the trimmed panels lay on the skin, so a treatment read as a
    change of light (P11, found by an audit). The backdrop is measured out to the edges."""
    for seed in (0, 1, 2):
        before = sy.skin_photo(seed)
        after = _skin_treated(sy.standardised_after(before, seed + 100))
        assert "P11" not in _standards(sy.compose([before, after], layout, gap=0))


def test_a_close_up_has_no_backdrop_to_judge() -> None:
    """Skin filling both frames, less red after: no backdrop in view, so no claim about one."""
    before = np.ascontiguousarray(sy.skin_photo(5, size=(600, 480))[150:330, 180:420])
    after = _skin_treated(sy.standardised_after(before, 105), (16, 6, -16))
    assert _standards(sy.compose([before, after], gap=8)) in ([], ["S6"])
    assert "P11" not in _standards(sy.compose([before, after], gap=8))


@pytest.mark.parametrize("shrink", [0.8, 0.7])
def test_a_panel_shown_smaller_on_a_white_canvas_was_not_taken_from_further(shrink: float) -> None:
    """A collage shows the "after" smaller, centred on white: neither the canvas nor the
    display size is a change of background or distance."""
    before = sy.skin_photo(2)
    after = sy.standardised_after(before, 102)
    after = cv2.resize(after, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    h, w = before.shape[:2]
    img = np.full((h, 2 * w + 8, 3), 255, np.uint8)
    img[:, :w] = before
    top = (h - after.shape[0]) // 2
    img[top : top + after.shape[0], w + 8 : w + 8 + after.shape[1]] = after
    assert "P11" not in _standards(img)


def test_grey_stored_as_three_channels_is_not_judged() -> None:
    before = sy.skin_photo(3)
    colour = sy.compose([before, sy.restaged_after(before, 102)], gap=8)
    grey = cv2.cvtColor(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert _standards(grey) == []


def test_what_differs_is_shown_even_beside_a_face() -> None:
    """P11's evidence is medanon's measurement, not text read from the image: it is not hidden
    when a face (I1) overlaps the panels, as text evidence is."""
    before = sy.skin_photo(3)
    img = sy.compose([before, sy.restaged_after(before, 102)], gap=8)
    face = Region(40, 40, 120, 120)
    signals = find_signals(img, Known(faces=[face]), ocr=False)
    (p11,) = [s for s in signals if s.id == "P11"]
    assert p11.text.startswith("background or lighting (delta E ")


def test_odd_array_shapes_get_a_clear_error_or_are_read_as_grey() -> None:
    """(H, W, 1) is grey; two channels and empty arrays are refused with a clear message
    instead of an OpenCV error from deep inside a detector (found by an audit)."""
    grey = sy.radiograph(1)
    assert [s.id for s in find_signals(grey[..., None], ocr=False)] == [
        s.id for s in find_signals(grey, ocr=False)
    ]
    for bad in (np.zeros((40, 40, 2), np.uint8), np.zeros((0, 0), np.uint8)):
        with pytest.raises(ValueError, match="grey"):
            find_signals(bad, ocr=False)
