"""Throughput of header de-identification: ``medanon scrub`` through the CLI's Python path.

Generates a synthetic corpus (fake PHI only) into a temporary folder:

* ``small``: CT-like files, 64x64 16-bit, with rich headers (names, IDs, dates in free text,
  nested sequences, private tags, an overlay), like ``tests/factories.py`` but self-contained;
* ``large``: the same headers over 512x512 16-bit pixels.

then runs :func:`medanon.runners.batch.plan_jobs` + :func:`~medanon.runners.batch.run_jobs`, as
``medanon scrub`` does, with 1 and 2 processes, and prints wall time, CPU time and throughput.

CPU time is that of the whole process tree (this process, its live descendants and the children
they reaped, from ``/proc``): ``resource.getrusage(RUSAGE_CHILDREN)`` alone misses the pool
workers, which are children of the forkserver, not of this process. Elsewhere than Linux it falls
back to ``getrusage`` (self + children), which undercounts multi-process runs.

Usage::

    .venv/bin/python benchmarks/bench_header.py [--small 400] [--large 200] [--profile research]
        [--jobs 1,2] [--keep DIR] [--cprofile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from medanon import __version__ as medanon_version
from medanon.keys import Keyring
from medanon.policy import load_policy
from medanon.runners.batch import plan_jobs, run_jobs

BENCH_KEY = b"medanon-benchmark-key-not-secret-0123456789"
SERIES_LENGTH = 40  # slices per fake patient
CORPUS_VERSION = 1

# Invented people; the strings a correct run must remove (checked on every output).
SURNAMES = ["DUPONTEL", "MARCHETTI", "KOWALCZYK", "OYELARAN", "HAUGLAND", "FERRANDIS"]
GIVEN = ["Marguerite", "Ottavio", "Zofia", "Babajide", "Sigrid", "Inmaculada"]
REFERRING = "LEMAISTRE^Octave"
OPERATOR = "QUERCY^Baptistine"
INSTITUTION = "Clinique Saint-Hilarion"
STATION = "CTSTATION7"


@dataclass(frozen=True)
class FakePatient:
    surname: str
    given: str
    patient_id: str
    birth_date: str
    accession: str

    @property
    def name(self) -> str:
        return f"{self.surname}^{self.given}"

    @property
    def planted(self) -> list[bytes]:
        """Byte strings that must not be found in any output (all encodings here are ASCII)."""
        return [
            s.encode("ascii")
            for s in (self.surname, self.given, self.patient_id, self.birth_date, self.accession)
        ] + [b"LEMAISTRE", b"QUERCY", INSTITUTION.encode(), STATION.encode()]


def fake_patient(index: int) -> FakePatient:
    surname = SURNAMES[index % len(SURNAMES)] + ("" if index < len(SURNAMES) else f"X{index}")
    return FakePatient(
        surname=surname,
        given=GIVEN[index % len(GIVEN)],
        patient_id=f"PID{48151623 + index * 7919}",
        birth_date=f"19{40 + index % 50:02d}0{1 + index % 9}1{index % 9}",
        accession=f"ACC{77120 + index}",
    )


def _item(**attributes: object) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def _uid(*parts: object) -> str:
    return generate_uid(entropy_srcs=["medanon-bench", *map(str, parts)])


def phi_dataset(
    patient: FakePatient, patient_index: int, slice_index: int, size: int, pixels: bytes
) -> Dataset:
    """One CT slice with fake PHI at the top level, in nested sequences, private tags, free text
    and an overlay (the kind of header ``tests/factories.py`` builds)."""
    study_uid = _uid("study", patient_index)
    series_uid = _uid("series", patient_index)
    instance_uid = _uid("instance", patient_index, slice_index)
    address = f"{12 + patient_index} rue Vercingetorix, Clermont-Ferrand"
    phone = f"04 73 55 {patient_index % 100:02d} 98"
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = instance_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240317"
    ds.StudyTime = "101500"
    ds.ContentTime = f"1015{slice_index % 60:02d}"
    ds.AccessionNumber = patient.accession
    ds.Modality = "CT"
    ds.Manufacturer = "ACME"
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = address
    ds.ReferringPhysicianName = REFERRING
    ds.StationName = STATION
    ds.StudyDescription = f"CT thorax {patient.surname} follow-up 2024-03-17"
    ds.SeriesDescription = "Thorax 1.25mm"
    ds.OperatorsName = OPERATOR
    ds.RetrieveURL = f"https://pacs.example.org/wado?studyUID={study_uid}"
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.IssuerOfPatientID = "HOSP-CF"
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = "F"
    ds.PatientAge = "062Y"
    ds.PatientAddress = address
    ds.PatientTelephoneNumbers = phone
    ds.OtherPatientIDsSequence = Sequence(
        [_item(PatientID=f"OTHER-{5512 + patient_index}", IssuerOfPatientID="X")]
    )
    ds.DeviceSerialNumber = "SN-99817"
    ds.ProtocolName = "THORAX LEMAISTRE"
    ds.ImageComments = f"Patient {patient.given} {patient.surname}, born 13/04/1961, tel {phone}"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = _uid("for", patient_index)
    ds.StudyID = "S1234"
    ds.SeriesNumber = 3
    ds.InstanceNumber = slice_index + 1
    ds.SliceThickness = "1.25"
    ds.ImagePositionPatient = [-160.0, -160.0, -200.0 + 1.25 * slice_index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.RequestAttributesSequence = Sequence(
        [
            _item(
                RequestedProcedureID=f"RP-{88812 + patient_index}",
                ScheduledProcedureStepID="SPS-1",
                ReasonForTheRequestedProcedure=f"Dyspnoea; patient {patient.patient_id}",
                ScheduledProtocolCodeSequence=Sequence(
                    [_item(CodeValue="X1", CodingSchemeDesignator="99L", CodeMeaning="QUERCY scan")]
                ),
            )
        ]
    )
    ds.ReferencedImageSequence = Sequence(
        [
            _item(
                ReferencedSOPClassUID=CTImageStorage,
                ReferencedSOPInstanceUID=_uid("instance", patient_index, other),
            )
            for other in (slice_index - 1, slice_index + 1)
            if 0 <= other < SERIES_LENGTH
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
    # Private: a safe attribute (PS3.15 Table E.3.10-1) and an unsafe one holding the name.
    ds.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(0x23, "DS", "1.0")
    ds.private_block(0x0029, "ACME PRIVATE", create=True).add_new(
        0x10, "LO", f"{patient.name} {patient.patient_id}"
    )
    # Overlay plane whose description names the patient.
    ds.add_new(0x60000010, "US", 16)
    ds.add_new(0x60000011, "US", 16)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60000022, "LO", f"Marks for {patient.name}")
    ds.add_new(0x60003000, "OW", b"\xff" * 32)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.PixelSpacing = [0.7, 0.7]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelData = pixels
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "HOSPCF_CT7"
    meta.ImplementationVersionName = "HOSPCF"
    ds.file_meta = meta
    ds.preamble = (f"{patient.name} {patient.patient_id}".encode() + b"\x00" * 128)[:128]
    return ds


def make_corpus(folder: Path, count: int, size: int) -> list[FakePatient]:
    """Write ``count`` files of ``size`` x ``size`` pixels below ``folder`` (reused when a
    previous run with the same parameters left it there)."""
    patients = [fake_patient(i) for i in range((count + SERIES_LENGTH - 1) // SERIES_LENGTH)]
    stamp = folder / ".corpus.json"
    wanted = {"version": CORPUS_VERSION, "count": count, "size": size}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return patients
    if folder.exists():
        shutil.rmtree(folder)
    rng = np.random.default_rng(size)
    pixels = rng.integers(0, 4096, size * size, dtype=np.uint16).astype("<u2").tobytes()
    for n in range(count):
        p, s = divmod(n, SERIES_LENGTH)
        path = folder / f"patient{p:03d}" / f"IM{s:04d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        phi_dataset(patients[p], p, s, size, pixels).save_as(path, enforce_file_format=True)
    stamp.write_text(json.dumps(wanted))
    return patients


# -- CPU time of the process tree ---------------------------------------------------------------
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime + cutime + cstime in seconds) from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ppid, ticks / _TICKS


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process, its live descendants and the children any of
    them reaped."""
    if not Path("/proc/self/stat").exists():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


