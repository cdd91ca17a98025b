"""Generate the synthetic DICOM files and images of ``sample_images/`` (all PHI invented).

Usage: ``python scripts/make_samples.py [OUTDIR]`` (default ``sample_images``).

The output is deterministic: pixel data come from fixed NumPy seeds, UIDs from
``generate_uid(entropy_srcs=[...])`` over fixed strings, and no clock is read, so re-running the
script gives byte-identical files. Every name, ID, date, address and phone number below is made up;
none belongs to a real person.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

SEED_TEXT = "medanon-sample-images-v1"

# -- the fake people (invented) -------------------------------------------------------------------
P1_NAME = "MARCHETTI^Ottavio^Luigi"
P1_ID = "PX20931776"
P1_BIRTH = "19570822"
P1_ACCESSION = "ACC55301"
P1_ADDRESS = "7 chemin des Glycines, 63000 Clermont-Ferrand"
P1_PHONE = "04 73 18 62 05"
P1_REFERRING = "VANDERLINDEN^Hortense"
P1_OPERATOR = "BRIGNOLI^Sauveur"
P1_INSTITUTION = "Centre Hospitalier Fictif de Montrognon"
P1_STATION = "CTFICT02"
P1_SERIAL = "SN-FAKE-40417"

P2_NAME = "LEFÈVRE^Bérénice^Maëlle"
P2_ID = "MRN0042517"
P2_BIRTH = "19840229"
P2_ACCESSION = "ACC90077"
P2_REFERRING = "CHÂTELAIN^Aurélien"
P2_INSTITUTION = "Clinique Imaginaire Sainte-Édith"

P3_NAME = "OKONKWO^Adaeze"
P3_ID = "US7731884"
P3_BIRTH = "19990105"
P3_ACCESSION = "ACC31415"
P3_OPERATOR = "ØSTERGÅRD^Søren"

CT_ROWS = CT_COLS = 64
MR_ROWS = MR_COLS = 64
US_ROWS = US_COLS = 128
MF_ROWS = MF_COLS = 64
MF_FRAMES = 5
CT_SLICES = 3


def uid(*parts: str) -> UID:
    """A UID that depends only on ``parts`` (pydicom's prefix + a hash of them)."""
    return generate_uid(entropy_srcs=[SEED_TEXT, *parts])


def item(**attributes: object) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def file_meta(ds: Dataset, transfer_syntax: UID, source_ae: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = uid("implementation")
    meta.ImplementationVersionName = "FAKEPACS_1"
    meta.SourceApplicationEntityTitle = source_ae
    return meta


def grey_pixels(ds: Dataset, rows: int, cols: int, data: np.ndarray, bits_stored: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = data.astype("<u2").tobytes()


def phantom(rows: int, cols: int, seed: int, peak: int) -> np.ndarray:
    """A disc phantom with a little seeded noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols]
    r = np.hypot(y - rows / 2, x - cols / 2)
    image = np.where(r < rows * 0.4, peak * 0.6, peak * 0.05)
    image += np.where(np.hypot(y - rows * 0.4, x - cols * 0.6) < rows * 0.1, peak * 0.3, 0)
    image += rng.normal(0, peak * 0.02, (rows, cols))
    return np.clip(image, 0, peak).astype(np.uint16)


# -- patient 1: a CT series -----------------------------------------------------------------------
def ct_slices() -> list[tuple[str, Dataset]]:
    study = uid("p1", "ct", "study")
    series = uid("p1", "ct", "series")
    frame_of_reference = uid("p1", "ct", "for")
    instances = [uid("p1", "ct", "instance", str(i)) for i in range(1, CT_SLICES + 1)]
    out = []
    for index, instance in enumerate(instances, start=1):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = instance
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20230911"
        ds.StudyTime = "083000"
        ds.ContentTime = f"0830{index:02d}"
        ds.AccessionNumber = P1_ACCESSION
        ds.Modality = "CT"
        ds.Manufacturer = "GE MEDICAL SYSTEMS"
        ds.InstitutionName = P1_INSTITUTION
        ds.InstitutionAddress = P1_ADDRESS
        ds.ReferringPhysicianName = P1_REFERRING
        ds.StationName = P1_STATION
        ds.StudyDescription = "CT ABDOMEN MARCHETTI 2023-09-11"
        ds.SeriesDescription = "Abdomen 2.5mm"
        ds.OperatorsName = P1_OPERATOR
        ds.PatientName = P1_NAME
        ds.PatientID = P1_ID
        ds.IssuerOfPatientID = "CHF-MONTROGNON"
        ds.PatientBirthDate = P1_BIRTH
        ds.PatientSex = "M"
        ds.PatientAge = "066Y"
        ds.PatientAddress = P1_ADDRESS
        ds.PatientTelephoneNumbers = P1_PHONE
        ds.OtherPatientIDsSequence = Sequence(
            [item(PatientID="OLD-77310", IssuerOfPatientID="CHF-LEGACY")]
        )
        ds.DeviceSerialNumber = P1_SERIAL
        ds.ProtocolName = "ABDO BRIGNOLI"
        ds.ImageComments = (
            f"Ottavio Marchetti, ID {P1_ID}, born 22/08/1957, scanned 11/09/2023, tel {P1_PHONE}"
        )
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.StudyID = "ST5301"
        ds.SeriesNumber = 2
        ds.InstanceNumber = index
        ds.SliceThickness = "2.5"
        ds.ImagePositionPatient = [-160.0, -160.0, -100.0 + 2.5 * (index - 1)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = -100.0 + 2.5 * (index - 1)
        ds.RequestAttributesSequence = Sequence(
            [
                item(
                    RequestedProcedureID="RP-553017",
                    ScheduledProcedureStepID="SPS-5530",
                    ReasonForTheRequestedProcedure=f"Abdominal pain; patient {P1_ID} MARCHETTI",
                    ScheduledProtocolCodeSequence=Sequence(
                        [
                            item(
                                CodeValue="ABD1",
                                CodingSchemeDesignator="99FAKE",
                                CodeMeaning="Abdomen protocol for BRIGNOLI",
                            )
                        ]
                    ),
                )
            ]
        )
        ds.ReferencedImageSequence = Sequence(
            [
                item(ReferencedSOPClassUID=CTImageStorage, ReferencedSOPInstanceUID=other)
                for other in instances
                if other != instance
            ]
        )
        # Private: a safe attribute of PS3.15 Table E.3.10-1 and an unsafe one holding PHI.
        ds.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(0x23, "DS", "39.375")
        ds.private_block(0x0029, "FAKEVENDOR PHI", create=True).add_new(
            0x10, "LO", f"{P1_NAME} {P1_ID}"
        )
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.PixelSpacing = [0.625, 0.625]
        grey_pixels(ds, CT_ROWS, CT_COLS, phantom(CT_ROWS, CT_COLS, 100 + index, 4095), 12)
        ds.file_meta = file_meta(ds, ExplicitVRLittleEndian, "CTFICT02_AE")
        # The preamble is free for applications: some put PHI there (PS3.10 7.1).
        ds.preamble = (f"{P1_NAME} {P1_ID}".encode() + b"\x00" * 128)[:128]
        out.append((f"patient1/ct/CT{index:04d}.dcm", ds))
    return out


# -- patient 1: a multi-frame secondary capture, Deflated Explicit VR Little Endian ---------------
def multiframe() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SOPClassUID = MultiFrameGrayscaleWordSecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid("p1", "mf", "instance")
    ds.StudyDate = ds.ContentDate = "20230912"
    ds.StudyTime = ds.ContentTime = "141500"
    ds.AccessionNumber = "ACC55302"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.InstitutionName = P1_INSTITUTION
    ds.ReferringPhysicianName = P1_REFERRING
    ds.StudyDescription = "Cine review Ottavio MARCHETTI"
    ds.PatientName = P1_NAME
    ds.PatientID = P1_ID
    ds.PatientBirthDate = P1_BIRTH
    ds.PatientSex = "M"
    ds.StudyInstanceUID = uid("p1", "mf", "study")
    ds.SeriesInstanceUID = uid("p1", "mf", "series")
    ds.StudyID = "ST5302"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.BurnedInAnnotation = "NO"
    ds.DerivationDescription = f"Exported for {P1_NAME}, MRN {P1_ID}"
    ds.NumberOfFrames = MF_FRAMES
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = "40"
    frames = np.stack([phantom(MF_ROWS, MF_COLS, 200 + f, 1023) for f in range(MF_FRAMES)])
    grey_pixels(ds, MF_ROWS, MF_COLS, frames, 10)
    ds.file_meta = file_meta(ds, DeflatedExplicitVRLittleEndian, "WORKSTATION9")
    return ds


# -- patient 2: MR images with an overlay and accented names --------------------------------------
def mr_image(charset: str, number: int, transfer_syntax: UID) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = uid("p2", "mr", "instance", str(number))
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240104"
    ds.StudyTime = "161000"
    ds.ContentTime = f"1610{number:02d}"
    ds.AccessionNumber = P2_ACCESSION
    ds.Modality = "MR"
    ds.Manufacturer = "FAKE MAGNETICS"
    ds.InstitutionName = P2_INSTITUTION
    ds.ReferringPhysicianName = P2_REFERRING
    ds.StudyDescription = "IRM genou droit - Mme Lefèvre"
    ds.SeriesDescription = "T1 sag"
    ds.PatientName = P2_NAME
    ds.PatientID = P2_ID
    ds.PatientBirthDate = P2_BIRTH
    ds.PatientSex = "F"
    ds.PatientAge = "039Y"
    ds.PatientComments = "Allergie iode signalée par Bérénice Lefèvre le 04/01/2024"
    ds.ImageComments = f"Bérénice LEFÈVRE née le 29/02/1984, dossier {P2_ID}"
    ds.StudyInstanceUID = uid("p2", "mr", "study")
    ds.SeriesInstanceUID = uid("p2", "mr", "series")
    ds.FrameOfReferenceUID = uid("p2", "mr", "for")
    ds.StudyID = "IRM9007"
    ds.SeriesNumber = 5
    ds.InstanceNumber = number
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.MRAcquisitionType = "2D"
    ds.EchoTime = "12"
    ds.RepetitionTime = "500"
    ds.MagneticFieldStrength = "1.5"
    ds.PixelSpacing = [0.5, 0.5]
    grey_pixels(ds, MR_ROWS, MR_COLS, phantom(MR_ROWS, MR_COLS, 300 + number, 2047), 12)
    # Overlay plane 6000 (PS3.3 C.9.2): a box, with a label and description naming the patient.
    mask = np.zeros((MR_ROWS, MR_COLS), np.uint8)
    mask[8:56, 8] = mask[8:56, 55] = mask[8, 8:56] = mask[55, 8:56] = 1
    ds.add_new(0x60000010, "US", MR_ROWS)
    ds.add_new(0x60000011, "US", MR_COLS)
    ds.add_new(0x60000022, "LO", "ROI tracée pour Bérénice Lefèvre")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60001500, "LO", "LEFÈVRE")
    ds.add_new(0x60003000, "OW", np.packbits(mask.ravel(), bitorder="little").tobytes())
    ds.file_meta = file_meta(ds, transfer_syntax, "IRM_AE")
    return ds


# -- patient 3: an ultrasound-like RGB secondary capture ------------------------------------------
def ultrasound() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid("p3", "us", "instance")
    ds.StudyDate = ds.ContentDate = "20240520"
    ds.StudyTime = ds.ContentTime = "101010"
    ds.AccessionNumber = P3_ACCESSION
    ds.Modality = "US"
    ds.ConversionType = "DV"
    ds.Manufacturer = "FAKESONIC"
    ds.OperatorsName = P3_OPERATOR
    ds.StudyDescription = "Echo abdo OKONKWO"
    ds.PatientName = P3_NAME
    ds.PatientID = P3_ID
    ds.PatientBirthDate = P3_BIRTH
    ds.PatientSex = "F"
    ds.StudyInstanceUID = uid("p3", "us", "study")
    ds.SeriesInstanceUID = uid("p3", "us", "series")
    ds.StudyID = "US3141"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.BurnedInAnnotation = "YES"
    ds.ImageComments = f"Operator Søren Østergård; patient {P3_ID}"
    rng = np.random.default_rng(400)
    y, x = np.mgrid[0:US_ROWS, 0:US_COLS]
    # A fan of speckle, as an ultrasound sector looks.
    angle = np.arctan2(x - US_COLS / 2, y + 10)
    radius = np.hypot(x - US_COLS / 2, y + 10)
    fan = (np.abs(angle) < 0.6) & (radius > 20) & (radius < US_ROWS)
    grey = np.where(fan, rng.integers(40, 200, (US_ROWS, US_COLS)), 0).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    # Where a scanner burns the patient's name: a yellow banner with block "glyphs" (no readable
    # characters; they mark the region a pixel cleaner must find).
    rgb[2:12, 4:124] = (0, 0, 0)
    for column in range(6, 120, 7):
        rgb[4:10, column : column + 5] = (230, 230, 40)
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows = US_ROWS
    ds.Columns = US_COLS
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()
    ds.file_meta = file_meta(ds, ExplicitVRLittleEndian, "ECHO_ROOM3")
    return ds


# -- the catalogue --------------------------------------------------------------------------------
SAMPLES: list[tuple[str, Callable[[], list[tuple[str, Dataset]]], str, str]] = [
    (
        "patient1/ct/CT0001.dcm … CT0003.dcm",
        ct_slices,
        "CT Image, 3 slices 64x64 16-bit (12 stored), Explicit VR Little Endian",
        "Patient name, ID, birth date, address, phone, accession, referring physician, operator, "
        "institution, station, device serial; other patient IDs (sequence); name/ID/dates in "
        "Study Description, Image Comments, Protocol Name; nested Request Attributes Sequence "
        "(requested procedure ID, reason with ID and name, code meaning with a name); Referenced "
        "Image Sequence with the other slices' instance UIDs; safe private GEMS_ACQU_01 "
        "(0019,xx23) Table Speed; unsafe private FAKEVENDOR PHI (0029,xx10) with name and ID; "
        "name and ID in the 128-byte preamble; source AE title in the file meta",
    ),
    (
        "patient1/multiframe/MF0001.dcm",
        lambda: [("patient1/multiframe/MF0001.dcm", multiframe())],
        "Multi-frame Grayscale Word SC, 5 frames 64x64 16-bit, Deflated Explicit VR Little Endian",
        "Patient name, ID, birth date, accession, referring physician, institution; name in "
        "Study Description; name and ID in Derivation Description",
    ),
    (
        "patient2/mr/MR0001_latin1.dcm",
        lambda: [
            ("patient2/mr/MR0001_latin1.dcm", mr_image("ISO_IR 100", 1, ImplicitVRLittleEndian))
        ],
        "MR Image 64x64 16-bit, ISO_IR 100 (Latin-1), Implicit VR Little Endian, overlay 6000",
        "Accented patient name (LEFÈVRE^Bérénice^Maëlle), ID, birth date, accession, referring "
        "physician, institution; name/dates in Study Description, Patient Comments, Image "
        "Comments; overlay plane with the name in Overlay Description (6000,0022) and Overlay "
        "Label (6000,1500)",
    ),
    (
        "patient2/mr/MR0002_utf8.dcm",
        lambda: [
            ("patient2/mr/MR0002_utf8.dcm", mr_image("ISO_IR 192", 2, ExplicitVRLittleEndian))
        ],
        "MR Image 64x64 16-bit, ISO_IR 192 (UTF-8), Explicit VR Little Endian, overlay 6000",
        "Same patient and PHI as MR0001, encoded in UTF-8",
    ),
    (
        "patient3/us/US0001.dcm",
        lambda: [("patient3/us/US0001.dcm", ultrasound())],
        "Secondary Capture, Modality US, RGB 128x128 8-bit, BurnedInAnnotation YES",
        "Patient name, ID, birth date, accession; operator with non-Latin-1 letters "
        "(ØSTERGÅRD^Søren); name in Study Description; names and ID in Image Comments; a "
        "banner of block marks in the pixels where burned-in text would be (no readable text)",
    ),
]

PHI_SUMMARY = [
    ("Patient 1", P1_NAME, P1_ID, P1_BIRTH, P1_ACCESSION),
    ("Patient 2", P2_NAME, P2_ID, P2_BIRTH, P2_ACCESSION),
    ("Patient 3", P3_NAME, P3_ID, P3_BIRTH, P3_ACCESSION),
]


def photo_jpeg() -> bytes:
    """A 'clinical photo' JPEG with identifying EXIF: camera serial, artist, dates, GPS."""
    from PIL import Image  # dev dependency: only the generator needs it

    rng = np.random.default_rng(11)
    pixels = (rng.random((96, 128, 3)) * 60 + 120).astype(np.uint8)
    pixels[30:70, 40:90] = (200, 150, 130)  # a skin-coloured patch, no real person
    exif = Image.Exif()
    exif[0x010F] = "FakeCam"  # Make
    exif[0x0110] = "FakeCam X100 SN-77120431"  # Model with a serial
    exif[0x013B] = "Dr Octave LEMAISTRE"  # Artist
    exif[0x0132] = "2024:03:17 10:15:00"  # DateTime
    exif[0x010E] = f"{P1_NAME} wound day 3"  # ImageDescription naming the patient
    exif[0x0112] = 1
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (45.0, 46.0, 40.0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", exif=exif, quality=90, comment=P1_ID.encode())
    return buffer.getvalue()


def screenshot_png() -> bytes:
    """A 'viewer screenshot' PNG with text chunks naming the patient."""
    from PIL import Image, PngImagePlugin

    pixels = np.zeros((64, 96), np.uint8)
    pixels[8:56, 16:80] = 128
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr Octave LEMAISTRE")
    info.add_itxt("Description", f"{P2_NAME} {P2_ID} MR 2024-03-17")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


IMAGE_SAMPLES: list[tuple[str, Callable[[], bytes], str, str]] = [
    (
        "patient1/photo/wound.jpg",
        photo_jpeg,
        "JPEG photograph 128x96 (noise and a skin-coloured patch; no person)",
        "EXIF Make/Model with a serial, Artist, DateTime, ImageDescription with the patient's "
        "name, GPS position; JPEG comment with the patient ID",
    ),
    (
        "patient2/screenshot/viewer.png",
        screenshot_png,
        "PNG screenshot 96x64, grey",
        "tEXt Author (a physician), iTXt Description with the patient's name, ID and a date",
    ),
]


def readme(sizes: dict[str, int]) -> str:
    lines = [
        "# Sample images (synthetic)",
        "",
        "Every file in `sample_images/` is **synthetic**: made by `scripts/make_samples.py`,",
        "with invented patients, dates, addresses, phone numbers and UIDs. No real patient data.",
        "The pixels are seeded noise and simple shapes, not real scans.",
        "",
        "Regenerate (byte-identical output):",
        "",
        "```sh",
        ".venv/bin/python scripts/make_samples.py sample_images",
        "```",
        "",
        "De-identify them:",
        "",
        "```sh",
        ".venv/bin/medanon scrub sample_images -o out/sample_images --profile research --overwrite",
        "```",
        "",
        "## Fake patients",
        "",
        "| | Patient Name | Patient ID | Birth date | Accession |",
        "|---|---|---|---|---|",
    ]
    for who, name, patient_id, birth, accession in PHI_SUMMARY:
        lines.append(f"| {who} | `{name}` | `{patient_id}` | `{birth}` | `{accession}` |")
    lines += [
        "",
        "## Files",
        "",
        "| File | Content | Planted PHI |",
        "|---|---|---|",
    ]
    for name, _, content, phi in SAMPLES + IMAGE_SAMPLES:  # type: ignore[operator]
        lines.append(f"| `{name}` | {content} | {phi} |")
    lines += [
        "",
        "Every file also has instance UIDs (study, series, SOP instance, frame of reference) that",
        "must be replaced, and a Source Application Entity Title in its File Meta Information.",
        "",
        "## Sizes",
        "",
        "| File | Bytes |",
        "|---|---|",
    ]
    for path, size in sorted(sizes.items()):
        lines.append(f"| `{path}` | {size} |")
    lines.append(f"| total | {sum(sizes.values())} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="sample_images", type=Path)
    parser.add_argument(
        "--readme",
        default=Path("docs/sample-images.md"),
        type=Path,
        help="Where to describe the samples (kept out of the folder: it holds inputs only).",
    )
    args = parser.parse_args(argv)
    outdir: Path = args.outdir
    sizes: dict[str, int] = {}
    for _, build, _, _ in SAMPLES:
        for relative, ds in build():
            path = outdir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            sizes[relative] = path.stat().st_size
    for relative, build, _, _ in IMAGE_SAMPLES:
        path = outdir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build())
        sizes[relative] = path.stat().st_size
    args.readme.write_text(readme(sizes), encoding="utf-8")
    print(f"wrote {len(sizes)} files ({sum(sizes.values())} bytes) to {outdir}")
    print(f"described them in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
