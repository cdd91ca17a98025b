"""Header de-identification behaviour on synthetic PHI (tests/factories.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from medanon import Keyring, Option, Scrubber, VerificationError, load_policy
from medanon.dicom.identifiers import GENERIC_PATTERNS, Identifiers
from medanon.dicom.markers import IMPLEMENTATION_CLASS_UID
from medanon.dicom.verify import verify_output
from medanon.io import encode_dataset
from tests import factories
from tests.factories import PLANTED, phi_dataset, write_phi_file

UID_RE = re.compile(r"^2\.25\.(0|[1-9]\d*)$")


def _scrub(scrubber: Scrubber, tmp_path: Path, **kwargs: object) -> tuple[Dataset, Dataset, bytes]:
    source = tmp_path / "in" / f"{len(list(tmp_path.rglob('*')))}.dcm"
    original = write_phi_file(source, **kwargs)  # type: ignore[arg-type]
    target = tmp_path / "out" / source.name
    result = scrubber.scrub_file(source, target)
    assert result.status == "ok", result.error
    return original, dcmread(target), target.read_bytes()


@pytest.mark.parametrize("profile", ["basic", "research", "social"])
def test_no_planted_value_survives_anywhere_in_the_file(
    profile: str, keyring: Keyring, tmp_path: Path
) -> None:
    scrubber = Scrubber(load_policy(profile), keyring)
    original, out, data = _scrub(scrubber, tmp_path)
    lowered = data.lower()
    for value in [*PLANTED, str(original.StudyInstanceUID), str(original.SOPInstanceUID)]:
        assert value.lower().encode() not in lowered, value
    assert data[:128] == b"\x00" * 128
    assert "PatientAddress" not in out and "OtherPatientIDsSequence" not in out


def test_file_meta_is_regenerated(scrubber: Scrubber, tmp_path: Path) -> None:
    _, out, _ = _scrub(scrubber, tmp_path)
    meta = out.file_meta
    assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName.startswith("MEDANON")
    assert "SourceApplicationEntityTitle" not in meta


def test_pixel_data_is_byte_identical(scrubber: Scrubber, tmp_path: Path) -> None:
    original, out, _ = _scrub(scrubber, tmp_path)
    assert out.PixelData == original.PixelData


def test_uids_are_keyed_valid_and_consistent_across_files(keyring: Keyring, tmp_path: Path) -> None:
    scrubber = Scrubber(load_policy("research"), keyring)
    study, series = generate_uid(), generate_uid()
    first_uid = generate_uid()
    a, out_a, _ = _scrub(
        scrubber, tmp_path, study_uid=study, series_uid=series, instance_uid=first_uid
    )
    _, out_b, _ = _scrub(scrubber, tmp_path, study_uid=study, series_uid=series)
    for out in (out_a, out_b):
        for keyword in (
            "StudyInstanceUID",
            "SeriesInstanceUID",
            "SOPInstanceUID",
            "FrameOfReferenceUID",
        ):
            value = str(out[keyword].value)
            assert UID_RE.match(value) and len(value) <= 64, keyword
    assert out_a.StudyInstanceUID == out_b.StudyInstanceUID == keyring.uid(study)
    assert out_a.SeriesInstanceUID == out_b.SeriesInstanceUID
    assert out_a.SOPInstanceUID != out_b.SOPInstanceUID
    assert out_a.SOPClassUID == a.SOPClassUID  # well-known UIDs are never remapped
    # A reference to file A from a sequence elsewhere maps to A's new SOP Instance UID.
    ref = phi_dataset(study_uid=study)
    item = Dataset()
    item.ReferencedSOPClassUID = a.SOPClassUID
    item.ReferencedSOPInstanceUID = first_uid
    ref.ReferencedImageSequence = [item]
    clean, _ = scrubber.scrub_dataset(ref)
    assert clean.ReferencedImageSequence[0].ReferencedSOPInstanceUID == out_a.SOPInstanceUID
    assert clean.ReferencedImageSequence[0].ReferencedSOPClassUID == a.SOPClassUID


def test_same_input_same_key_same_bytes_other_key_other_uids(
    keyring: Keyring, tmp_path: Path
) -> None:
    source = tmp_path / "a.dcm"
    write_phi_file(source)
    outputs = []
    for key, name in (
        (keyring, "1.dcm"),
        (keyring, "2.dcm"),
        (Keyring(b"another-key-0123456789"), "3.dcm"),
    ):
        result = Scrubber(load_policy("research"), key).scrub_file(source, tmp_path / name)
        assert result.status == "ok"
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_retain_uids_option(keyring: Keyring) -> None:
    policy = load_policy("basic").with_options([Option.RETAIN_UIDS])
    original = phi_dataset()
    clean, _ = Scrubber(policy, keyring).scrub_dataset(original)
    assert clean.StudyInstanceUID == original.StudyInstanceUID
    assert clean.SOPInstanceUID == original.SOPInstanceUID
    codes = {item.CodeValue for item in clean.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113110"}


def test_basic_profile_markers_and_dates(scrubber: Scrubber) -> None:
    clean, outcome = scrubber.scrub_dataset(phi_dataset())
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.LongitudinalTemporalInformationModified == "REMOVED"
    assert [i.CodeValue for i in clean.DeidentificationMethodCodeSequence] == ["113100"]
    assert any("2026d" in v for v in clean.DeidentificationMethod)
    assert clean.StudyDate == "" and "AcquisitionDate" not in clean  # Z, and X/Z on Type 3
    assert clean.ContentDate == ""  # X/Z... no: Z/D resolved to Z for a Type 2 attribute
    assert clean.PatientName == "" and clean.PatientID == ""  # Z, Z/D -> Z (Type 2)
    assert "InstitutionName" not in clean  # X/Z/D -> X (Type 3 in General Equipment)
    assert "StationName" not in clean and "DeviceSerialNumber" not in clean
    assert "StudyDescription" not in clean and "ImageComments" not in clean
    assert "RequestAttributesSequence" not in clean
    assert outcome.counts["private_removed"] == 2
    assert not any(tag.is_private for tag in clean.keys())


def test_unknown_iod_resolves_compound_actions_conservatively(scrubber: Scrubber) -> None:
    ds = phi_dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR: not in attribute_types.toml
    clean, _ = scrubber.scrub_dataset(ds)
    assert clean.InstitutionName not in ("", factories.INSTITUTION)  # X/Z/D -> D: a dummy
    assert clean.DeviceSerialNumber not in ("", factories.SERIAL)
    assert clean.ContentDate == "19000101"  # Z/D -> D


def test_research_profile(keyring: Keyring) -> None:
    research = Scrubber(load_policy("research"), keyring)
    clean, outcome = research.scrub_dataset(phi_dataset())
    # Pseudonyms, keyed and formatted.
    assert re.fullmatch(r"[A-Z2-7]{12}", clean.PatientID)
    assert re.fullmatch(r"ANON\^[A-Z2-7]{12}", str(clean.PatientName))
    assert outcome.patient_map == {factories.PATIENT_ID: clean.PatientID}
    # Dates shifted by one per-patient offset, intervals kept; times kept.
    assert clean.LongitudinalTemporalInformationModified == "MODIFIED"
    assert clean.StudyDate == clean.AcquisitionDate != "20240317"
    assert outcome.date_offset_days is not None and -3650 <= outcome.date_offset_days <= -1
    assert "PatientBirthDate" in clean and clean.PatientBirthDate == ""
    # Patient characteristics kept.
    assert clean.PatientSex == "F" and clean.PatientAge == "062Y"
    # Clean Descriptors: the name and the date go, the description stays.
    assert clean.StudyDescription.startswith("CT thorax [removed] follow-up")
    assert "2024" not in clean.StudyDescription
    assert "Dupontel" not in clean.ImageComments and "1961" not in clean.ImageComments
    assert "Marguerite" not in clean.ImageComments and "55 12 98" not in clean.ImageComments
    # Retain Safe Private: the E.3.10-1 attribute and its creator stay, the other goes.
    private = {(t.group, t.element) for t in clean.keys() if t.is_private}
    assert private == {(0x0019, 0x0010), (0x0019, 0x1023)}
    assert clean[0x00190010].value == "GEMS_ACQU_01"
    # Nested sequences cleaned, not dropped.
    request = clean.RequestAttributesSequence[0]
    assert factories.PATIENT_ID not in request.ReasonForTheRequestedProcedure
    # Overlays go whole (their cleaning needs the pixel stage).
    assert not any(0x6000 <= t.group <= 0x601E for t in clean.keys())
    codes = [i.CodeValue for i in clean.DeidentificationMethodCodeSequence]
    assert codes == sorted(["113100", "113111", "113107", "113108", "113105", "113104", "113103"])


def test_same_patient_same_offset_other_patient_other_offset(keyring: Keyring) -> None:
    research = Scrubber(load_policy("research"), keyring)
    _, a = research.scrub_dataset(phi_dataset())
    _, b = research.scrub_dataset(phi_dataset())
    _, c = research.scrub_dataset(phi_dataset(patient_id="SOMEONE-ELSE-1"))
    assert a.date_offset_days == b.date_offset_days != c.date_offset_days


def test_full_dates_option_keeps_dates(keyring: Keyring) -> None:
    policy = load_policy("basic").with_options([Option.RETAIN_LONGITUDINAL_FULL_DATES])
    clean, _ = Scrubber(policy, keyring).scrub_dataset(phi_dataset())
    assert clean.StudyDate == "20240317" and clean.AcquisitionDate == "20240317"
    assert clean.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert clean.PatientBirthDate == ""  # not a longitudinal date


def test_device_and_institution_options(keyring: Keyring) -> None:
    policy = load_policy("basic").with_options(
        [Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_INSTITUTION_IDENTITY]
    )
    clean, _ = Scrubber(policy, keyring).scrub_dataset(phi_dataset())
    assert clean.StationName == factories.STATION
    assert clean.DeviceSerialNumber == factories.SERIAL
    assert clean.InstitutionName == factories.INSTITUTION


def test_scrub_dataset_leaves_the_input_untouched(scrubber: Scrubber) -> None:
    original = phi_dataset()
    before = encode_dataset(original)
    scrubber.scrub_dataset(original)
    assert encode_dataset(original) == before


def test_echo_scrub_reaches_unlisted_attributes(scrubber: Scrubber) -> None:
    ds = phi_dataset()
    ds.InterventionDescription = f"given to {factories.PATIENT_ID} by DUPONTEL M."  # not in E.1-1
    clean, outcome = scrubber.scrub_dataset(ds)
    assert factories.PATIENT_ID not in clean.InterventionDescription
    assert "DUPONTEL" not in clean.InterventionDescription.upper()
    assert outcome.counts["text_scrubbed"] >= 1


def test_verification_fails_closed_and_names_no_value() -> None:
    ds = phi_dataset()
    ds.preamble = b"\x00" * 128
    data = encode_dataset(ds)
    identifiers = Identifiers.from_dataset(ds)
    with pytest.raises(VerificationError) as info:
        verify_output(data, identifiers, str(ds.SOPInstanceUID))
    message = str(info.value)
    assert "AccessionNumber: id" in message and "source AE title" in message
    for value in PLANTED:
        assert value.lower() not in message.lower()


def test_name_spellings_are_found() -> None:
    ds = Dataset()
    ds.PatientName = "DOE^JOHN"
    ids = Identifiers.from_dataset(ds)
    for text in ("DOE^JOHN", "John Doe", "Doe, J.", "J. Doe", "doe john", "Dr Doé"):
        assert ids.find(text), text
    assert not ids.find("Johnson Doeberg")


@pytest.mark.parametrize("charset", ["ISO_IR 100", "ISO_IR 192"])
def test_accented_names_in_kept_text_are_found(
    charset: str, scrubber: Scrubber, tmp_path: Path
) -> None:
    ds = phi_dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = "LEFÈVRE^Bérénice"
    ds.Manufacturer = "Lefèvre Bérénice"  # kept by every profile: the echo scrub must find it
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = scrubber.scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "ok", result.error
    out = dcmread(tmp_path / "out.dcm")
    assert "lef" not in out.Manufacturer.lower() and "nice" not in out.Manufacturer.lower()


def test_fold_keeps_positions_with_sharp_s() -> None:
    from medanon.dicom.identifiers import fold, scrub_text

    assert len(fold("ßßßß Müller")) == len("ßßßß Müller")
    ds = Dataset()
    ds.PatientName = "MÜLLER^Anneliese"
    ds.PatientID = "PID555123"
    text, removed = scrub_text(
        "ßßßß Müller, ID PID555123", Identifiers.from_dataset(ds), generic=False
    )
    assert text == "ßßßß [removed], ID [removed]" and removed == 2


@pytest.mark.parametrize(
    "text",
    [
        "seen 17/03/2024",
        "seen 3/17/2024",
        "4/14/2020 8:48",
        "2024-03-17",
        "17 mars 2024",
        "May 3, 2024",
    ],
)
def test_generic_date_pattern_reads_every_usual_order(text: str) -> None:
    dates = dict(GENERIC_PATTERNS)["date"]
    assert dates.search(text), text


def test_generic_date_pattern_leaves_measurements() -> None:
    dates = dict(GENERIC_PATTERNS)["date"]
    assert not any(dates.search(t) for t in ["3.5 cm", "120 kVp", "W:400 L:40", "13/14/15"])


@pytest.mark.parametrize("where", ["public OB document", "text written as OB"])
def test_verification_reads_every_element_as_bytes(
    scrubber: Scrubber, tmp_path: Path, where: str
) -> None:
    """A name kept in a binary element (a document kept by the profile, a text attribute with a
    wrong VR) is not cleared as 'not text': the file fails."""
    from pydicom.dataelem import DataElement

    ds = phi_dataset()
    payload = f"{factories.PATIENT_NAME} {factories.PATIENT_ID}".encode()
    if where == "public OB document":
        ds[0x00686300] = DataElement(0x00686300, "OB", payload)  # HPGL Document
    else:
        ds[0x00181003] = DataElement(0x00181003, "OB", payload)  # Device ID, wrong VR
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = scrubber.scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "failed" and "verification" in (result.error or "")
    assert not (tmp_path / "out.dcm").exists()
    assert "DUPONTEL" not in (result.error or "")


@pytest.mark.parametrize(
    ("header", "text"),
    [
        ("MULLER^JURGEN", "Herr Jürgen Müller, Kontrolle"),  # ASCII header, accented text
        ("MÜLLER^Jürgen", "Herr Jurgen Muller, Kontrolle"),  # and the other way round
        ("DUPONTEL-LAVAUD^Marie-Claire", "Mme Marie-Claire Dupontel-Lavaud, controle"),
        ("O'BRIANNACH^Siobhan", "Ms O'Briannach, review"),
        ("王^小明", "患者王小明复查"),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "山田太郎さんの検査"),
    ],
)
def test_echo_scrub_finds_every_spelling(research: Scrubber, header: str, text: str) -> None:
    ds = phi_dataset()
    ds.PatientName = header
    ds.ImageComments = text
    ds.DeviceID = text  # kept by every profile: the echo scrub must clean it
    clean, _ = research.scrub_dataset(ds)
    for value in (clean.ImageComments, clean.DeviceID):
        for word in ("Müller", "Muller", "Jürgen", "Jurgen", "Dupontel", "Lavaud", "Claire"):
            assert word.lower() not in value.lower()
        assert "Briannach" not in value and "王" not in value and "山田" not in value


def test_names_inside_sequences_are_searched_too(scrubber: Scrubber) -> None:
    """An SR observer's or a scheduled step's person name, found nowhere at the top level."""
    ds = phi_dataset()
    step = Dataset()
    step.ScheduledPerformingPhysicianName = "TRONCHET^Amandine"
    ds.ScheduledProcedureStepSequence = [step]
    ds.DeviceID = "tech Tronchet"
    clean, _ = scrubber.scrub_dataset(ds)
    assert "TRONCHET" not in clean.DeviceID.upper()


@pytest.mark.parametrize(
    "text",
    ["17-Mar-2024", "17 March, 2024", "17th March 2024", "March 17th, 2024", "1er mars 2024"],
)
def test_worded_dates_are_cleaned(research: Scrubber, text: str) -> None:
    ds = phi_dataset()
    ds.ImageComments = f"seen {text} for review"
    clean, _ = research.scrub_dataset(ds)
    assert "2024" not in clean.ImageComments and clean.ImageComments.startswith("seen ")


def test_kept_private_uids_are_remapped_like_the_instances_they_name(
    research: Scrubber,
) -> None:
    """A safe private attribute that references another series (kept by Retain Safe Private)
    must not keep its original UID: it maps as that series does in its own file."""
    source = phi_dataset()
    derived = phi_dataset()
    derived.private_block(0x0099, "NQHeader", create=True).add_new(
        0x02, "UI", source.SeriesInstanceUID
    )
    clean_source, _ = research.scrub_dataset(source)
    clean, _ = research.scrub_dataset(derived)
    kept = [e for e in clean if e.tag.group == 0x0099 and e.VR == "UI"]
    assert kept, "NQHeader (0099,xx02) is a safe private attribute (PS3.15 E.3.10-1)"
    assert kept[0].value == clean_source.SeriesInstanceUID != source.SeriesInstanceUID


def test_one_patient_one_offset_whatever_the_issuer(research: Scrubber) -> None:
    a = phi_dataset()
    b = phi_dataset(study_uid=a.StudyInstanceUID)
    a.IssuerOfPatientID = "PACS-HOSP"
    if "IssuerOfPatientID" in b:
        del b.IssuerOfPatientID
    clean_a, _ = research.scrub_dataset(a)
    clean_b, _ = research.scrub_dataset(b)
    assert clean_a.StudyDate == clean_b.StudyDate
    assert clean_a.PatientName == clean_b.PatientName and clean_a.PatientID == clean_b.PatientID


@pytest.mark.parametrize(
    "text",
    ["2024-03-17T10:15", "2020-02-20T09:00:00", "3 janv. 2019", "12 févr. 2020", "3 JANV 2019"],
)
def test_iso_date_times_and_french_abbreviations_are_cleaned(research: Scrubber, text: str) -> None:
    ds = phi_dataset()
    ds.ImageComments = f"suivi {text} ok"
    clean, _ = research.scrub_dataset(ds)
    assert clean.ImageComments == "suivi [removed] ok"


def test_date_shifting_keeps_positions_and_reads_dashed_dates(keyring: Keyring) -> None:
    policy = load_policy("research").with_options([Option.RETAIN_DEVICE_IDENTITY])
    research = Scrubber(policy, keyring)  # keeps Date of Last Calibration (shifted)
    ds = phi_dataset()
    ds.DateOfLastCalibration = ["20240101", "", "20240103"]
    ds.ContentDate = "2024-03-17"  # not DICOM, but common: shifted, not emptied (Type 1 in SR)
    ds.AcquisitionDate = "00010105"  # a placeholder out of any calendar: emptied, not a crash
    clean, outcome = research.scrub_dataset(ds)
    assert len(clean.DateOfLastCalibration) == 3 and clean.DateOfLastCalibration[1] == ""
    assert re.fullmatch(r"\d{8}", clean.ContentDate) and clean.ContentDate != "20240317"
    assert clean.AcquisitionDate == ""
    assert any("unparseable DA" in w for w in outcome.warnings)


def test_cleaned_values_stay_within_their_vr_length(research: Scrubber) -> None:
    """Each removal writes '[removed]': a value made of a short name many times would grow past
    its VR's maximum (LO 64, SH 16) and make the file invalid."""
    ds = phi_dataset()
    ds.PatientName = "LI^AN"
    ds.SeriesDescription = " ".join(["Li An"] * 12)  # 59 characters of name words
    ds.ManufacturerModelName = " ".join(["LI", "AN"] * 15)
    clean, _ = research.scrub_dataset(ds)
    assert len(clean.SeriesDescription) <= 64 and "LI" not in clean.SeriesDescription.upper()
    assert len(clean.ManufacturerModelName) <= 64


def test_a_patient_named_like_a_defined_term_is_not_refused(
    scrubber: Scrubber, tmp_path: Path
) -> None:
    """Mr Hand's hand X-ray: BodyPartExamined HAND is a defined term, not his name."""
    ds = phi_dataset()
    ds.PatientName = "HAND^Oliver"
    ds.BodyPartExamined = "HAND"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "HAND"]
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = scrubber.scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "ok", result.error
