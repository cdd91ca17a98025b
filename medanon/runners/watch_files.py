"""Small file-level helpers of the watcher: which names to skip, hashing, error categories,
quarantine copies and moves that never replace an existing file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from ..io import TMP_MARK

# Names that are still being written by common copy tools, or never medical data.
TEMPORARY_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".download",
    ".filepart",
    ".swp",
    "~",
)
IGNORED_NAMES = {"thumbs.db", "desktop.ini"}
REASON_SUFFIX = ".reason.json"
HASH_CHUNK = 1 << 20


def wanted(name: str) -> bool:
    """True for a file name the watcher should process (not hidden, temporary or ours)."""
    lower = name.lower()
    return not (
        name.startswith(".")
        or TMP_MARK in name
        or lower.endswith(TEMPORARY_SUFFIXES)
        or lower in IGNORED_NAMES
    )


def wanted_dir(name: str) -> bool:
    return not name.startswith(".")


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- errors ------------------------------------------------------------------------------
# Messages of FileResult.error that come from OSErrors (medanon.io): the input could not be
# opened or read (locked, permissions, vanished) or the output could not be written (disk full).
_TRANSIENT_PREFIXES = (
    "cannot open:",
    "cannot read:",
    "cannot write ",
    "cannot read back ",
    "output exists, not overwritten",
)


def classify(error: str | None) -> tuple[str, bool]:
    """(category, transient) of a failed result's message; the category names no path."""
    text = error or ""
    lower = text.lower()
    if text.startswith(_TRANSIENT_PREFIXES) or "read back differs" in lower:
        if "no space" in lower or "quota" in lower:
            return "disk-full", True
        if "permission" in lower or "busy" in lower or "temporarily unavailable" in lower:
            return "locked", True
        return "io", True
    if "truncated" in lower or "empty file" in lower or "no data elements" in lower:
        return "incomplete", False
    if lower.startswith("output ") or "verification" in lower or "metadata left" in lower:
        return "verification", False
    if "dicomdir" in lower or "no sop" in lower or "unsupported" in lower:
        return "unsupported", False
    if "not a dicom" in lower or "parsed" in lower or "corrupt" in lower or "decoded" in lower:
        return "corrupt", False
    return "unsupported", False


def transient_kind(exc: OSError) -> str:
    text = (exc.strerror or "").lower()
    if "no space" in text or "quota" in text:
        return "disk-full"
    if "permission" in text or "busy" in text or "temporarily unavailable" in text:
        return "locked"
    return "io"


# -- placing files -----------------------------------------------------------------------
def _free_name(target: Path, sha: str | None) -> tuple[Path, bool]:
    """``target`` or ``target.1``, ``target.2``...: the first free name, or one that already
    holds the same content (then True: nothing to copy)."""
    candidate = target
    for n in range(1, 10_000):
        if not candidate.exists():
            return candidate, False
        if sha is not None and candidate.is_file():
            with contextlib.suppress(OSError):
                if sha256_file(candidate) == sha:
                    return candidate, True
        candidate = target.with_name(f"{target.name}.{n}")
    raise OSError(f"no free name for {target.name}")


def copy_atomic(source: Path, target: Path, sha: str | None) -> Path | None:
    """Copy ``source`` to ``target`` (or a free variant) via a temporary name, owner-only
    (a quarantined copy is an original: it holds PHI).

    Returns the name used, or None when the copy's hash differs from ``sha`` (the source
    changed meanwhile; nothing is left behind)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    final, present = _free_name(target, sha)
    if present:
        return final
    tmp = final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        shutil.copyfile(source, tmp)
        if sha is not None and sha256_file(tmp) != sha:
            return None
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final


def write_reason(quarantined: Path, category: str, error: str, attempts: int) -> Path:
    """The reason file beside a quarantined copy: no path, no value from the data."""
    reason = quarantined.with_name(quarantined.name + REASON_SUFFIX)
    record = {
        "category": category,
        "error": error,
        "attempts": attempts,
        "quarantined_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = reason.with_name(f".{reason.name}{TMP_MARK}{os.getpid()}")
    tmp.write_text(json.dumps(record, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, reason)
    return reason


def _hard_link_of(source: Path, target: Path) -> Path | None:
    """``target`` or one of its free-name variants (``.1``, ``.2``...) that is already the
    same file as ``source`` (same inode), if any."""
    candidate = target
    for n in range(1, 10_000):
        if not candidate.exists():
            return None
        with contextlib.suppress(OSError):
            if os.path.samefile(source, candidate):
                return candidate
        candidate = target.with_name(f"{target.name}.{n}")
    return None


def move_free(source: Path, target: Path) -> Path:
    """Move ``source`` to ``target`` or a free variant of it; never replaces a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    linked = _hard_link_of(source, target)
    if linked is not None:  # a kill between link and unlink last time: finish that move
        source.unlink()
        return linked
    for _ in range(100):
        final, _present = _free_name(target, None)
        try:
            os.link(source, final)  # atomic, and refuses an existing name
        except FileExistsError:
            continue  # taken meanwhile: look for the next free name
        except OSError:  # another file system, or no hard links (some SMB shares)
            shutil.move(str(source), str(final))
            return final
        source.unlink()
        return final
    raise OSError(f"no free name for {target.name}")
