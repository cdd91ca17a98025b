"""``medanon watch``: latency from drop to output, and burst throughput against ``scrub``.

In one run, on one synthetic corpus (fake PHI only, ``tests/factories.py``, small 8x8 CT files
with rich headers):

1. **Latency**: a watcher (a real ``medanon watch`` subprocess, filesystem events on) is running;
   files are dropped one at a time (written under a hidden name, then renamed into the inbox, as
   copy tools do) and the time until the output exists is measured (p50, p95). The latency
   includes the stability wait (``--stable``, default 1 s), reported beside the figures.
2. **Burst**: 1,000 files are moved into the inbox of a running watcher at once; throughput is
   files / (last output - drop) and, without the stability wait, files / (last output - first
   output).
3. **scrub**: the same 1,000 files through :func:`medanon.runners.batch.plan_jobs` and
   :func:`~medanon.runners.batch.run_jobs`, as ``medanon scrub`` does (in-process, so import time
   is not counted; the watcher's start-up is not counted either).

Usage::

    .venv/bin/python benchmarks/bench_watch.py [--files 1000] [--singles 30] [--workers 1,2]
        [--stable 1.0] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medanon.keys import Keyring  # noqa: E402
from medanon.policy import load_policy  # noqa: E402
from medanon.runners.batch import plan_jobs, run_jobs  # noqa: E402
from tests.factories import write_phi_file  # noqa: E402

BENCH_KEY = "medanon-benchmark-key-not-secret-0123456789"


def make_corpus(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"p{i % 10}" / f"im{i:05d}.dcm"
        write_phi_file(path, rows=8, columns=8)
        paths.append(path)
    return paths


def start_watch(
    inbox: Path, outbox: Path, log: Path, workers: int, stable: float
) -> subprocess.Popen:
    env = dict(os.environ, MEDANON_KEY=BENCH_KEY, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from medanon.watch_cmd import watch; watch()",
            str(inbox),
            "-o",
            str(outbox),
            "--workers",
            str(workers),
            "--stable",
            str(stable),
            "--status-every",
            "5",
        ],
        stderr=log.open("w"),
        stdout=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while '"event": "start"' not in log.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the watcher did not start:\n" + log.read_text())
        time.sleep(0.05)
    time.sleep(0.5)  # let the observer settle
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_exists(path: Path, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no output for {path}")
        time.sleep(0.002)
    return time.monotonic()


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench_latency(work: Path, corpus: list[Path], workers: int, stable: float) -> dict:
    inbox, outbox = work / "lat-in", work / "lat-out"
    inbox.mkdir()
    process = start_watch(inbox, outbox, work / "lat.log", workers, stable)
    latencies = []
    try:
        for i, source in enumerate(corpus):
            hidden = inbox / f".drop{i}.dcm"
            shutil.copyfile(source, hidden)
            started = time.monotonic()
            os.rename(hidden, inbox / f"single{i}.dcm")
            latencies.append(wait_exists(outbox / f"single{i}.dcm") - started)
            time.sleep(0.05)
    finally:
        stop(process)
    return {
        "files": len(latencies),
        "stable_s": stable,
        "p50_s": round(percentile(latencies, 0.5), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
        "p50_minus_stable_s": round(percentile(latencies, 0.5) - stable, 3),
    }


def bench_burst(work: Path, corpus_dir: Path, count: int, workers: int, stable: float) -> dict:
    inbox, outbox = work / f"burst{workers}-in", work / f"burst{workers}-out"
    inbox.mkdir()
    drop = work / f"burst{workers}-drop"
    shutil.copytree(corpus_dir, drop)
    names = sorted(p.relative_to(drop) for p in drop.rglob("*.dcm"))
    log = work / f"burst{workers}.log"
    process = start_watch(inbox, outbox, log, workers, stable)
    try:
        started = time.time()
        for folder in sorted(drop.iterdir()):  # one rename per patient folder
            os.rename(folder, inbox / folder.name)
        # Completion times come from the watcher's own "done" records (wall clock), so that
        # this process does not compete for the CPU by scanning the output folder.
        deadline = time.monotonic() + 600
        while True:
            done = [r["ts"] for r in _records(log) if r["event"] == "done"]
            if len(done) >= len(names):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"burst: only {len(done)} of {len(names)} outputs")
            time.sleep(0.25)
        first, ended = min(done), max(done)
    finally:
        stop(process)
    assert sum(1 for _ in outbox.rglob("*.dcm")) == len(names)
    return {
        "files": len(names),
        "workers": workers,
        "stable_s": stable,
        "seconds_drop_to_last": round(ended - started, 3),
        "files_per_s_with_wait": round(len(names) / (ended - started), 1),
        "files_per_s_processing": round(len(names) / max(ended - first, 1e-9), 1),
    }


def bench_scrub(work: Path, corpus_dir: Path, jobs: int) -> dict:
    output = work / f"scrub{jobs}-out"
    policy = load_policy("basic")
    keyring = Keyring(BENCH_KEY.encode())
    started = time.monotonic()
    job_list = plan_jobs([corpus_dir], output)
    results = list(run_jobs(job_list, policy, keyring, processes=jobs))
    seconds = time.monotonic() - started
    assert all(r.status == "ok" for r in results)
    return {
        "files": len(results),
        "jobs": jobs,
        "seconds": round(seconds, 3),
        "files_per_s": round(len(results) / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--stable", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    report: dict = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = Path(tmp)
        corpus_dir = work / "corpus"
        corpus = make_corpus(corpus_dir, args.files)
        report["latency"] = bench_latency(work, corpus[: args.singles], 1, args.stable)
        report["burst"] = []
        for n in workers:
            scrub = bench_scrub(work, corpus_dir, n)
            burst = bench_burst(work, corpus_dir, args.files, n, args.stable)
            burst["vs_scrub_processing"] = round(
                burst["files_per_s_processing"] / scrub["files_per_s"], 2
            )
            burst["vs_scrub_with_wait"] = round(
                burst["files_per_s_with_wait"] / scrub["files_per_s"], 2
            )
            report["burst"].append({"scrub": scrub, "watch": burst})
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lat = report["latency"]
    print(
        f"latency, single files (n={lat['files']}, --stable {lat['stable_s']} s): "
        f"p50 {lat['p50_s']} s, p95 {lat['p95_s']} s, max {lat['max_s']} s"
    )
    for entry in report["burst"]:
        scrub, burst = entry["scrub"], entry["watch"]
        print(
            f"burst of {burst['files']} files, {burst['workers']} worker(s): "
            f"watch {burst['files_per_s_processing']} files/s processing "
            f"({burst['files_per_s_with_wait']} files/s including the {burst['stable_s']} s "
            f"wait, {burst['seconds_drop_to_last']} s drop to last output); "
            f"scrub -j{scrub['jobs']} {scrub['files_per_s']} files/s; ratio "
            f"{burst['vs_scrub_processing']} ({burst['vs_scrub_with_wait']} with the wait)"
        )


if __name__ == "__main__":
    main()
