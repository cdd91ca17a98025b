"""Bad, odd and hostile inputs, through ``Scrubber.scrub_file`` and through the CLI.

Every input either comes out processed correctly (an output pydicom reads, with the planted
patient name and ID gone) or fails with a one-line, PHI-free error and leaves nothing behind: no
output and no temporary file. Inputs are never modified. Every identifying value is invented
(``tests.factories``) or comes from pydicom's own anonymous test files.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from medanon.cli import main
from medanon.io import TMP_MARK
from medanon.pipeline import Scrubber

from .conftest import TEST_KEY
from .factories import PATIENT_ID, PATIENT_NAME, phi_dataset, write_phi_file

# The inputs break VR rules on purpose: pydicom's validation warnings about them are noise.
pytestmark = pytest.mark.filterwarnings(
    "ignore:(The value length|Invalid value for VR|The PN component length):UserWarning"
)

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
NAME_PARTS = [part for part in PATIENT_NAME.split("^") if len(part) > 3]
PHI = [PATIENT_NAME, *NAME_PARTS, PATIENT_ID]


@dataclass
class Case:
    """One input file and what is expected of it: "ok", "failed" or "either"."""

    path: Path
    expect: str
    phi: list[str] = field(default_factory=lambda: list(PHI))


# -- builders ---------------------------------------------------------------------------------
def _bare(ds: Dataset, *, implicit: bool) -> bytes:
    """A dataset without preamble, DICM prefix or File Meta (what old writers produce)."""
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = implicit
    write_dataset(buffer, ds)
    return buffer.getvalue()


def _implicit_items(items: list[Dataset]) -> bytes:
    """Sequence items in Implicit VR Little Endian, defined lengths: how a UN-encoded SQ holds
    them (PS3.5 6.2.2)."""
    out = b""
    for item in items:
        body = _bare(item, implicit=True)
        out += struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    return out


def _file_bytes(ds: Dataset, transfer_syntax: UID = ExplicitVRLittleEndian) -> bytes:
    buffer = DicomBytesIO()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _pixel_offset(data: bytes) -> int:
    """Offset of the (7FE0,0010) Pixel Data value in an Explicit VR Little Endian file."""
    return data.rindex(b"\xe0\x7f\x10\x00OW\x00\x00") + 12


def make_zero(tmp: Path) -> Case:
    path = tmp / "zero.dcm"
    path.write_bytes(b"")
    return Case(path, "failed")


def make_truncated(where: str) -> Callable[[Path], Case]:
    def build(tmp: Path) -> Case:
        ds = phi_dataset()
        if where == "undefined-length-sequence":
            ds["RequestAttributesSequence"].is_undefined_length = True
            for item in ds.RequestAttributesSequence:
                item.is_undefined_length_sequence_item = True
        data = _file_bytes(ds)
        if where == "meta":  # inside the File Meta Information
            cut = 128 + 4 + 40
        elif where == "after-meta":  # File Meta complete, dataset missing
            cut = 128 + 4 + 12 + struct.unpack("<I", data[140:144])[0]
        elif where == "header":  # in the middle of the Patient's Name value
            cut = data.rindex(PATIENT_NAME.encode()) + 5
        elif where == "element-header":  # in the middle of the top-level (0010,0010) tag
            cut = data.index(b"\x10\x00\x10\x00PN") + 3
        elif where == "item-element-header":  # in a (0010,0020) tag inside a sequence item
            cut = data.rindex(b"\x10\x00\x20\x00LO") + 3
        elif where == "undefined-length-sequence":  # inside its first item
            cut = data.index(b"\x40\x00\x75\x02SQ") + 40
        else:  # in the middle of Pixel Data
            cut = _pixel_offset(data) + 101
        path = tmp / f"truncated-{where}.dcm"
        path.write_bytes(data[:cut])
        return Case(path, "failed")

    return build


def make_truncated_encapsulated(tmp: Path) -> Case:
    """pydicom's JPEG 2000 test file cut in the middle of its encapsulated Pixel Data."""
    source = TEST_FILES / "JPEG2000.dcm"
    ds = pydicom.dcmread(source)
    data = source.read_bytes()
    start = data.rindex(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")
    path = tmp / "truncated-encapsulated.dcm"
    path.write_bytes(data[: start + (len(data) - start) // 2])
    return Case(path, "failed", [str(ds.PatientName), str(ds.PatientID)])


def make_random(tmp: Path) -> Case:
    path = tmp / "random.dcm"
    path.write_bytes(os.urandom(4096) + PATIENT_NAME.encode() + os.urandom(1024))
    return Case(path, "failed")


def make_png(tmp: Path) -> Case:
    path = tmp / "image.png"
    body = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)
    text = b"Author\x00" + PATIENT_NAME.encode() + b" " + PATIENT_ID.encode()
    chunks = [(b"IHDR", body), (b"tEXt", text), (b"IEND", b"")]
    data = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(d)) + t + d + b"\x00\x00\x00\x00" for t, d in chunks
    )
    path.write_bytes(data)
    return Case(path, "failed")


