"""Watch an inbox folder and de-identify every complete file dropped in it, exactly once.

How a file goes through (see :mod:`medanon.runners.watch_journal` for the states):

1. **Found** by a filesystem event (``watchdog``) or by the periodic scan (network shares often
   send no events). Hidden, temporary (``.part``, ``.tmp``...) and medanon's own files are
   skipped.
2. **Stable**: its size and mtime must stay the same for ``stable`` seconds (an event on the file
   restarts the wait).
3. **Claimed** in the journal, then a worker hashes it (SHA-256) and runs
   :meth:`~medanon.pipeline.Scrubber.scrub_file` into a private staging file in
   ``OUTBOX/.medanon-watch-staging/`` (atomic, fsynced, verified, read back). If the input's
   size or mtime changed meanwhile the result is thrown away and the file waits again.
4. **Written**: the staging file's hash is journalled, then the staging file is renamed to its
   final name (the input's relative path under OUTBOX) and the row is marked **done**. A replay
   after a crash finds either the staging file or the final output with the recorded hash, and
   finishes; no partial output is ever visible under a final name.
5. Failures: a permanent input error (corrupt, truncated, unsupported, failed verification) is
   confirmed by waiting until the file has been unchanged for ``settle`` seconds (a file that
   does not parse yet may still be growing), then a copy goes to the quarantine folder with a
   ``.reason.json``; transient errors (locked, disk full, I/O) are retried with exponential
   back-off and never quarantined.

One main thread owns the journal and all renames; workers (a thread, or processes) only read
inputs and write staging files. Everything logged is a JSON line without PHI.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any

from .. import __version__
from ..errors import UsageError
from ..faces.headscan import HeadSlices, assess
from ..io import TMP_MARK
from ..keys import Keyring
from ..pipeline import Scrubber
from ..policy import Policy
from .watch_files import (
    classify,
    copy_atomic,
    move_free,
    sha256_file,
    transient_kind,
    wanted,
    wanted_dir,
    write_reason,
)
from .watch_journal import JOURNAL_NAME, Journal

STAGING_DIR = ".medanon-watch-staging"
LOCK_NAME = ".medanon-watch.lock"
ONCE_MAX_ATTEMPTS = 3  # with --once, transient failures are retried this often, then left


@dataclass
class WatchConfig:
    inbox: Path
    outbox: Path
    quarantine: Path
    state: Path
    move_done: Path | None = None
    workers: int = 1
    once: bool = False
    poll: float = 10.0  # seconds between scans; 0: scan only at start
    stable: float = 1.0
    settle: float = 10.0
    events: bool = True
    status_every: float = 60.0
    retry_base: float = 1.0
    retry_max: float = 300.0
    layout: str = "mirror"  # or "pseudonymous": outputs named from their de-identified values

    @property
    def journal_path(self) -> Path:
        return self.state / JOURNAL_NAME

    @property
    def staging(self) -> Path:
        return self.outbox / STAGING_DIR


def check_layout(config: WatchConfig) -> None:
    """Refuse folder layouts that would loop or leak: raise :class:`UsageError`."""
    inbox = config.inbox
    if not inbox.is_dir():
        raise UsageError(f"inbox is not a folder: {inbox}")

    def inside(child: Path, parent: Path) -> bool:
        child, parent = child.resolve(), parent.resolve()
        return child == parent or parent in child.parents

    named = [("output", config.outbox), ("quarantine", config.quarantine), ("state", config.state)]
    if config.move_done is not None:
        named.append(("--move-done", config.move_done))
    for label, folder in named:
        if inside(folder, inbox) or inside(inbox, folder):
            raise UsageError(f"the {label} folder {folder} overlaps the inbox {inbox}")
    # Originals hold PHI: never put them among the de-identified outputs.
    for label, folder in named[1:]:
        if label != "state" and inside(folder, config.outbox):
            raise UsageError(f"the {label} folder {folder} is inside the output folder")


# -- logging -----------------------------------------------------------------------------
class JsonLog:
    """One JSON object per line, flushed at once; callers pass no value read from the data."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        line = self._line(event, fields)
        with self._lock:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed stderr must not stop the watcher

    def emergency(self, event: str, **fields: Any) -> None:
        """Write one line without the lock (from a signal handler, just before exiting)."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.write(self.stream.fileno(), self._line(event, fields).encode())

    @staticmethod
    def _line(event: str, fields: dict[str, Any]) -> str:
        record = {"ts": round(time.time(), 3), "event": event, **fields}
        return json.dumps(record, sort_keys=False, default=str) + "\n"


# -- worker side -------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    rel: str
    source: str
    staging: str
    size: int
    mtime_ns: int
    prior_sha: str | None  # content of the version already done: skip if unchanged
    layout: str = "mirror"  # "pseudonymous": ``staging`` is a folder the output is named in


@dataclass
class TaskResult:
    rel: str
    kind: str  # ok, unchanged, changed, gone, failed, transient
    sha: str | None = None
    out_sha: str | None = None
    category: str | None = None
    error: str | None = None
    warnings: int = 0
    seconds: float = 0.0
    head_slices: HeadSlices | None = None  # geometry of a head CT/MR file (series check)
    output: str | None = None  # output name below the outbox (pseudonymous layout)
    notes: tuple[str, ...] = ()  # the warnings' texts (fixed sentences, no values)
    staged: str | None = None  # the staged output file (pseudonymous layout: inside staging)


_scrubber: Scrubber | None = None


def _init_worker(policy: Policy, keyring: Keyring, main_pid: int | None) -> None:
    global _scrubber
    if main_pid is not None:
        # The main process decides when to stop: workers finish their file and wait.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()
    _scrubber = Scrubber(policy, keyring)


def _exit_with(main_pid: int) -> None:
    """A worker whose main process was killed (SIGKILL) exits too: it only ever wrote a staging
    file, which the next start deletes."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except OSError:
            pass


