"""Batches of files: which output each input gets, and running them on N local processes.

Each worker process builds its own :class:`~medanon.pipeline.Scrubber` once; since every
derivation is keyed, workers need no coordination and results do not depend on their number or
order. Results come back in input order, so reports are identical whatever ``jobs`` is.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io import TMP_MARK
from ..keys import Keyring
from ..pipeline import FileResult, Scrubber
from ..policy import Policy

ANON_SUFFIX = ".anon"


@dataclass(frozen=True)
class Job:
    source: Path
    destination: Path | None


def default_output(path: Path) -> Path:
    """Default output: ``scan.dcm`` -> ``scan.anon.dcm``, ``IM0001`` -> ``IM0001.anon``,
    folder ``x`` -> ``x.anon``."""
    path = path.absolute() if path.name in ("", ".", "..") else path
    if path.name in ("", ".", ".."):
        path = path.resolve()
    if path.is_dir():
        return path.with_name(path.name + ANON_SUFFIX)
    if path.suffix:
        return path.with_name(path.stem + ANON_SUFFIX + path.suffix)
    return path.with_name(path.name + ANON_SUFFIX)


def _walk(folder: Path) -> list[Path]:
    """Regular files below ``folder``, sorted; hidden files and medanon temporaries skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or TMP_MARK in name:
                continue
            path = Path(root) / name
            if path.is_file():
                found.append(path)
    return sorted(found)


def _inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


def plan_jobs(
    inputs: Sequence[Path], output: Path | None, *, output_is_folder: bool = False
) -> list[Job]:
    """Map inputs (files and folders, recursive) to outputs; raise :class:`UsageError` for
    impossible requests: missing inputs, an output inside an input folder, clashing outputs."""
    if not inputs:
        raise UsageError("no input given")
    for path in inputs:
        if not path.exists():
            raise UsageError(f"input does not exist: {path}")
    jobs: list[Job] = []
    single_file_to_file = (
        output is not None
        and len(inputs) == 1
        and inputs[0].is_file()
        and not output.is_dir()
        and not output_is_folder
    )
    for path in inputs:
        if path.is_dir():
            base = output if output is not None else default_output(path)
            if output is not None and len(inputs) > 1:
                base = output / path.resolve().name
            if _inside(base, path):
                raise UsageError(f"the output folder {base} is inside the input folder {path}")
            jobs.extend(Job(f, base / f.relative_to(path)) for f in _walk(path))
        elif single_file_to_file:
            assert output is not None
            jobs.append(Job(path, output))
        else:
            destination = default_output(path) if output is None else output / path.name
            jobs.append(Job(path, destination))
    seen: dict[Path, Path] = {}
    inputs_resolved = {j.source.resolve() for j in jobs}
    for job in jobs:
        assert job.destination is not None
        key = job.destination.resolve()
        if key in inputs_resolved:
            raise UsageError(f"output {job.destination} would overwrite an input")
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {job.source} would both be written to {job.destination}"
            )
        seen[key] = job.source
    return jobs


# -- processes ---------------------------------------------------------------------------
_worker: Scrubber | None = None
_worker_flags: dict[str, bool] = {}


def _init_worker(policy: Policy, keyring: Keyring, flags: dict[str, bool]) -> None:
    global _worker, _worker_flags
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _worker = Scrubber(policy, keyring)
    _worker_flags = flags


def _run_one(job: Job) -> FileResult:
    assert _worker is not None
    return _worker.scrub_file(job.source, job.destination, **_worker_flags)


def run_jobs(
    jobs: Sequence[Job],
    policy: Policy,
    keyring: Keyring,
    *,
    processes: int = 1,
    overwrite: bool = False,
    dry_run: bool = False,
    durable: bool = False,
) -> Iterator[FileResult]:
    """Scrub ``jobs`` on ``processes`` processes; yields results in input order."""
    flags = {"overwrite": overwrite, "dry_run": dry_run, "durable": durable}
    if processes <= 1 or len(jobs) <= 1:
        _init_worker(policy, keyring, flags)
        for job in jobs:
            yield _run_one(job)
        return
    if os.name == "posix":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["medanon.pipeline"])  # workers start warm
    else:
        context = multiprocessing.get_context("spawn")
    chunk = max(1, min(32, len(jobs) // (processes * 8) or 1))
    with context.Pool(
        processes, _init_worker, (policy, keyring, flags), maxtasksperchild=2000
    ) as pool:
        yield from pool.imap(_run_one, jobs, chunksize=chunk)