def make_text(tmp: Path) -> Case:
    path = tmp / "notes.dcm"
    path.write_text(f"Patient: {PATIENT_NAME}\nID: {PATIENT_ID}\n" * 50, encoding="utf-8")
    return Case(path, "failed")


def make_bare(implicit: bool) -> Callable[[Path], Case]:
    def build(tmp: Path) -> Case:
        ds = phi_dataset()
        del ds.file_meta
        path = tmp / f"bare-{'implicit' if implicit else 'explicit'}.dcm"
        path.write_bytes(_bare(ds, implicit=implicit))
        return Case(path, "ok")

    return build


def make_meta_no_preamble(tmp: Path) -> Case:
    """File Meta Information but neither preamble nor DICM prefix."""
    data = _file_bytes(phi_dataset())
    path = tmp / "no-preamble.dcm"
    path.write_bytes(data[132:])
    return Case(path, "ok")


def make_deflated(tmp: Path) -> Case:
    path = tmp / "deflated.dcm"
    path.write_bytes(_file_bytes(phi_dataset(), DeflatedExplicitVRLittleEndian))
    return Case(path, "ok")


def make_big_endian(tmp: Path) -> Case:
    path = tmp / "big-endian.dcm"
    path.write_bytes(_file_bytes(phi_dataset(), ExplicitVRBigEndian))
    return Case(path, "ok")


def make_pydicom_big_endian(tmp: Path) -> Case:
    source = TEST_FILES / "MR_small_bigendian.dcm"
    ds = pydicom.dcmread(source)
    path = tmp / source.name
    path.write_bytes(source.read_bytes())
    return Case(path, "ok", [str(ds.PatientName), str(ds.PatientID)])


def make_un_elements(tmp: Path) -> Case:
    """Public attributes, a public SQ and a private SQ all written with VR UN (pydicom turns
    public UN back into the dictionary VR unless told not to, so it is told not to while
    writing)."""
    ds = phi_dataset()
    extra = Dataset()
    extra.PatientID = PATIENT_ID
    extra.PatientName = PATIENT_NAME
    inner = Dataset()
    inner.PatientName = PATIENT_NAME
    inner.add_new(0x00311010, "LO", PATIENT_ID)
    un_values = {
        0x00101002: _implicit_items([*ds.OtherPatientIDsSequence, extra]),
        0x00400275: _implicit_items(list(ds.RequestAttributesSequence)),  # nested SQ inside
    }
    for keyword in ("PatientName", "PatientID", "InstitutionName", "OperatorsName"):
        raw = str(ds[keyword].value).encode()
        un_values[ds[keyword].tag] = raw + b" " * (len(raw) % 2)
    block = ds.private_block(0x0031, "ODD VENDOR", create=True)
    block.add_new(0x02, "UN", f"{PATIENT_NAME} {PATIENT_ID} ".encode())
    un_values[block.get_tag(0x01)] = _implicit_items([inner])
    saved = pydicom.config.replace_un_with_known_vr
    pydicom.config.replace_un_with_known_vr = False
    try:
        for tag, value in un_values.items():
            ds[tag] = DataElement(tag, "UN", value)
        data = _file_bytes(ds)
    finally:
        pydicom.config.replace_un_with_known_vr = saved
    path = tmp / "un-elements.dcm"
    path.write_bytes(data)
    return Case(path, "either")


def make_pydicom_un_sequence(tmp: Path) -> Case:
    source = TEST_FILES / "UN_sequence.dcm"
    path = tmp / source.name
    path.write_bytes(source.read_bytes())
    return Case(path, "either", [])