def _same_version(source: str, task: Task) -> bool:
    stat = os.stat(source)
    return (stat.st_size, stat.st_mtime_ns) == (task.size, task.mtime_ns)


def run_task(task: Task) -> TaskResult:
    """Hash the input, de-identify it into its staging file, hash the output."""
    started = time.monotonic()
    result = _run_task(task)
    result.seconds = time.monotonic() - started
    return result


def _run_task(task: Task) -> TaskResult:
    assert _scrubber is not None
    staging = Path(task.staging)
    try:
        if not _same_version(task.source, task):
            return TaskResult(task.rel, "changed")
        sha = sha256_file(task.source)
    except FileNotFoundError:
        return TaskResult(task.rel, "gone")
    except OSError as exc:
        return TaskResult(task.rel, "transient", category=transient_kind(exc), error=_os(exc))
    if sha == task.prior_sha:
        return TaskResult(task.rel, "unchanged", sha=sha)
    outcome = _scrubber.scrub_file(
        Path(task.source),
        staging,
        overwrite=True,
        durable=True,
        layout=task.layout,
        named_as=Path(task.rel),
    )
    staged = Path(outcome.output) if outcome.output else staging
    try:
        changed = not _same_version(task.source, task)
    except FileNotFoundError:
        changed = True
    except OSError:
        changed = False
    if changed:
        _discard(staging)
        return TaskResult(task.rel, "changed", sha=sha)
    if outcome.status != "ok":
        _discard(staging)
        category, transient = classify(outcome.error)
        if transient and not os.path.exists(task.source):
            return TaskResult(task.rel, "gone")
        kind = "transient" if transient else "failed"
        error = outcome.error if not transient else _strip_paths(outcome.error, task)
        return TaskResult(task.rel, kind, sha=sha, category=category, error=error)
    try:
        out_sha = sha256_file(staged)
    except OSError as exc:
        _discard(staging)
        return TaskResult(task.rel, "transient", category=transient_kind(exc), error=_os(exc))
    return TaskResult(
        task.rel,
        "ok",
        sha=sha,
        out_sha=out_sha,
        warnings=len(outcome.warnings),
        notes=tuple(outcome.warnings),
        head_slices=outcome.head_slices,
        output=staged.relative_to(staging).as_posix() if staged != staging else None,
        staged=str(staged),
    )


