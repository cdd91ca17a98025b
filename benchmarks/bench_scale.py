"""Throughput of whole batches: 1 and 2 local processes against a 2-worker Dask ``LocalCluster``.

Uses the synthetic corpus of ``bench_header.py`` (fake PHI only; 64x64 CT-like files with rich
headers, reused from ``--keep DIR`` when it matches) and runs the header-only workload with
:func:`medanon.runners.batch.run_jobs` (1 and 2 processes, as ``medanon scrub -j N``) and
:func:`medanon.runners.dask.run_on_dask` on ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` (as ``medanon scrub --dask``). Prints wall time, files/s, files/s per core
and the overhead of Dask relative to 2 local processes. Cluster start-up is timed apart.

The OCR workload (burned-in text, about a second of CPU per image) is not built yet: the script
says so and measures the header-only workload alone.

Usage::

    .venv/bin/pip install -e '.[dask]'
    .venv/bin/python benchmarks/bench_scale.py [--files 400] [--size 64] [--repeat 2] [--keep DIR]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400, help="corpus files (default 400)")
    parser.add_argument("--size", type=int, default=64, help="rows = columns (default 64)")
    parser.add_argument("--profile", default="research", help="medanon profile")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode, best kept")
    parser.add_argument("--keep", type=Path, help="corpus and outputs in DIR, kept")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="medanon-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    policy, keyring = load_policy(args.profile), Keyring(BENCH_KEY)
    source = work / f"corpus-{args.size}"
    rows: list[tuple[str, int, float, int]] = []
    try:
        make_corpus(source, args.files, args.size)
        files = len(list(source.rglob("*.dcm")))
        print(
            f"medanon {medanon_version}, profile {args.profile}, {os.cpu_count()} CPUs, "
            f"{files} files {args.size}x{args.size}; header-only workload",
            flush=True,
        )
        for processes in (1, 2):
            seconds, ok = timed(
                f"local -j {processes}",
                lambda jobs, n=processes: run_jobs(
                    jobs, policy, keyring, processes=n, keep_maps=False
                ),
                source,
                work / f"out-j{processes}",
                args.repeat,
            )
            rows.append((f"local processes, -j {processes}", processes, seconds, ok))
        try:
            from distributed import Client, LocalCluster

            from medanon.runners.dask import run_on_dask
        except ImportError:
            print("  Dask: not installed (pip install 'medanon[dask]'); skipped")
        else:
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
                    "Dask LocalCluster 2x1",
                    lambda jobs: run_on_dask(client, jobs, policy, keyring, keep_maps=False),
                    source,
                    work / "out-dask",
                    args.repeat,
                )
                rows.append(("Dask LocalCluster, 2 workers x 1 thread", 2, seconds, ok))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'mode':<40} {'cores':>5} {'seconds':>8} {'files/s':>8} {'/core':>7} {'ok':>5}")
    print("-" * 78)
    for label, cores, seconds, ok in rows:
        rate = files / seconds
        print(f"{label:<40} {cores:>5} {seconds:>8.2f} {rate:>8.1f} {rate / cores:>7.1f} {ok:>5}")
    local2 = next((r for r in rows if r[0].endswith("-j 2")), None)
    dask = next((r for r in rows if r[0].startswith("Dask")), None)
    if local2 and dask:
        overhead = dask[2] / local2[2] - 1
        per_file_ms = (dask[2] - local2[2]) / files * 1000 * 2  # per file per worker
        print(
            f"\nDask overhead relative to 2 local processes: {overhead:+.0%} wall time "
            f"({per_file_ms:+.2f} ms of worker time per file)"
        )
    print(
        "OCR workload: not available yet (the burned-in text stage is not built); "
        "header-only figures only."
    )
    return 0 if all(ok == files for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
