"""The same per-file work on a Dask cluster (``pip install medanon[dask]``).

Each task scrubs a few files with :meth:`~medanon.pipeline.Scrubber.scrub_file`, exactly as a
local worker process does, so outputs and report records are the same bytes. Paths must be
reachable by the workers under the same names (a shared file system); relative paths are made
absolute on the client first, and results name the paths as the caller gave them.

The key: the policy, the :class:`~medanon.keys.Keyring` and the run's flags travel in one
:class:`WorkerContext`, scattered once to every worker under a random key (``hash=False``, so
not even a hash of the secret names it). Tasks refer to it by that key; their own keys are
``medanon-scrub-<run id>-<n>``; neither the secret nor any value read from the data appears in
a task key, a task graph or a log line (``repr`` of the keyring hides the secret). The secret
does cross the network inside the pickled context: use TLS (``tls://``) between the client and
the cluster outside a trusted network.

Submission is bounded: at most ``window`` tasks are in flight or waiting to be yielded, and
results are yielded in input order.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client, as_completed

from ..keys import Keyring
from ..pipeline import FileResult, Scrubber
from ..policy import Policy
from .batch import Job, strip_maps

_LOCK = threading.Lock()


@dataclass
class WorkerContext:
    """What a worker needs to scrub files; builds its :class:`Scrubber` once per worker."""

    policy: Policy
    keyring: Keyring
    flags: dict[str, Any]
    keep_maps: bool = True
    _scrubber: Scrubber | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_scrubber"] = None
        return state

    def scrubber(self) -> Scrubber:
        with _LOCK:
            if self._scrubber is None:
                self._scrubber = Scrubber(self.policy, self.keyring)
            return self._scrubber


def _absolute(path: Path | None) -> Path | None:
    return None if path is None else Path(path).absolute()


def _scrub_batch(context: WorkerContext, batch: list[tuple[Job, Job]]) -> list[FileResult]:
    """Runs on a worker: scrub ``(as given, absolute)`` job pairs; results name paths as
    given."""
    scrubber = context.scrubber()
    results = []
    for given, absolute in batch:
        result = scrubber.scrub_file(
            absolute.source, absolute.destination, layout=absolute.layout, **context.flags
        )
        result.input = str(given.source)
        if result.output is not None and given.destination is not None:
            assert absolute.destination is not None
            # Named as given; a pseudonymous output's own name below its folder is kept.
            below = Path(result.output).relative_to(absolute.destination)
            result.output = str(given.destination / below if below.parts else given.destination)
        if result.error:
            for path, name in (
                (absolute.source, given.source),
                (absolute.destination, given.destination),
            ):
                if path is not None and name is not None:
                    result.error = result.error.replace(str(path), str(name))
        results.append(result if context.keep_maps else strip_maps(result))
    return results


def run_on_dask(
    client: Client,
    jobs: Iterable[Job],
    policy: Policy,
    keyring: Keyring,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    durable: bool = False,
    preview_dir: Path | None = None,
    keep_maps: bool = True,
    window: int | None = None,
    batch_size: int = 4,
) -> Iterator[FileResult]:
    """Scrub ``jobs`` on the cluster behind ``client``; yields results in input order.

    ``window`` (default: twice the cluster's threads, at least 4) bounds the tasks in flight
    plus the finished ones waiting for an earlier task; each task scrubs ``batch_size`` files.
    ``jobs`` is consumed lazily. Leaving the iterator early cancels what is still queued.
    """
    flags: dict[str, Any] = {
        "overwrite": overwrite,
        "dry_run": dry_run,
        "durable": durable,
        "preview_dir": _absolute(preview_dir),  # workers run elsewhere: never their cwd
    }
    context = client.scatter(
        WorkerContext(policy, keyring, flags, keep_maps), broadcast=True, hash=False
    )
    limit = window or max(4, 2 * sum(client.nthreads().values()))
    run_id = uuid.uuid4().hex[:8]
    pairs = (
        (job, Job(Path(job.source).absolute(), _absolute(job.destination), job.layout))
        for job in jobs
    )
    batches = iter(lambda: list(itertools.islice(pairs, batch_size)), [])
    submitted = 0
    next_index = 0
    done: dict[int, list[FileResult]] = {}
    index_of: dict[str, int] = {}
    completions = as_completed()
    live = []

    def submit() -> bool:
        nonlocal submitted
        batch = next(batches, None)
        if batch is None:
            return False
        key = f"medanon-scrub-{run_id}-{submitted}"
        future = client.submit(_scrub_batch, context, batch, key=key, pure=False)
        index_of[future.key] = submitted
        live.append(future)
        completions.add(future)
        submitted += 1
        return True

    try:
        while submitted - next_index < limit and submit():
            pass
        for future in completions:
            done[index_of.pop(future.key)] = future.result()
            live.remove(future)
            future.release()
            while next_index in done:
                yield from done.pop(next_index)
                next_index += 1
                if submitted - next_index < limit:
                    submit()
    finally:
        if client.status == "running":  # not when collected after the client closed
            client.cancel([*live, context])
