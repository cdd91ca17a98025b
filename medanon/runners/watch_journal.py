"""The watcher's journal: one SQLite row per input file, the source of truth across restarts.

Each input (keyed by its path relative to the inbox, POSIX separators) moves through these
states; every transition is one committed transaction, so a process killed at any moment
(SIGKILL included) leaves a row in a state the next start knows how to finish:

``processing``
    claimed: a worker is (or was) de-identifying it into a private staging file. On restart the
    row goes back to ``pending`` and the file is processed again; staging leftovers are deleted.
``written``
    the verified output is in its staging file, whose SHA-256 is recorded. The next step renames
    it to the final name. On restart: if the final output exists with the recorded hash the row
    is marked ``done``; if the staging file is still there with that hash it is renamed first;
    otherwise the file is processed again.
``done``
    output in place (``output``, ``out_sha256``); ``size``, ``mtime_ns`` and ``sha256`` describe
    the input version that produced it. A later version (other size, mtime or content) is
    processed again.
``failed``
    a permanent input error (corrupt, unsupported, failed verification): copied to quarantine.
``retry``
    a transient error (locked file, disk full): tried again after a back-off.
``pending``
    seen but not finished (also: a file that does not parse yet, waiting to be stable).

The database runs in WAL mode with ``synchronous=NORMAL``: a committed transaction survives a
crash of the process; after a power loss the last transitions may be lost, which replays them.
The journal holds input paths (which may be identifying if file names are), hashes, states and
PHI-free error messages; it is created owner-only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

JOURNAL_NAME = ".medanon-watch.sqlite"
SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    output TEXT,
    out_sha256 TEXT,
    staging TEXT,
    error_category TEXT,
    error TEXT,
    quarantine TEXT,
    moved_to TEXT,
    profile TEXT,
    key_fingerprint TEXT,
    first_seen REAL NOT NULL,
    updated REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS files_state ON files (state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS head_slices (
    path TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS head_slices_series ON head_slices (series);
CREATE TABLE IF NOT EXISTS head_series_warned (series TEXT PRIMARY KEY);
"""

STATES = ("pending", "processing", "written", "done", "failed", "retry")


@dataclass(frozen=True)
class Row:
    rowid: int
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    state: str
    attempts: int
    output: str | None
    out_sha256: str | None
    staging: str | None
    error_category: str | None
    error: str | None
    quarantine: str | None
    moved_to: str | None


_COLUMNS = (
    "rowid, path, size, mtime_ns, sha256, state, attempts, output, out_sha256, staging, "
    "error_category, error, quarantine, moved_to"
)


class Journal:
    """A small typed wrapper over the SQLite file; used from one thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reads -------------------------------------------------------------------------
    def get(self, path: str) -> Row | None:
        found = self._db.execute(f"SELECT {_COLUMNS} FROM files WHERE path = ?", (path,)).fetchone()
        return Row(*found) if found else None

    def rows(self, *states: str) -> list[Row]:
        if states:
            marks = ",".join("?" * len(states))
            query = f"SELECT {_COLUMNS} FROM files WHERE state IN ({marks}) ORDER BY path"
            return [Row(*r) for r in self._db.execute(query, states)]
        return [Row(*r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM files ORDER BY path")]

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall())

    # -- transitions -------------------------------------------------------------------
    def claim(
        self, path: str, size: int, mtime_ns: int, profile: str, fingerprint: str
    ) -> tuple[int, int]:
        """Mark ``path`` as being processed (this version); returns (rowid, attempt number).

        Attempts count tries of the same version: a new size or mtime starts again at 1."""
        now = time.time()
        with self._transaction() as db:
            old = db.execute(
                "SELECT rowid, size, mtime_ns, attempts FROM files WHERE path = ?", (path,)
            ).fetchone()
            if old is None:
                cursor = db.execute(
                    "INSERT INTO files (path, size, mtime_ns, state, attempts, profile, "
                    "key_fingerprint, first_seen, updated) "
                    "VALUES (?, ?, ?, 'processing', 1, ?, ?, ?, ?)",
                    (path, size, mtime_ns, profile, fingerprint, now, now),
                )
                return int(cursor.lastrowid or 0), 1
            rowid, old_size, old_mtime, attempts = old
            attempts = attempts + 1 if (old_size, old_mtime) == (size, mtime_ns) else 1
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, state = 'processing', attempts = ?, "
                "staging = NULL, profile = ?, key_fingerprint = ?, updated = ? WHERE rowid = ?",
                (size, mtime_ns, attempts, profile, fingerprint, now, rowid),
            )
            return int(rowid), int(attempts)

    def _update(self, path: str, **fields: object) -> None:
        fields["updated"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction() as db:
            db.execute(f"UPDATE files SET {assignments} WHERE path = ?", (*fields.values(), path))

    def mark_written(
        self, path: str, sha256: str, output: str, out_sha256: str, staging: str
    ) -> None:
        self._update(
            path,
            state="written",
            sha256=sha256,
            output=output,
            out_sha256=out_sha256,
            staging=staging,
            error_category=None,
            error=None,
        )

    def mark_done(self, path: str, **fields: object) -> None:
        fields.update(state="done", staging=None, error_category=None, error=None)
        self._update(path, done_at=time.time(), **fields)

    def mark_failed(
        self, path: str, sha256: str | None, category: str, error: str, quarantine: str | None
    ) -> None:
        self._update(
            path,
            state="failed",
            sha256=sha256,
            staging=None,
            error_category=category,
            error=error,
            quarantine=quarantine,
        )

    def mark_retry(self, path: str, category: str, error: str) -> None:
        self._update(path, state="retry", staging=None, error_category=category, error=error)

    def mark_pending(
        self, path: str, category: str | None = None, error: str | None = None
    ) -> None:
        self._update(path, state="pending", staging=None, error_category=category, error=error)

    def set_moved(self, path: str, moved_to: str) -> None:
        self._update(path, moved_to=moved_to)

    def forget(self, path: str) -> None:
        """Drop the row of an input that vanished before it was finished."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM files WHERE path = ? AND state NOT IN ('done', 'failed')", (path,)
            )

    def add_head_slices(self, path: str, series: str, facts: str) -> list[str]:
        """Record a head CT/MR file's geometry (JSON, no patient value) under its output series
        UID; returns the facts of every file of that series, for the series-level check."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO head_slices (path, series, facts) VALUES (?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET series = excluded.series, facts = excluded.facts",
                (path, series, facts),
            )
            rows = db.execute("SELECT facts FROM head_slices WHERE series = ?", (series,))
            return [row[0] for row in rows]

    def claim_head_warning(self, series: str) -> bool:
        """True once per series: the residual-risk warning is logged a single time."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO head_series_warned (series) VALUES (?)", (series,)
            )
            return cursor.rowcount > 0

    def reset_processing(self) -> int:
        """After a restart: claims of the dead process go back to ``pending``."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE files SET state = 'pending', staging = NULL, updated = ? "
                "WHERE state = 'processing'",
                (time.time(),),
            )
            return cursor.rowcount
