"""Batches of files: which output each input gets, and running them on N local processes.

Each worker process builds its own :class:`~medanon.pipeline.Scrubber` once; since every
derivation is keyed, workers need no coordination and results do not depend on their number or
order. Results come back in input order, so reports are identical whatever ``jobs`` is.

:func:`run_jobs` keeps a bounded window of tasks in flight (never the whole batch), so a batch
of millions of files runs in constant memory. :mod:`medanon.runners.dask` runs the same per-file
work on a Dask cluster, and :mod:`medanon.runners.resume` makes a batch resumable.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.context
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..io import TMP_MARK
from ..keys import Keyring
from ..pipeline import FileResult, Scrubber
from ..policy import Policy

ANON_SUFFIX = ".anon"


@dataclass(frozen=True)
class Job:
    """One input and where its output goes: a file (``mirror``), or the folder below which
    the output is named from its own pseudonymous values (``pseudonymous``)."""

    source: Path
    destination: Path | None
    layout: str = "mirror"


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
    inputs: Sequence[Path],
    output: Path | None,
    *,
    output_is_folder: bool = False,
    layout: str = "mirror",
) -> list[Job]:
    """Map inputs (files and folders, recursive) to outputs; raise :class:`UsageError` for
    impossible requests: missing inputs, an output inside an input folder, clashing outputs.

    With ``layout="pseudonymous"`` every output goes below ``output`` under a name made from
    its de-identified values (:func:`medanon.pipeline.pseudonymous_path`)."""
    if not inputs:
        raise UsageError("no input given")
    for path in inputs:
        if not path.exists():
            raise UsageError(f"input does not exist: {path}")
    if layout == "pseudonymous":
        return _plan_pseudonymous(inputs, output)
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


def _plan_pseudonymous(inputs: Sequence[Path], output: Path | None) -> list[Job]:
    if output is None:
        raise UsageError("--layout pseudonymous needs an output folder (-o)")
    if output.exists() and not output.is_dir():
        raise UsageError(f"--layout pseudonymous needs an output folder: {output} is a file")
    jobs = []
    for path in inputs:
        if path.is_dir() and _inside(output, path):
            raise UsageError(f"the output folder {output} is inside the input folder {path}")
        files = _walk(path) if path.is_dir() else [path]
        jobs.extend(Job(f, output, "pseudonymous") for f in files)
    return jobs


# -- processes ---------------------------------------------------------------------------
_worker: Scrubber | None = None
_worker_flags: dict[str, Any] = {}
_worker_keep_maps = True


def _init_worker(
    policy: Policy, keyring: Keyring, flags: dict[str, Any], keep_maps: bool = True
) -> None:
    global _worker, _worker_flags, _worker_keep_maps
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _worker = Scrubber(policy, keyring)
    _worker_flags = flags
    _worker_keep_maps = keep_maps


def _init_pool_worker(
    policy: Policy, keyring: Keyring, flags: dict[str, Any], keep_maps: bool, parent: int
) -> None:
    # Ctrl-C reaches the whole process group: only the parent handles it, and stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(policy, keyring, flags, keep_maps)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL, OOM) would wait for tasks forever: exit.
    A file it was writing is left as a medanon temporary, which ``--resume`` removes."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def strip_maps(result: FileResult) -> FileResult:
    """Drop the UID and patient maps (original identifiers) from a result that need not carry
    them back: they are needed only for ``--mapping``."""
    result.uid_map = {}
    result.patient_map = {}
    return result


def _run_one(job: Job) -> FileResult:
    assert _worker is not None
    result = _worker.scrub_file(job.source, job.destination, layout=job.layout, **_worker_flags)
    return result if _worker_keep_maps else strip_maps(result)


def _run_chunk(chunk: list[Job]) -> list[FileResult]:
    return [_run_one(job) for job in chunk]


def _chunks(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    iterator = iter(jobs)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _context() -> multiprocessing.context.BaseContext:
    if os.name == "posix":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["medanon.pipeline"])  # workers start warm
        return context
    return multiprocessing.get_context("spawn")


def default_chunk(jobs: Iterable[Job], processes: int) -> int:
    """Files per task: enough to amortise the inter-process round trip on small files, few
    enough that Ctrl-C (which lets running tasks finish) and load balancing stay prompt."""
    if not isinstance(jobs, Sized):
        return 4
    return max(1, min(8, len(jobs) // (processes * 8)))


def run_jobs(
    jobs: Iterable[Job],
    policy: Policy,
    keyring: Keyring,
    *,
    processes: int = 1,
    overwrite: bool = False,
    dry_run: bool = False,
    durable: bool = False,
    preview_dir: Path | None = None,
    keep_maps: bool = True,
    window: int | None = None,
    chunk: int | None = None,
) -> Iterator[FileResult]:
    """Scrub ``jobs`` on ``processes`` processes; yields results in input order.

    ``jobs`` may be any iterable (a generator over millions of files included): it is consumed
    lazily, and at most ``window`` tasks of ``chunk`` files each (default ``4 * processes``
    tasks) are in flight or waiting to be yielded at any time, so memory does not grow with the
    batch. A slow file holds back later results until it is done, never beyond the window.
    With ``keep_maps=False`` the results carry no UID or patient maps (less memory and IPC).
    """
    flags: dict[str, Any] = {
        "overwrite": overwrite,
        "dry_run": dry_run,
        "durable": durable,
        "preview_dir": preview_dir,
    }
    if processes <= 1 or (isinstance(jobs, Sized) and len(jobs) <= 1):
        _init_worker(policy, keyring, flags, keep_maps)
        for job in jobs:
            yield _run_one(job)
        return
    size = chunk or default_chunk(jobs, processes)
    limit = max(1, window or 4 * processes)
    pending: deque[Future[list[FileResult]]] = deque()
    executor = ProcessPoolExecutor(
        processes,
        mp_context=_context(),
        initializer=_init_pool_worker,
        initargs=(policy, keyring, flags, keep_maps, os.getpid()),
    )
    try:
        chunks = _chunks(jobs, size)
        for piece in itertools.islice(chunks, limit):
            pending.append(executor.submit(_run_chunk, piece))
        while pending:
            results = pending.popleft().result()
            piece = next(chunks, None)
            if piece is not None:
                pending.append(executor.submit(_run_chunk, piece))
            yield from results
    finally:
        # Interrupted or done: queued tasks are cancelled, running ones finish (their outputs
        # are complete files; a resumed run re-creates the ones it has no record of).
        executor.shutdown(wait=True, cancel_futures=True)
