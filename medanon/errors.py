"""Exceptions raised by medanon.

Every message names a file by its path (or nothing) and never quotes a value read from the
data: messages end up in logs and reports, which must carry no PHI.
"""

from __future__ import annotations


class MedanonError(Exception):
    """Base of every error medanon raises on purpose."""

    exit_code = 1


class UsageError(MedanonError):
    """The caller asked for something impossible (bad option, profile, paths)."""

    exit_code = 2


class ProfileError(UsageError):
    """A profile file is malformed or names an unknown attribute, action or option."""


class KeyError_(UsageError):
    """The secret key cannot be read or created."""


class InputError(MedanonError):
    """One input cannot be de-identified (not DICOM, truncated, unsupported)."""


class OutputError(MedanonError):
    """An output cannot be written (folder not writable, disk full, name taken)."""


class VerificationError(MedanonError):
    """The written output still contains an identifying value of its input."""
