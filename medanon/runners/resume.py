"""Resumable batches: the report journal and the mapping journals.

With ``--report run.jsonl``, each result is appended to ``run.jsonl.journal`` as soon as it
arrives (one JSON line, flushed): the report record plus a ``_resume`` stamp holding a digest of
the run's settings (profile and options, key fingerprint, medanon version, dry run), the input's
size and modification time and the output's size. When the batch ends, the final report is
written from the journal in input order, one record per input, without the stamps (temporary
file, then rename), and the journal is removed. A batch killed at any point leaves the journal.

``--resume`` reads it back: an input is skipped when its latest record is ``ok`` (``dry-run``
for a dry run) under the same settings, the input still has the recorded size and modification
time, and the output still exists with the recorded size. Everything else runs again. Outputs
are written atomically by :mod:`medanon.io`, so an output is either complete or absent; an
output that exists without a record (written just before the kill) is a medanon output and is
re-created (same key, same bytes), and medanon temporaries left by killed workers are removed.
Journal records are appended, so the latest record for an input wins; the final report still has
each input exactly once.

``--mapping DIR`` gets the same treatment: rows are appended to ``DIR/.uid_mapping.csv.journal``
and ``DIR/.patid_mapping.csv.journal`` (owner-only) before the result's journal line is written,
so every input recorded as done has its rows on disk; they are merged into the CSV files at the
end.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..dicom.markers import IMPLEMENTATION_CLASS_UID
from ..io import TMP_MARK
from ..keys import Keyring
from ..pipeline import FileResult
from ..policy import Policy
from .batch import Job

STAMP = "_resume"
MAPPING_FILES = ("uid_mapping.csv", "patid_mapping.csv")


def journal_path(report: Path) -> Path:
    """Where the journal of ``report`` lives: ``run.jsonl`` -> ``run.jsonl.journal``."""
    return report.with_name(report.name + ".journal")


def run_digest(policy: Policy, keyring: Keyring, *, dry_run: bool, layout: str = "mirror") -> str:
    """A digest of everything that decides an output's bytes and name, besides the input."""
    parts = [
        layout,
        __version__,
        keyring.fingerprint,
        policy.name,
        repr(sorted(str(o) for o in policy.options)),
        repr(sorted((str(k), str(v)) for k, v in policy.overrides.items())),
        repr(sorted((str(k), str(v)) for k, v in policy.private_overrides.items())),
        policy.patient_id_template,
        policy.patient_name_template,
        str(policy.max_shift_days),
        # Pixel and face cleaning and the verdict change outputs and records too: a batch
        # resumed with --pixels all must redo the files done without it.
        policy.pixel_text,
        repr(policy.pixel_boxes),
        repr(policy.pixel_rules),
        str(policy.faces),
        policy.face_search,
        str(policy.verdict_channel),
        policy.verdict_jurisdiction,
        "dry-run" if dry_run else "write",
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def is_medanon_output(path: Path) -> bool:
    """True when ``path`` is a Part 10 file whose File Meta names medanon's implementation."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head[128:132] == b"DICM" and str(IMPLEMENTATION_CLASS_UID).encode() in head


class ReportJournal:
    """The journal behind ``--report`` (see the module documentation)."""

    def __init__(
        self,
        report: Path,
        *,
        digest: str,
        extra: dict[str, Any],
        dry_run: bool = False,
        resume: bool = False,
    ) -> None:
        self.report = report
        self.path = journal_path(report)
        self.digest = digest
        self.extra = extra
        self.dry_run = dry_run
        self.offsets: dict[str, int] = {}  # input -> offset of its latest record
        # input -> (output, input size, input mtime_ns, output size) of finished inputs
        self.finished: dict[str, tuple[str | None, int, int, int | None]] = {}
        report.parent.mkdir(parents=True, exist_ok=True)
        if resume and not self.path.exists() and report.exists():
            self._adopt_report()
        if resume and self.path.exists():
            self._load()
            mode = "ab"
        else:
            mode = "wb"
        if resume:
            for stale in report.parent.glob(f".{report.name}{TMP_MARK}*"):
                with contextlib.suppress(OSError):
                    stale.unlink()
        self.handle: IO[bytes] = open(self.path, mode)  # noqa: SIM115 - closed in close()

    def _adopt_report(self) -> None:
        """``--resume`` after a batch that finished: its journal is gone, so its report becomes
        the journal. Its records carry no stamps: an ``ok`` record counts as done when profile
        and key fingerprint match and the output is a medanon output no older than the input
        (options changed between the two runs are not detected in this case)."""
        tmp = self.path.with_name(f".{self.path.name}{TMP_MARK}{os.getpid()}")
        wanted = "dry-run" if self.dry_run else "ok"
        with open(self.report, "rb") as source, open(tmp, "wb") as out:
            for line in source:
                try:
                    record = json.loads(line)
                    input_stat = _stat(Path(record["input"]))
                    output = record["output"]
                except (ValueError, KeyError, TypeError):
                    continue
                output_stat = _stat(Path(output)) if output is not None else None
                trusted = (
                    record.get("status") == wanted
                    and all(record.get(k) == v for k, v in self.extra.items())
                    and input_stat is not None
                    and (
                        self.dry_run
                        or (
                            output_stat is not None
                            and output_stat[1] >= input_stat[1]
                            and is_medanon_output(Path(output))
                        )
                    )
                )
                stamp = {
                    "run": self.digest if trusted else "unverified",
                    "input_size": input_stat[0] if input_stat else None,
                    "input_mtime_ns": input_stat[1] if input_stat else None,
                    "output_size": output_stat[0] if output_stat else None,
                }
                out.write(json.dumps(record | {STAMP: stamp}, sort_keys=True).encode() + b"\n")
        os.replace(tmp, self.path)

    def _load(self) -> None:
        wanted = "dry-run" if self.dry_run else "ok"
        data_end = 0
        with open(self.path, "rb") as handle:
            offset = 0
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # the last line was cut by the kill
                try:
                    record = json.loads(line)
                    stamp = record[STAMP]
                    source = record["input"]
                except (ValueError, KeyError, TypeError):
                    break
                self.offsets[source] = offset
                if (
                    record.get("status") == wanted
                    and stamp.get("run") == self.digest
                    and isinstance(stamp.get("input_size"), int)
                ):
                    self.finished[source] = (
                        record.get("output"),
                        stamp["input_size"],
                        stamp["input_mtime_ns"],
                        stamp.get("output_size"),
                    )
                else:
                    self.finished.pop(source, None)
                offset += len(line)
                data_end = offset
        with open(self.path, "r+b") as handle:
            handle.truncate(data_end)

    def is_done(self, job: Job) -> bool:
        """True when ``job`` finished in an earlier run and nothing changed since."""
        done = self.finished.get(str(job.source))
        if done is None:
            return False
        output, size, mtime_ns, output_size = done
        expected_output = str(job.destination) if job.destination is not None else None
        if output != expected_output or _stat(job.source) != (size, mtime_ns):
            return False
        if self.dry_run or job.destination is None:
            return True
        found = _stat(job.destination)
        return found is not None and found[0] == output_size

    def append(self, result: FileResult) -> dict[str, Any]:
        """Record ``result`` (one flushed line); returns its report record."""
        record = result.record() | self.extra
        source_stat = _stat(Path(result.input)) or (None, None)
        output_stat = (
            _stat(Path(result.output))
            if result.status == "ok" and result.output is not None
            else None
        )
        stamp = {
            "run": self.digest,
            "input_size": source_stat[0],
            "input_mtime_ns": source_stat[1],
            "output_size": output_stat[0] if output_stat else None,
        }
        line = json.dumps(record | {STAMP: stamp}, sort_keys=True).encode("utf-8") + b"\n"
        self.offsets[result.input] = self.handle.tell()
        self.handle.write(line)
        self.handle.flush()
        return record

    def records(self, jobs: Iterable[Job]) -> Iterator[dict[str, Any]]:
        """The latest record of each job, in the order of ``jobs`` (jobs never run are left
        out)."""
        self.handle.flush()
        with open(self.path, "rb") as handle:
            for job in jobs:
                offset = self.offsets.get(str(job.source))
                if offset is None:
                    continue
                handle.seek(offset)
                record = json.loads(handle.readline())
                record.pop(STAMP, None)
                yield record

    def finish(self, jobs: Iterable[Job]) -> Iterator[dict[str, Any]]:
        """Write the final report (input order, each input once, no stamps), then remove the
        journal. Yields each record written."""
        tmp = self.report.with_name(f".{self.report.name}{TMP_MARK}{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as out:
            for record in self.records(jobs):
                out.write(json.dumps(record, sort_keys=True) + "\n")
                yield record
        os.replace(tmp, self.report)
        self.close()
        self.path.unlink()

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


class MappingJournal:
    """Rows of ``uid_mapping.csv`` and ``patid_mapping.csv`` as they arrive, in hidden
    owner-only journals beside them; merged into the CSV files by :meth:`finish`."""

    def __init__(self, folder: Path, *, resume: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.handles: list[IO[str]] = []
        for name in MAPPING_FILES:
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resume else os.O_TRUNC)
            fd = os.open(self._journal(name), flags, 0o600)
            self.handles.append(os.fdopen(fd, "a", newline="", encoding="utf-8"))
        self.writers = [csv.writer(h, lineterminator="\n") for h in self.handles]

    def _journal(self, name: str) -> Path:
        return self.folder / f".{name}.journal"

    def append(self, result: FileResult) -> None:
        tables = (result.uid_map, result.patient_map)
        for writer, handle, table in zip(self.writers, self.handles, tables, strict=True):
            if table:
                writer.writerows(table.items())
                handle.flush()

    def finish(self) -> None:
        """Merge the journals into the CSV files (earlier rows kept: the files only grow),
        sorted, owner-only; then remove the journals."""
        self.close()
        for name in MAPPING_FILES:
            path, journal = self.folder / name, self._journal(name)
            table: dict[str, str] = {}
            if path.exists():
                with open(path, newline="", encoding="utf-8") as handle:
                    table = {row["id_old"]: row["id_new"] for row in csv.DictReader(handle)}
            with open(journal, newline="", encoding="utf-8") as handle:
                table.update((row[0], row[1]) for row in csv.reader(handle) if len(row) == 2)
            tmp = path.with_name(f".{name}{TMP_MARK}{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["id_old", "id_new"])
                writer.writerows(sorted(table.items()))
            os.replace(tmp, path)
            journal.unlink()

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def prepare_resume(jobs: Iterable[Job]) -> None:
    """Before re-running ``jobs`` (those not done): remove medanon temporaries that killed
    workers left beside their outputs, and outputs medanon wrote without recording them (they
    are re-created with the same bytes). Other existing files are left alone, so they still
    fail with 'output exists' unless ``--overwrite`` is given."""
    by_folder: dict[Path, set[str]] = {}
    for job in jobs:
        if job.destination is None:
            continue
        by_folder.setdefault(job.destination.parent, set()).add(job.destination.name)
        if job.destination.is_file() and is_medanon_output(job.destination):
            job.destination.unlink()
    for folder, names in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            stale = entry.startswith(".") and TMP_MARK in entry
            if stale and entry[1:].split(TMP_MARK, 1)[0] in names:
                with contextlib.suppress(OSError):
                    (folder / entry).unlink()