# -- the measurement ----------------------------------------------------------------------------
@dataclass
class Row:
    corpus: str
    jobs: int
    files: int
    seconds: float
    cpu_seconds: float
    ok: int
    verified: int


def run_once(source: Path, output: Path, profile: str, jobs: int) -> tuple[float, float, int]:
    """Scrub ``source`` into ``output`` as ``medanon scrub -j JOBS`` would; (wall, cpu, ok)."""
    if output.exists():
        shutil.rmtree(output)
    policy = load_policy(profile)
    keyring = Keyring(BENCH_KEY)
    cpu0, wall0 = tree_cpu_seconds(), time.perf_counter()
    job_list = plan_jobs([source], output)
    ok = sum(1 for r in run_jobs(job_list, policy, keyring, processes=jobs) if r.status == "ok")
    wall = time.perf_counter() - wall0
    time.sleep(0.2)  # let the forkserver reap the pool workers: their CPU then counts
    return wall, tree_cpu_seconds() - cpu0, ok


def verify_outputs(output: Path, patients: list[FakePatient]) -> int:
    """Outputs that read back, have a zero preamble and contain none of the planted values."""
    planted = [s.upper() for p in patients for s in p.planted]
    good = 0
    for path in sorted(output.rglob("*.dcm")):
        data = path.read_bytes()
        if data[:128] != b"\x00" * 128 or data[128:132] != b"DICM":
            continue
        try:
            dcmread(path, stop_before_pixels=True)
        except Exception:
            continue
        header = data.upper()
        pixel_tag = header.rfind(b"\xe0\x7f\x10\x00")  # pixels are random: do not search them
        if pixel_tag > 0:
            header = header[:pixel_tag]
        if not any(s in header for s in planted):
            good += 1
    return good