def _os(exc: OSError) -> str:
    return f"{exc.strerror or type(exc).__name__}"


def _strip_paths(error: str | None, task: Task) -> str:
    """Output errors name the staging path; keep the journal and logs path-free."""
    text = (error or "").replace(task.staging, "<output>").replace(task.source, "<input>")
    return text


def _discard(path: Path) -> None:
    """Remove a staging file, or a staging folder (pseudonymous layout) with what it holds."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        path.unlink()


# -- main side ---------------------------------------------------------------------------
@dataclass
class _Tracked:
    size: int
    mtime_ns: int
    since: float  # monotonic time this version was first seen
    version_since: float  # same, but not reset by events (for the settle wait)


@dataclass
class _Stats:
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    retried: int = 0
    unchanged: int = 0
    left: int = 0
    interval_done: int = 0
    interval_start: float = field(default_factory=time.monotonic)


class Watcher:
    """The watch loop. ``run()`` returns the exit status (0, or 1 when ``once`` left failures)."""

    def __init__(
        self,
        config: WatchConfig,
        policy: Policy,
        keyring: Keyring,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.config = config
        self.policy = policy
        self.keyring = keyring
        self.log = log if log is not None else JsonLog()
        self.stats = _Stats()
        self._wake = threading.Event()
        self._stop = False
        self._stop_signal: str | None = None  # set by the signal handler, logged by the loop
        self._events: deque[tuple[str, str, str | None]] = deque()
        self._completed: deque[tuple[Future[TaskResult], Task]] = deque()
        self._versions: dict[str, _Tracked] = {}  # the version each task in flight is about
        self._heap: list[tuple[float, int, str]] = []  # (due, seq, rel)
        self._seq = itertools.count()
        self._tracked: dict[str, _Tracked] = {}
        self._ready: deque[tuple[str, _Tracked]] = deque()
        self._ready_set: set[str] = set()
        self._inflight: dict[str, Task] = {}
        self._recheck: set[str] = set()
        self._retry: dict[str, float] = {}
        self._settling: dict[str, tuple[_Tracked, TaskResult, int]] = {}
        self._finished: dict[str, tuple[int, int, str]] = {}  # rel -> (size, mtime, state)
        self._prior_sha: dict[str, str] = {}
        self._attempts: dict[str, int] = {}
        self._seen_at: dict[str, float] = {}  # first sight, for latency
        self._executor: Executor | None = None
        self._observer: Any = None
        self._journal: Journal | None = None
        self._lock_handle: IO[bytes] | None = None

    # -- control -------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop taking new files; finish those in progress (safe from a signal handler)."""
        self._stop = True
        self._wake.set()

    def install_signal_handlers(self) -> Callable[[], None]:
        """SIGTERM/SIGINT: stop gracefully; a second one abandons. Returns a restorer."""

        def handler(signum: int, _frame: object) -> None:
            # No lock may be taken here: the interrupted code may hold the log's lock. The loop
            # logs "stopping"; an abandon is written straight to the stream's descriptor.
            name = signal.Signals(signum).name
            if self._stop:  # second signal: abandon the files in progress (the journal
                # survives this like a SIGKILL: the next start finds and redoes them)
                if isinstance(self.log, JsonLog):
                    self.log.emergency("abandon", signal=name, in_flight=len(self._inflight))
                os._exit(128 + signum)
            self._stop_signal = name
            self.request_stop()

        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore

    # -- run -----------------------------------------------------------------------------
    def run(self) -> int:
        config = self.config
        check_layout(config)
        for folder in (config.outbox, config.quarantine, config.state, config.staging):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock()
        self._journal = Journal(config.journal_path)
        try:
            self._recover()
            self._start_executor()
            if config.events and not config.once:
                self._start_observer()
            self.log(
                "start",
                version=__version__,
                inbox=str(config.inbox),
                outbox=str(config.outbox),
                profile=self.policy.name,
                key_fingerprint=self.keyring.fingerprint,
                workers=config.workers,
                stable=config.stable,
                settle=config.settle,
                poll=config.poll,
                events=self._observer is not None,
                once=config.once,
            )
            self._scan(config.inbox)
            self._loop()
        finally:
            self._shutdown()
        failed = self.stats.failed + self.stats.left
        return 1 if (config.once and failed) else 0

    def _loop(self) -> None:
        config = self.config
        now = time.monotonic()
        next_poll = now + config.poll if config.poll > 0 and not config.once else float("inf")
        next_status = now + config.status_every
        while True:
            self._wake.clear()
            self._drain_events()
            self._log_stopping()
            now = time.monotonic()
            if now >= next_poll:
                self._scan(config.inbox)
                next_poll = now + config.poll
            self._collect()
            self._due(time.monotonic())
            if not self._stop:
                self._submit()
            self._collect()
            now = time.monotonic()
            if now >= next_status:
                self._status()
                next_status = now + config.status_every
            if self._stop and not self._inflight:
                self._log_stopping()  # a signal that came after this round's first check
                break
            if config.once and self._idle():
                break
            timeout = min(next_poll, next_status, self._heap[0][0] if self._heap else now + 1.0)
            if self._ready and len(self._inflight) < self._max_inflight() and not self._stop:
                timeout = now
            self._wake.wait(max(0.0, min(timeout - now, 1.0)))
        self._status()

    def _idle(self) -> bool:
        return not (
            self._tracked
            or self._ready
            or self._inflight
            or self._retry
            or self._settling
            or self._completed
            or self._heap
        )

    def _max_inflight(self) -> int:
        return self.config.workers * 2

    # -- start and stop ------------------------------------------------------------------
    def _lock(self) -> None:
        import fcntl

        handle = open(self.config.state / LOCK_NAME, "ab")  # noqa: SIM115
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise UsageError(
                f"another medanon watch is using the journal in {self.config.state}"
            ) from None
        self._lock_handle = handle

    def _start_executor(self) -> None:
        args = (self.policy, self.keyring)
        if self.config.workers <= 1:
            self._executor = ThreadPoolExecutor(1, initializer=_init_worker, initargs=(*args, None))
            return
        if os.name == "posix":
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["medanon.pipeline"])
        else:  # pragma: no cover
            context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(
            self.config.workers, context, initializer=_init_worker, initargs=(*args, os.getpid())
        )

    def _start_observer(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            self.log("warning", message="watchdog is not installed: polling only")
            return
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                kind = event.event_type
                if kind in ("opened", "closed_no_write"):
                    return
                dest = getattr(event, "dest_path", None) or None
                watcher._events.append(
                    (kind if not event.is_directory else "dir-" + kind, _str(event.src_path), dest)
                )
                watcher._wake.set()

        observer = Observer()
        try:
            observer.schedule(Handler(), str(self.config.inbox), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. inotify watch limit reached
            self.log("warning", message=f"no filesystem events ({_os(exc)}): polling only")
            return
        self._observer = observer

    def _log_stopping(self) -> None:
        """Log the stop a signal asked for (the handler itself may not log: no lock there)."""
        name = self._stop_signal
        if name is not None:
            self._stop_signal = None
            self.log("stopping", signal=name, in_flight=len(self._inflight))

    def _shutdown(self) -> None:
        if self._observer is not None:
            with contextlib.suppress(Exception):
                self._observer.stop()
                self._observer.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._collect()
        if self._journal is not None:
            for rel in list(self._retry):
                if self.config.once:
                    self.stats.left += 1
                    self.log("left", path=rel, status="retry", reason="transient errors")
            counts = self._journal.counts()
            self.log(
                "stop",
                done=self.stats.done,
                failed=self.stats.failed,
                left=self.stats.left,
                journal=counts,
            )
            self._journal.close()
        if self._lock_handle is not None:
            self._lock_handle.close()

    def _recover(self) -> None:
        """Finish what a killed predecessor left: claims go back to pending, written outputs
        are put in place (or redone), staging leftovers are removed."""
        journal = self._journal
        assert journal is not None
        reset = journal.reset_processing()
        recovered = 0
        for row in journal.rows("written"):
            final = self.config.outbox / (row.output or row.path)
            staging = Path(row.staging) if row.staging else None
            if _has_hash(final, row.out_sha256):
                pass
            elif staging is not None and _has_hash(staging, row.out_sha256):
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging, final)
            else:
                journal.mark_pending(row.path)
                continue
            journal.mark_done(row.path)
            recovered += 1
            self.stats.done += 1
            self.log("done", path=row.path, status="ok", output=row.output, recovered=True)
        for leftover in self.config.staging.iterdir():
            _discard(leftover)
        for row in journal.rows("done", "failed"):
            if row.moved_to is None:
                self._finished[row.path] = (row.size, row.mtime_ns, row.state)
                if row.sha256:
                    self._prior_sha[row.path] = row.sha256
        if reset or recovered:
            self.log("recovered", reclaimed=reset, finished=recovered)

    # -- discovery -----------------------------------------------------------------------
    def _rel(self, path: str) -> str | None:
        try:
            rel = Path(path).relative_to(self.config.inbox)
        except ValueError:
            return None
        parts = rel.parts
        if not parts or not all(wanted_dir(p) for p in parts[:-1]) or not wanted(parts[-1]):
            return None
        return rel.as_posix()

    def _scan(self, folder: Path) -> None:
        """Walk ``folder`` (in the inbox) and start tracking every new or changed file."""
        now = time.monotonic()
        stack = [folder]
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if wanted_dir(entry.name):
                            stack.append(Path(entry.path))
                        continue
                    if not entry.is_file(follow_symlinks=False) or not wanted(entry.name):
                        continue
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                rel = self._rel(entry.path)
                if rel is not None:
                    self._consider(rel, stat.st_size, stat.st_mtime_ns, now, event=False)

    def _consider(self, rel: str, size: int, mtime_ns: int, now: float, *, event: bool) -> None:
        if rel in self._inflight:
            self._recheck.add(rel)
            return
        if rel in self._ready_set or rel in self._retry:
            return
        tracked = self._tracked.get(rel)
        if tracked is not None:
            if event or (tracked.size, tracked.mtime_ns) != (size, mtime_ns):
                if (tracked.size, tracked.mtime_ns) != (size, mtime_ns):
                    tracked.version_since = now
                tracked.size, tracked.mtime_ns, tracked.since = size, mtime_ns, now
            return
        settling = self._settling.get(rel)
        if settling is not None:
            if (settling[0].size, settling[0].mtime_ns) == (size, mtime_ns):
                return
            del self._settling[rel]  # it changed: a new version, wait for it again
        finished = self._finished.get(rel)
        if finished is not None and finished[:2] == (size, mtime_ns):
            if finished[2] == "done" and self.config.move_done is not None:
                self._move_done(rel)
            return
        self._seen_at.setdefault(rel, now)
        self._tracked[rel] = _Tracked(size, mtime_ns, now, now)
        self._push(now + self.config.stable, rel)

    def _push(self, due: float, rel: str) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), rel))

    def _drain_events(self) -> None:
        now = time.monotonic()
        while self._events:
            kind, src, dest = self._events.popleft()
            if kind.startswith("dir-"):
                if kind in ("dir-created", "dir-moved"):
                    target = Path(dest or src)
                    if target.is_dir() and self._rel_dir_ok(target):
                        self._scan(target)
                continue
            path = dest if kind == "moved" and dest else src
            rel = self._rel(path)
            if rel is None or kind == "deleted":
                continue
            try:
                stat = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            if S_ISREG(stat.st_mode):  # as the scan: regular files, not symbolic links
                self._consider(rel, stat.st_size, stat.st_mtime_ns, now, event=True)

    def _rel_dir_ok(self, folder: Path) -> bool:
        try:
            rel = folder.relative_to(self.config.inbox)
        except ValueError:
            return False
        return all(wanted_dir(p) for p in rel.parts)

    # -- readiness -----------------------------------------------------------------------
    def _due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, rel = heapq.heappop(self._heap)
            if rel in self._retry:
                if self._retry[rel] <= now:
                    del self._retry[rel]
                    self._retry_due(rel, now)
                continue
            if rel in self._settling:
                self._settle_due(rel, now)
                continue
            tracked = self._tracked.get(rel)
            if tracked is None:
                continue
            due = tracked.since + self.config.stable
            if due > now:
                self._push(due, rel)
                continue
            try:
                stat = os.stat(self.config.inbox / rel, follow_symlinks=False)
            except FileNotFoundError:
                del self._tracked[rel]
                self._seen_at.pop(rel, None)
                continue
            except OSError:
                tracked.since = now
                self._push(now + self.config.stable, rel)
                continue
            if (stat.st_size, stat.st_mtime_ns) != (tracked.size, tracked.mtime_ns):
                tracked.size, tracked.mtime_ns = stat.st_size, stat.st_mtime_ns
                tracked.since = tracked.version_since = now
                self._push(now + self.config.stable, rel)
                continue
            del self._tracked[rel]
            finished = self._finished.get(rel)
            if finished is not None and finished[:2] == (tracked.size, tracked.mtime_ns):
                self._seen_at.pop(rel, None)
                continue  # unchanged since it was done or quarantined
            self._ready.append((rel, tracked))
            self._ready_set.add(rel)

    def _retry_due(self, rel: str, now: float) -> None:
        try:
            stat = os.stat(self.config.inbox / rel, follow_symlinks=False)
        except FileNotFoundError:
            self._gone(rel)
            return
        except OSError:
            stat = None
        size = stat.st_size if stat else -1
        mtime = stat.st_mtime_ns if stat else -1
        tracked = _Tracked(size, mtime, now - self.config.stable, now)
        self._tracked[rel] = tracked
        self._push(now, rel)

    # -- processing ----------------------------------------------------------------------
    def _submit(self) -> None:
        journal = self._journal
        assert journal is not None and self._executor is not None
        while self._ready and len(self._inflight) < self._max_inflight():
            rel, tracked = self._ready.popleft()
            self._ready_set.discard(rel)
            rowid, attempt = journal.claim(
                rel, tracked.size, tracked.mtime_ns, self.policy.name, self.keyring.fingerprint
            )
            self._attempts[rel] = attempt
            task = Task(
                rel=rel,
                source=str(self.config.inbox / rel),
                staging=str(self.config.staging / f"{rowid}.{attempt}"),
                size=tracked.size,
                mtime_ns=tracked.mtime_ns,
                prior_sha=self._prior_sha.get(rel),
                layout=self.config.layout,
            )
            self._inflight[rel] = task
            try:
                future = self._executor.submit(run_task, task)
            except BrokenExecutor:
                self._restart_executor()
                future = self._executor.submit(run_task, task)
            self._versions[rel] = tracked
            future.add_done_callback(lambda f, t=task: self._on_done(f, t))

    def _on_done(self, future: Future[TaskResult], task: Task) -> None:
        self._completed.append((future, task))  # called from the worker thread: no journal here
        self._wake.set()

    def _restart_executor(self) -> None:
        self.log("warning", message="worker pool broke; starting a new one")
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._start_executor()

    def _collect(self) -> None:
        while self._completed:
            future, task = self._completed.popleft()
            tracked = self._versions.pop(task.rel, None)
            self._inflight.pop(task.rel, None)
            try:
                result = future.result()
            except BrokenExecutor:
                self._restart_executor()
                result = TaskResult(task.rel, "transient", category="worker", error="worker died")
            except Exception as exc:  # a bug: retry later rather than lose the file
                result = TaskResult(
                    task.rel, "transient", category="internal", error=type(exc).__name__
                )
            try:
                self._finish(task, result, tracked)
            except OSError as exc:
                _discard(Path(task.staging))
                self._schedule_retry(task.rel, transient_kind(exc), _os(exc))
            if task.rel in self._recheck:
                self._recheck.discard(task.rel)
                self._recheck_now(task.rel)

    def _check_head_series(self, rel: str, facts: HeadSlices) -> None:
        """Series-level face-reconstruction check across every file of the series seen so far
        (the journal keeps them across restarts); logged once per series."""
        journal = self._journal
        assert journal is not None
        known = journal.add_head_slices(rel, facts.series, json.dumps(facts.as_record()))
        slices = [HeadSlices.from_record(json.loads(item)) for item in known]
        for risk in assess(slices):
            if journal.claim_head_warning(risk.series):
                self.log("residual_risk", **risk.as_record(), warning=risk.message())

    def _recheck_now(self, rel: str) -> None:
        try:
            stat = os.stat(self.config.inbox / rel, follow_symlinks=False)
        except OSError:
            return
        self._consider(rel, stat.st_size, stat.st_mtime_ns, time.monotonic(), event=True)

    def _finish(self, task: Task, result: TaskResult, tracked: _Tracked | None) -> None:
        journal = self._journal
        assert journal is not None
        rel = task.rel
        if result.kind == "ok":
            assert result.sha is not None and result.out_sha is not None
            output = result.output or rel
            staged = result.staged or task.staging
            journal.mark_written(rel, result.sha, output, result.out_sha, staged)
            final = self.config.outbox / output
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            if staged != task.staging:
                _discard(Path(task.staging))  # the emptied staging folder
            journal.mark_done(rel)
            self._record_finished(rel, task, "done", result.sha)
            self.stats.done += 1
            self.stats.interval_done += 1
            self.log(
                "done",
                path=rel,
                status="ok",
                output=output,
                warnings=result.warnings,
                **({"notes": list(result.notes)} if result.notes else {}),
                attempt=self._attempts.get(rel, 1),
                ms=round(result.seconds * 1000, 1),
                latency_ms=self._latency(rel),
            )
            if result.head_slices is not None:
                self._check_head_series(rel, result.head_slices)
            if self.config.move_done is not None:
                self._move_done(rel)
        elif result.kind == "unchanged":
            journal.mark_done(rel, sha256=result.sha)
            self._record_finished(rel, task, "done", result.sha)
            self.stats.unchanged += 1
            self.log("unchanged", path=rel, status="ok")
            if self.config.move_done is not None:
                self._move_done(rel)
        elif result.kind == "changed":
            journal.mark_pending(rel)
            self._recheck_now(rel)
        elif result.kind == "gone":
            self._gone(rel)
        elif result.kind == "transient":
            self._schedule_retry(rel, result.category or "io", result.error or "")
        else:  # a permanent input error: quarantine once the file has settled
            version = tracked or _Tracked(task.size, task.mtime_ns, 0.0, 0.0)
            self._settling[rel] = (version, result, self._attempts.get(rel, 1))
            wait_until = version.version_since + self.config.settle
            if time.monotonic() >= wait_until:
                self._settle_due(rel, time.monotonic())
            else:
                journal.mark_pending(rel, result.category, result.error)
                self.log(
                    "not-ready",
                    path=rel,
                    status="waiting",
                    category=result.category,
                    error=result.error,
                    settle_s=round(wait_until - time.monotonic(), 1),
                )
                self._push(wait_until, rel)

    def _settle_due(self, rel: str, now: float) -> None:
        version, result, attempts = self._settling[rel]
        if version.version_since + self.config.settle > now:
            self._push(version.version_since + self.config.settle, rel)
            return
        del self._settling[rel]
        source = self.config.inbox / rel
        try:
            stat = os.stat(source, follow_symlinks=False)
        except FileNotFoundError:
            self._gone(rel)
            return
        if (stat.st_size, stat.st_mtime_ns) != (version.size, version.mtime_ns):
            self._consider(rel, stat.st_size, stat.st_mtime_ns, now, event=True)
            return
        self._quarantine(rel, version, result, attempts)

    def _quarantine(self, rel: str, version: _Tracked, result: TaskResult, attempts: int) -> None:
        journal = self._journal
        assert journal is not None
        category = result.category or "unsupported"
        error = result.error or ""
        try:
            copied = copy_atomic(self.config.inbox / rel, self.config.quarantine / rel, result.sha)
            if copied is None:  # changed while copying: wait for the new version
                self._recheck_now(rel)
                return
            write_reason(copied, category, error, attempts)
        except FileNotFoundError:
            self._gone(rel)
            return
        except OSError as exc:
            self._schedule_retry(rel, transient_kind(exc), _os(exc))
            return
        quarantined = copied.relative_to(self.config.quarantine).as_posix()
        journal.mark_failed(rel, result.sha, category, error, quarantined)
        self._finished[rel] = (version.size, version.mtime_ns, "failed")
        self.stats.failed += 1
        self._seen_at.pop(rel, None)
        self.log(
            "quarantined",
            path=rel,
            status="failed",
            category=category,
            error=error,
            quarantine=quarantined,
        )

    def _schedule_retry(self, rel: str, category: str, error: str) -> None:
        journal = self._journal
        assert journal is not None
        attempt = self._attempts.get(rel, 1)
        if self.config.once and attempt >= ONCE_MAX_ATTEMPTS:
            journal.mark_retry(rel, category, error)
            self.stats.left += 1
            self.log("left", path=rel, status="retry", category=category, error=error)
            return
        delay = min(self.config.retry_max, self.config.retry_base * 2 ** (attempt - 1))
        journal.mark_retry(rel, category, error)
        self.stats.retried += 1
        due = time.monotonic() + delay
        self._retry[rel] = due
        self._push(due, rel)
        self.log(
            "retry",
            path=rel,
            status="transient",
            category=category,
            error=error,
            attempt=attempt,
            delay_s=round(delay, 1),
        )

    def _gone(self, rel: str) -> None:
        assert self._journal is not None
        self._journal.forget(rel)
        self._tracked.pop(rel, None)
        self._seen_at.pop(rel, None)
        self.log("gone", path=rel, status="vanished")

    def _record_finished(self, rel: str, task: Task, state: str, sha: str | None) -> None:
        self._finished[rel] = (task.size, task.mtime_ns, state)
        if sha:
            self._prior_sha[rel] = sha

    def _move_done(self, rel: str) -> None:
        assert self.config.move_done is not None and self._journal is not None
        source = self.config.inbox / rel
        finished = self._finished.get(rel)
        try:
            stat = os.stat(source, follow_symlinks=False)
            if finished is None or finished[:2] != (stat.st_size, stat.st_mtime_ns):
                return  # changed since: it will be processed again, not moved
            moved = move_free(source, self.config.move_done / rel)
        except FileNotFoundError:
            return
        except OSError as exc:
            self.log("warning", path=rel, message=f"cannot move the original ({_os(exc)})")
            return
        moved_rel = moved.relative_to(self.config.move_done).as_posix()
        self._journal.set_moved(rel, moved_rel)
        self._finished.pop(rel, None)
        self._prior_sha.pop(rel, None)
        self.log("moved", path=rel, status="ok", moved_to=moved_rel)

    def _latency(self, rel: str) -> float | None:
        seen = self._seen_at.pop(rel, None)
        return None if seen is None else round((time.monotonic() - seen) * 1000, 1)

    def _status(self) -> None:
        now = time.monotonic()
        interval = max(now - self.stats.interval_start, 1e-9)
        self.log(
            "status",
            queued=len(self._tracked) + len(self._ready) + len(self._settling),
            in_flight=len(self._inflight),
            retrying=len(self._retry),
            done=self.stats.done,
            failed=self.stats.failed,
            files_per_s=round(self.stats.interval_done / interval, 2),
        )
        self.stats.interval_done = 0
        self.stats.interval_start = now


def _has_hash(path: Path, sha: str | None) -> bool:
    if sha is None or not path.is_file():
        return False
    try:
        return sha256_file(path) == sha
    except OSError:
        return False


def _str(path: str | bytes) -> str:
    return os.fsdecode(path)


__all__ = ["TMP_MARK", "JsonLog", "Task", "TaskResult", "WatchConfig", "Watcher", "run_task"]