def make_too_long(tmp: Path) -> Case:
    """Values longer than their VR allows (PS3.5 6.2)."""
    ds = phi_dataset()
    long_name = PATIENT_NAME + "^" + "Z" * 90  # PN: 64 a component group
    long_id = PATIENT_ID + "-" + "9" * 80  # LO: 64
    ds.PatientName = long_name
    ds.PatientID = long_id
    ds.RequestAttributesSequence[0].ReasonForTheRequestedProcedure = f"Dyspnoea; {long_id}"
    ds.OtherPatientIDsSequence[0].PatientID = long_id
    ds.StationName = "STATION-" * 6  # SH: 16
    ds.AccessionNumber = "A" * 40  # SH: 16
    ds.InstitutionName = "Clinique " * 12  # LO: 64
    ds.StudyID = "S" * 30  # SH: 16
    ds.Modality = "COMPUTEDTOMOGRAPHY-X"  # CS: 16
    ds.StudyDate = "2024031712"  # DA: 8
    ds.SeriesNumber = "1234567890123456"  # IS: 12
    ds.RescaleSlope = "1.00000000000000000001"  # DS: 16
    path = tmp / "too-long.dcm"
    path.write_bytes(_file_bytes(ds))
    return Case(path, "either", [long_name, long_id, *NAME_PARTS])


def make_invalid_uids(tmp: Path) -> Case:
    ds = phi_dataset()
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.0012.abc"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = "1." + "9" * 80
    ds.SeriesInstanceUID = "not-a-uid " + PATIENT_ID
    ds.FrameOfReferenceUID = "1.2.3..4"
    ds.ReferencedPerformedProcedureStepSequence[0].ReferencedSOPInstanceUID = "1.2.3.4.05 "
    path = tmp / "invalid-uids.dcm"
    path.write_bytes(_file_bytes(ds))
    return Case(path, "either")


def make_wrong_vr(tmp: Path) -> Case:
    """Values not valid for their VR, and attributes written with the wrong explicit VR."""
    ds = phi_dataset()
    ds[0x00100010] = DataElement(0x00100010, "LO", PATIENT_NAME)  # PN written as LO
    ds[0x00100020] = DataElement(0x00100020, "SH", PATIENT_ID[:16])  # LO written as SH
    ds[0x00100030] = DataElement(0x00100030, "DA", "13/04/1961")  # not a DA
    ds[0x00080020] = DataElement(0x00080020, "DA", "2024-03-17")  # ACR-NEMA style
    ds[0x00080021] = DataElement(0x00080021, "LO", "20240317")  # DA written as LO
    ds[0x00080030] = DataElement(0x00080030, "TM", "10h15")  # not a TM
    ds[0x00101010] = DataElement(0x00101010, "AS", "62 years")  # not an AS
    ds.PatientWeight = "70.00000"  # becomes "seventy " below: not a DS
    ds.SeriesNumber = "98765"  # becomes "three " below: not an IS
    ds[0x00081030] = DataElement(0x00081030, "UI", "1.2.3")  # LO written as UI
    ds[0x00180050] = DataElement(0x00180050, "US", 3)  # DS written as US
    ds[0x00081090] = DataElement(0x00081090, "OB", b"ACME CT\x00")  # LO written as OB
    data = _file_bytes(ds)
    # pydicom refuses to hold such numbers: patch them into the encoded bytes.
    for good, bad in ((b"DS\x08\x0070.00000", b"DS\x08\x00seventy "), (b"98765 ", b"three ")):
        assert data.count(good) == 1
        data = data.replace(good, bad)
    path = tmp / "wrong-vr.dcm"
    path.write_bytes(data)
    return Case(path, "either")