def profile_run(source: Path, output: Path, profile: str, out_file: Path) -> None:
    """The single-process run under cProfile; stats to ``out_file``, top 15 printed."""
    if output.exists():
        shutil.rmtree(output)
    policy, keyring = load_policy(profile), Keyring(BENCH_KEY)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in run_jobs(plan_jobs([source], output), policy, keyring, processes=1):
        pass
    profiler.disable()
    profiler.dump_stats(out_file)
    stats = pstats.Stats(str(out_file))
    print(f"\ncProfile of the single-process run on {source.name}: {out_file}")
    stats.sort_stats("cumulative").print_stats(15)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=400, help="64x64 files (default 400)")
    parser.add_argument("--large", type=int, default=200, help="512x512 files (default 200)")
    parser.add_argument("--profile", default="research", help="medanon profile (default research)")
    parser.add_argument("--jobs", default="1,2", help="process counts to time (default 1,2)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="put corpus and outputs in DIR and keep them (a matching corpus there is reused)",
    )
    parser.add_argument(
        "--cprofile",
        type=Path,
        metavar="FILE",
        help="also profile the single-process run on the small corpus; stats to FILE",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    job_counts = [int(j) for j in args.jobs.split(",") if j.strip()]
    work = args.keep or Path(tempfile.mkdtemp(prefix="medanon-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    try:
        started = time.perf_counter()
        corpora = []
        for name, count, size in (("small", args.small, 64), ("large", args.large, 512)):
            if count > 0:
                patients = make_corpus(work / f"corpus-{name}", count, size)
                corpora.append((f"{name} {size}x{size}", work / f"corpus-{name}", patients))
        print(
            f"medanon {medanon_version}, profile {args.profile}, {os.cpu_count()} CPUs; "
            f"corpus ready in {time.perf_counter() - started:.1f} s in {work}",
            flush=True,
        )
        for label, source, patients in corpora:
            for jobs in job_counts:
                output = work / f"out-{source.name}-j{jobs}"
                wall, cpu, ok = run_once(source, output, args.profile, jobs)
                files = len(list(source.rglob("*.dcm")))
                rows.append(
                    Row(label, jobs, files, wall, cpu, ok, verify_outputs(output, patients))
                )
                print(f"  {label} jobs={jobs}: {wall:.2f} s", flush=True)
        print_table(rows)
        if args.cprofile is not None and args.small > 0:
            profile_run(work / "corpus-small", work / "out-profile", args.profile, args.cprofile)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    failed = any(r.ok != r.files or r.verified != r.files for r in rows)
    return 1 if failed else 0


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'corpus':<14} {'jobs':>4} {'files':>6} {'seconds':>8} {'CPU s':>7} "
        f"{'files/s':>8} {'files/CPU-s':>11} {'ok':>5} {'verified':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.corpus:<14} {r.jobs:>4} {r.files:>6} {r.seconds:>8.2f} {r.cpu_seconds:>7.2f} "
            f"{r.files / r.seconds:>8.1f} {r.files / max(r.cpu_seconds, 1e-9):>11.1f} "
            f"{r.ok:>5} {r.verified:>8}"
        )
    print(
        "\nok: results with status ok (medanon's own read-back verification passed); verified: "
        "outputs re-read here with a zero preamble and none of the planted PHI strings."
    )


if __name__ == "__main__":
    sys.exit(main())
