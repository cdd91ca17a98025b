"""Throughput of whole batches: 1 and 2 local processes against a 2-worker Dask ``LocalCluster``.

Uses the synthetic corpus of ``bench_header.py`` (fake PHI only; 64x64 CT-like files with rich
headers, reused from ``--keep DIR`` when it matches) and runs the header-only workload with
:func:`medanon.runners.batch.run_jobs` (1 and 2 processes, as ``medanon scrub -j N``) and
:func:`medanon.runners.dask.run_on_dask` on ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` (as ``medanon scrub --dask``). Prints wall time, files/s, files/s per core
and the overhead of Dask relative to 2 local processes. Cluster start-up is timed apart.

The OCR workload: ``--ocr-files`` secondary captures (256x320, names, dates and IDs burned in
with OpenCV fonts) through the ``social`` profile, whose text stage finds, fills and re-checks
burned-in text with Tesseract in every image.

Usage::

    .venv/bin/pip install -e '.[dask]'
    .venv/bin/python benchmarks/bench_scale.py [--files 400] [--size 64] [--ocr-files 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_header import BENCH_KEY, make_corpus  # the same corpus generator

from medanon import __version__ as medanon_version
from medanon.keys import Keyring
from medanon.policy import load_policy
from medanon.runners.batch import plan_jobs, run_jobs


def timed(label: str, run: object, source: Path, output: Path, repeat: int) -> tuple[float, int]:
    """Best wall time over ``repeat`` runs of ``run(jobs)`` into a fresh ``output``."""
    best, ok = float("inf"), 0
    for _ in range(repeat):
        if output.exists():
            shutil.rmtree(output)
        jobs = plan_jobs([source], output)
        started = time.perf_counter()
        ok = sum(1 for r in run(jobs) if r.status == "ok")  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    print(f"  {label}: {best:.2f} s", flush=True)
    return best, ok


def make_ocr_corpus(folder: Path, count: int) -> None:
    """Secondary captures with fake PHI burned into the pixels (deterministic)."""
    import cv2
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = folder / f"sc{index:04d}.dcm"
        if path.exists():
            continue
        rng = np.random.default_rng(index)
        image = (rng.random((256, 320)) * 60 + 20).astype(np.uint8)
        cv2.circle(image, (160, 150), 70, 130, -1)
        cv2.putText(image, f"PATIENT {index:04d} MARTIN", (8, 24), 0, 0.6, 255, 2)
        cv2.putText(
            image, f"{1 + index % 28:02d}/03/2024 10:{index % 60:02d}", (8, 50), 0, 0.6, 255, 2
        )
        ds = Dataset()
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.SOPInstanceUID = generate_uid(entropy_srcs=["medanon-bench-ocr", str(index)])
        ds.Modality = "OT"
        ds.PatientName = f"MARTIN^Patient{index:04d}"
        ds.PatientID = f"PID{index:06d}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = image.shape
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = image.tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(path, enforce_file_format=True)


def measure(
    name: str, source: Path, work: Path, policy: object, keyring: Keyring, repeat: int
) -> list[tuple[str, int, float, int]]:
    """1 and 2 local processes, then a 2-worker LocalCluster, on one corpus."""
    rows: list[tuple[str, int, float, int]] = []
    for processes in (1, 2):
        seconds, ok = timed(
            f"{name}: local -j {processes}",
            lambda jobs, n=processes: run_jobs(
                jobs,
                policy,
                keyring,
                processes=n,
                keep_maps=False,  # type: ignore[arg-type]
            ),
            source,
            work / f"out-{name}-j{processes}",
            repeat,
        )
        rows.append((f"{name}: local -j {processes}", processes, seconds, ok))
    try:
        from distributed import Client, LocalCluster

        from medanon.runners.dask import run_on_dask
    except ImportError:
        print("  Dask: not installed (pip install 'medanon[dask]'); skipped")
        return rows
    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"  LocalCluster start: {time.perf_counter() - started:.2f} s")
        seconds, ok = timed(
            f"{name}: Dask LocalCluster 2x1",
            lambda jobs: run_on_dask(client, jobs, policy, keyring, keep_maps=False),  # type: ignore[arg-type]
            source,
            work / f"out-{name}-dask",
            repeat,
        )
        rows.append((f"{name}: Dask 2 workers x 1 thread", 2, seconds, ok))
    return rows


def report(name: str, rows: list[tuple[str, int, float, int]], files: int) -> bool:
    print(f"\n{'mode':<44} {'cores':>5} {'seconds':>8} {'files/s':>8} {'/core':>7} {'ok':>5}")
    print("-" * 82)
    for label, cores, seconds, ok in rows:
        rate = files / seconds
        print(f"{label:<44} {cores:>5} {seconds:>8.2f} {rate:>8.1f} {rate / cores:>7.1f} {ok:>5}")
    local2 = next((r for r in rows if r[0].endswith("-j 2")), None)
    dask = next((r for r in rows if "Dask" in r[0]), None)
    if local2 and dask:
        overhead = dask[2] / local2[2] - 1
        per_file_ms = (dask[2] - local2[2]) / files * 1000 * 2  # per file per worker
        print(
            f"{name}: Dask overhead relative to 2 local processes: {overhead:+.0%} wall time "
            f"({per_file_ms:+.2f} ms of worker time per file)"
        )
    return all(ok == files for *_, ok in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400, help="header corpus files (400)")
    parser.add_argument("--size", type=int, default=64, help="rows = columns (default 64)")
    parser.add_argument("--profile", default="research", help="profile of the header workload")
    parser.add_argument("--ocr-files", type=int, default=40, help="OCR corpus files (40; 0: skip)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode, best kept")
    parser.add_argument("--keep", type=Path, help="corpus and outputs in DIR, kept")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="medanon-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    keyring = Keyring(BENCH_KEY)
    ok = True
    try:
        source = work / f"corpus-{args.size}"
        make_corpus(source, args.files, args.size)
        files = len(list(source.rglob("*.dcm")))
        print(
            f"medanon {medanon_version}, {os.cpu_count()} CPUs; header-only workload: profile "
            f"{args.profile}, {files} files {args.size}x{args.size}",
            flush=True,
        )
        rows = measure("header", source, work, load_policy(args.profile), keyring, args.repeat)
        ok = report("header", rows, files) and ok
        if args.ocr_files:
            ocr_source = work / "corpus-ocr"
            make_ocr_corpus(ocr_source, args.ocr_files)
            print(
                f"\nOCR workload: profile social (text found, filled, re-checked), "
                f"{args.ocr_files} files 256x320",
                flush=True,
            )
            rows = measure("ocr", ocr_source, work, load_policy("social"), keyring, 1)
            ok = report("ocr", rows, args.ocr_files) and ok
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
