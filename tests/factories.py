"""Synthetic DICOM datasets carrying fake PHI everywhere tools usually miss it.

Every identifying value is invented. ``PLANTED`` lists the strings that must not survive
de-identification (under profiles that do not retain them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PATIENT_NAME = "DUPONTEL^Marguerite^Anne"
PATIENT_ID = "PID48151623"
BIRTH_DATE = "19610413"
ACCESSION = "ACC77120"
ADDRESS = "12 rue Vercingetorix, Clermont-Ferrand"
PHONE = "04 73 55 12 98"
REFERRING = "LEMAISTRE^Octave"
OPERATOR = "QUERCY^Baptistine"
INSTITUTION = "Clinique Saint-Hilarion"
STATION = "CTSTATION7"
SERIAL = "SN-99817"

# Strings that must be gone from every output of the basic profile.
PLANTED = [
    "DUPONTEL",
    "Marguerite",
    PATIENT_ID,
    BIRTH_DATE,
    ACCESSION,
    "Vercingetorix",
    "LEMAISTRE",
    "QUERCY",
    INSTITUTION,
    STATION,
    SERIAL,
]


def phi_dataset(
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    instance_uid: str | None = None,
    rows: int = 16,
    columns: int = 16,
    patient_id: str = PATIENT_ID,
) -> Dataset:
    """A CT Image with fake PHI at the top level, in nested sequences, private tags, free text,
    an overlay, the preamble and RetrieveURL."""
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    instance_uid = instance_uid or generate_uid()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = instance_uid
    ds.StudyDate = "20240317"
    ds.SeriesDate = "20240317"
    ds.AcquisitionDate = "20240317"
    ds.ContentDate = "20240317"
    ds.StudyTime = "101500"
    ds.ContentTime = "101501"
    ds.AccessionNumber = ACCESSION
    ds.Modality = "CT"
    ds.Manufacturer = "ACME"
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = ADDRESS
    ds.ReferringPhysicianName = REFERRING
    ds.StationName = STATION
    ds.StudyDescription = f"CT thorax {PATIENT_NAME.split('^')[0]} follow-up 2024-03-17"
    ds.SeriesDescription = "Thorax 1.25mm"
    ds.OperatorsName = OPERATOR
    ds.RetrieveURL = f"https://pacs.example.org/wado?studyUID={study_uid}"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = patient_id
    ds.IssuerOfPatientID = "HOSP-CF"
    ds.PatientBirthDate = BIRTH_DATE
    ds.PatientSex = "F"
    ds.PatientAge = "062Y"
    ds.PatientAddress = ADDRESS
    ds.PatientTelephoneNumbers = PHONE
    ds.OtherPatientIDsSequence = Sequence([_item(PatientID="OTHER-5512", IssuerOfPatientID="X")])
    ds.DeviceSerialNumber = SERIAL
    ds.ProtocolName = "THORAX LEMAISTRE"
    ds.ImageComments = f"Patient Marguerite Dupontel, born 13/04/1961, tel {PHONE}"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid()
    ds.StudyID = "S1234"
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    # Nested: request attributes with names and IDs two levels deep.
    ds.RequestAttributesSequence = Sequence(
        [
            _item(
                RequestedProcedureID="RP-88812",
                ScheduledProcedureStepID="SPS-1",
                ReasonForTheRequestedProcedure=f"Dyspnoea; patient {PATIENT_ID}",
                ScheduledProtocolCodeSequence=Sequence(
                    [_item(CodeValue="X1", CodingSchemeDesignator="99L", CodeMeaning="QUERCY scan")]
                ),
            )
        ]
    )
    ds.ReferencedPerformedProcedureStepSequence = Sequence(
        [
            _item(
                ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.3",
                ReferencedSOPInstanceUID=generate_uid(),
            )
        ]
    )
    ds.PhysiciansOfRecordIdentificationSequence = Sequence(
        [
            _item(
                PersonIdentificationCodeSequence=Sequence(
                    [_item(CodeValue="DR77", CodingSchemeDesignator="L", CodeMeaning="LEMAISTRE")]
                )
            )
        ]
    )
    # Private tags: a safe one (E.3.10-1) and an unsafe one holding the name.
    ds.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(
        0x23, "DS", "1.0"
    )  # (0019,xx23) Table Speed: safe
    ds.private_block(0x0029, "ACME PRIVATE", create=True).add_new(
        0x10, "LO", f"{PATIENT_NAME} {PATIENT_ID}"
    )
    # Overlay plane with a description naming the patient.
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", columns)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60000022, "LO", f"Marks for {PATIENT_NAME}")
    ds.add_new(
        0x60003000,
        "OW",
        np.packbits(np.ones(rows * columns, np.uint8), bitorder="little").tobytes(),
    )
    # Pixels.
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.PixelSpacing = [0.7, 0.7]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelData = (np.arange(rows * columns, dtype=np.uint16) % 4096).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "HOSPCF_CT7"
    meta.ImplementationVersionName = "HOSPCF"
    ds.file_meta = meta
    ds.preamble = (f"{PATIENT_NAME} {PATIENT_ID}".encode() + b"\x00" * 128)[:128]
    return ds


def _item(**attributes: object) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def write_phi_file(path: Path, **kwargs: object) -> Dataset:
    ds = phi_dataset(**kwargs)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return ds