def make_huge(kind: str, megabytes: int = 20) -> Callable[[Path], Case]:
    """A huge value ending with the patient ID: a private OB, or a public LT (Implicit VR: an
    explicit LT length field holds 64 KiB at most)."""

    def build(tmp: Path) -> Case:
        ds = phi_dataset()
        big = b"lorem ipsum " * (megabytes * 1024 * 1024 // 12) + PATIENT_ID.encode()
        if kind == "private-OB":
            ds.private_block(0x0011, "HUGE VENDOR", create=True).add_new(0x01, "OB", big)
            data = _file_bytes(ds)
        else:
            ds.add_new(0x00204000, "LT", big.decode())  # Image Comments
            data = _file_bytes(ds, ImplicitVRLittleEndian)
        path = tmp / f"huge-{kind}.dcm"
        path.write_bytes(data)
        return Case(path, "either")

    return build


def make_dicomdir(tmp: Path) -> Case:
    """A media directory holding this patient's name and ID in its PATIENT record."""
    from pydicom.fileset import FileSet

    folder = tmp / "media"
    fileset = FileSet()
    fileset.add(phi_dataset())
    fileset.write(folder)
    path = tmp / "DICOMDIR"
    path.write_bytes((folder / "DICOMDIR").read_bytes())
    return Case(path, "failed")


def make_pydicom_dicomdir(tmp: Path) -> Case:
    path = tmp / "DICOMDIR"
    path.write_bytes((TEST_FILES / "dicomdirtests" / "DICOMDIR").read_bytes())
    return Case(path, "failed", [])


CASES = [
    pytest.param(make_zero, id="zero-bytes"),
    pytest.param(make_truncated("meta"), id="truncated-in-file-meta"),
    pytest.param(make_truncated("after-meta"), id="truncated-after-file-meta"),
    pytest.param(make_truncated("header"), id="truncated-in-header"),
    pytest.param(make_truncated("element-header"), id="truncated-in-tag"),
    pytest.param(make_truncated("item-element-header"), id="truncated-in-item-tag"),
    pytest.param(make_truncated("undefined-length-sequence"), id="truncated-in-sequence"),
    pytest.param(make_truncated("pixels"), id="truncated-in-pixeldata"),
    pytest.param(make_truncated_encapsulated, id="truncated-in-encapsulated-pixeldata"),
    pytest.param(make_random, id="random-bytes"),
    pytest.param(make_png, id="png"),
    pytest.param(make_text, id="text"),
    pytest.param(make_bare(implicit=True), id="no-preamble-bare-implicit"),
    pytest.param(make_bare(implicit=False), id="no-preamble-bare-explicit"),
    pytest.param(make_meta_no_preamble, id="no-preamble-with-meta"),
    pytest.param(make_deflated, id="deflated"),
    pytest.param(make_big_endian, id="explicit-big-endian"),
    pytest.param(make_pydicom_big_endian, id="explicit-big-endian-pydicom"),
    pytest.param(make_un_elements, id="un-vr-and-sq-as-un"),
    pytest.param(make_pydicom_un_sequence, id="un-sequence-pydicom"),
    pytest.param(make_too_long, id="values-too-long"),
    pytest.param(make_invalid_uids, id="invalid-uids"),
    pytest.param(make_wrong_vr, id="wrong-vr-values"),
    pytest.param(make_huge("private-OB"), id="huge-private-ob"),
    pytest.param(make_huge("public-LT"), id="huge-public-lt"),
    pytest.param(make_dicomdir, id="dicomdir"),
    pytest.param(make_pydicom_dicomdir, id="dicomdir-pydicom"),
]


# -- checks ---------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _temporaries(folder: Path) -> list[str]:
    return [name for name in _leftovers(folder) if TMP_MARK in name or "/." in f"/{name}"]


def _check_error_text(error: str | None, phi: list[str]) -> None:
    assert error, "a failure must say why"
    assert "\n" not in error.strip(), f"error is not one line: {error!r}"
    for value in phi:
        assert value not in error, "the error quotes an identifying value"
        assert value.upper() not in error.upper(), "the error quotes an identifying value"


def _check_output(output: Path, source: Path, phi: list[str]) -> None:
    data = output.read_bytes()
    assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM"
    ds = pydicom.dcmread(output)  # no force: a proper Part 10 file
    for element in ds.iterall():
        _ = element.value  # every value decodes
    name = str(ds.get("PatientName", "") or "")
    assert not any(value.upper() in name.upper() for value in phi), "PatientName is not gone"
    for value in phi:
        assert value.encode() not in data, "an identifying value is still in the output"
    assert ds.PatientIdentityRemoved == "YES"
    assert UID(ds.file_meta.MediaStorageSOPInstanceUID).is_valid
    if "SOPInstanceUID" in ds:
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    source_ds = pydicom.dcmread(source, force=True)
    if "PixelData" in source_ds:
        assert ds.PixelData == source_ds.PixelData, "Pixel Data changed"
        assert ds.file_meta.TransferSyntaxUID == source_ds.file_meta.get(
            "TransferSyntaxUID", ds.file_meta.TransferSyntaxUID
        )


def _check_outcome(
    case: Case, status: str, error: str | None, output: Path, out_dir: Path, digest: str
) -> None:
    assert _digest(case.path) == digest, "the input was modified"
    if case.expect != "either":
        assert status == case.expect, f"expected {case.expect}, got {status}: {error}"
    assert status in ("ok", "failed"), status
    assert not _temporaries(out_dir), f"temporary files left: {_temporaries(out_dir)}"
    if status == "failed":
        _check_error_text(error, case.phi)
        assert _leftovers(out_dir) == [], f"a failed input left files: {_leftovers(out_dir)}"
    else:
        assert error is None
        _check_output(output, case.path, case.phi)


# -- tests ----------------------------------------------------------------------------------
def _build(build: Callable[[Path], Case], tmp_path: Path) -> Case:
    inputs = tmp_path / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    return build(inputs)


@pytest.mark.parametrize("build", CASES)
def test_scrub_file(build: Callable[[Path], Case], scrubber: Scrubber, tmp_path: Path) -> None:
    case = _build(build, tmp_path)
    digest = _digest(case.path)
    out_dir = tmp_path / "out"
    output = out_dir / "result.dcm"
    result = scrubber.scrub_file(case.path, output)
    _check_outcome(case, result.status, result.error, output, out_dir, digest)
    record = str(result.record())
    for value in case.phi:
        assert value not in record, "the report record quotes an identifying value"


ODD_CASES = [
    *(p for p in CASES if p.id.startswith(("un-", "values-", "invalid-", "wrong-", "huge-pri"))),
    # Cleaned, not removed, under research: the text scrub runs at ~2-3 MB/s, so 4 MB here.
    pytest.param(make_huge("public-LT", megabytes=4), id="huge-public-lt-4mb"),
]


@pytest.mark.parametrize("build", ODD_CASES)
def test_scrub_file_research(
    build: Callable[[Path], Case], research: Scrubber, tmp_path: Path
) -> None:
    """The research profile keeps more (safe private tags, shifted dates, cleaned text): odd
    values go through other rules."""
    case = _build(build, tmp_path)
    digest = _digest(case.path)
    out_dir = tmp_path / "out"
    output = out_dir / "result.dcm"
    result = research.scrub_file(case.path, output)
    _check_outcome(case, result.status, result.error, output, out_dir, digest)


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scrub", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("build", CASES)
def test_cli(build: Callable[[Path], Case], tmp_path: Path) -> None:
    case = _build(build, tmp_path)
    digest = _digest(case.path)
    out_dir = tmp_path / "out"
    output = out_dir / "result.dcm"
    code, stdout, stderr = _cli(str(case.path), "-o", str(output), "-q")
    failures = [line for line in stderr.splitlines() if "FAILED" in line]
    if code == 0:
        status, error = "ok", None
        assert not failures, stderr
    else:
        assert code == 1, f"exit {code}: {stderr}"
        assert len(failures) == 1, f"expected one FAILED line, got: {stderr!r}"
        assert str(case.path) in failures[0]
        assert stderr.strip() == failures[0].strip(), f"-q printed more than the failure: {stderr}"
        status, error = "failed", failures[0].replace(str(case.path), "<input>")
    _check_outcome(case, status, error, output, out_dir, digest)
    for value in case.phi:
        assert value not in stdout + stderr, "the CLI printed an identifying value"


# -- a batch with one bad file ----------------------------------------------------------------
def test_batch_with_one_bad_file(tmp_path: Path) -> None:
    """Good files around a bad one are all written; exit 1; one line names the bad file."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["a.dcm", "b.dcm", "c_bad.dcm", "d.dcm", "e.dcm"]
    for name in names:
        if name == "c_bad.dcm":
            make_truncated("meta")(inputs).path.rename(inputs / name)
        else:
            write_phi_file(inputs / name, patient_id=f"{PATIENT_ID}{name[0]}")
    digests = {name: _digest(inputs / name) for name in names}
    out = tmp_path / "out"
    env = {**os.environ, "MEDANON_KEY": TEST_KEY.decode()}
    proc = subprocess.run(
        [sys.executable, "-m", "medanon.cli", "scrub", str(inputs), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    failed = [line for line in proc.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1, proc.stderr
    assert "c_bad.dcm" in failed[0]
    assert not any(f"{os.sep}{name}" in failed[0] for name in names if name != "c_bad.dcm")
    for value in PHI:
        assert value not in proc.stdout + proc.stderr
    assert _leftovers(out) == sorted(n for n in names if n != "c_bad.dcm")
    for name in names:
        assert _digest(inputs / name) == digests[name], f"{name} was modified"
        if name != "c_bad.dcm":
            _check_output(out / name, inputs / name, PHI)


def test_corrupt_vr_fails_the_file_not_the_batch(tmp_path: Path) -> None:
    """A damaged VR makes pydicom raise while converting a value: that file fails with the
    kind of error (no value quoted), the others are done and reported."""
    from click.testing import CliRunner

    from medanon.cli import main
    from tests.factories import phi_dataset

    buffer = io.BytesIO()
    phi_dataset().save_as(buffer, enforce_file_format=True)
    data = bytearray(buffer.getvalue())
    at = data.find(b"\x08\x00\x30\x10LO")  # (0008,1030) Study Description, VR "LO"
    data[at + 4 : at + 6] = b"NO"
    inputs = tmp_path / "in"
    inputs.mkdir()
    phi_dataset().save_as(inputs / "a.dcm", enforce_file_format=True)
    (inputs / "b.dcm").write_bytes(bytes(data))
    phi_dataset().save_as(inputs / "c.dcm", enforce_file_format=True)
    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        main, ["scrub", str(inputs), "-o", str(tmp_path / "out"), "--report", str(report)]
    )
    assert result.exit_code == 1
    assert "FAILED" in result.stderr and "b.dcm" in result.stderr
    assert "DUPONTEL" not in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.dcm", "c.dcm"]
    assert len(report.read_text().splitlines()) == 3


def test_side_outputs_never_overwrite_an_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medanon.cli import main
    from tests.factories import write_phi_file

    source = tmp_path / "in.dcm"
    write_phi_file(source)
    before = source.read_bytes()
    for option in ("--report", "--html"):
        result = CliRunner().invoke(
            main, ["scrub", str(source), "-o", str(tmp_path / "o.dcm"), option, str(source)]
        )
        assert result.exit_code == 2 and "would overwrite" in result.stderr
        assert source.read_bytes() == before
    result = CliRunner().invoke(
        main,
        ["scrub", str(source), "-o", str(tmp_path / "o.dcm"), "--report", str(tmp_path / "o.dcm")],
    )
    assert result.exit_code == 2


def test_pseudonymous_output_never_replaces_its_input(tmp_path: Path) -> None:
    """Re-scrubbing a pseudonymous output into its own folder (UIDs retained, so the name
    comes out the same) is refused even with --overwrite."""
    from click.testing import CliRunner

    from medanon.cli import main
    from tests.factories import phi_dataset

    ds = phi_dataset()
    ds.PatientID = ""
    ds.save_as(tmp_path / "in.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    args = ["-o", f"{out}/", "--layout", "pseudonymous", "--with", "retain-uids", "-q"]
    assert CliRunner().invoke(main, ["scrub", str(tmp_path / "in.dcm"), *args]).exit_code == 0
    [first] = out.rglob("*.dcm")
    before = first.read_bytes()
    again = CliRunner().invoke(
        main, ["scrub", str(first), *args, "--with", "retain-device-identity", "--overwrite"]
    )
    assert again.exit_code == 1 and "replace the input" in again.stderr
    assert first.read_bytes() == before


def test_junk_after_the_dataset_is_not_named_by_its_bytes(tmp_path: Path) -> None:
    """Text appended after the last element is read as a cut element whose 'tag' is made of
    the text's bytes: the error gives an offset, and the failed record still names its output."""
    import json

    from tests.factories import write_phi_file

    source = tmp_path / "junk.dcm"
    write_phi_file(source)
    source.write_bytes(source.read_bytes() + b"DUPONTEL^Marguerite PID48151623 ")
    out, report = tmp_path / "out.dcm", tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        main, ["scrub", str(source), "-o", str(out), "--report", str(report)]
    )
    assert result.exit_code == 1
    assert "(5544,4F50)" not in result.stderr and "at byte" in result.stderr
    record = json.loads(report.read_text().splitlines()[0])
    assert record["status"] == "failed" and record["output"] == str(out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"GIF89a\x10\x00\x10\x00\x00\x00\x00;", "GIF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "AVIF"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ", "JPEG 2000"),
    ],
)
def test_known_unsupported_formats_are_named(head: bytes, name: str, tmp_path: Path) -> None:
    """A phone's HEIC photo or a GIF fails with its format named, not as a damaged DICOM file."""
    path = tmp_path / "photo.bin"
    path.write_bytes(head + bytes(300))
    out = tmp_path / "out"
    code, _, stderr = _cli(str(path), "-o", str(out), "-q")
    assert code == 1
    assert f"{name} files are not supported" in stderr and str(path) in stderr
    assert not out.exists() or not any(out.iterdir())
