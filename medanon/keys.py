"""The secret key and everything derived from it.

UIDs, pseudonyms and date offsets are HMAC-SHA256 derivations of the original values under one
secret key, each in its own domain (a label prefixed to the message). The same key and input give
the same output in every file, run, process and machine, so workers need no coordination; without
the key the mapping cannot be reversed by a dictionary attack, unlike a plain hash. Nothing else in
medanon touches the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KeyError_

_TEMPLATE_RE = re.compile(r"\{hash(?::(\d+))?\}")
ENV_VAR = "MEDANON_KEY"
KEY_FILE_ENV_VAR = "MEDANON_KEY_FILE"


def default_key_path() -> Path:
    """Where medanon keeps its key when none is given: ``$XDG_CONFIG_HOME/medanon/key``.

    ``$XDG_CONFIG_HOME`` defaults to ``~/.config``.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "medanon" / "key"


@dataclass(frozen=True)
class Keyring:
    """Keyed, deterministic derivations. Holds the key; never prints it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise KeyError_("the secret key must be at least 16 bytes long")

    @property
    def fingerprint(self) -> str:
        """A short public identifier of the key for reports (not the key, not reversible)."""
        return self._digest(b"fingerprint", b"").hex()[:16]

    def _digest(self, domain: bytes, message: bytes) -> bytes:
        return hmac.new(self.secret, domain + b"\x00" + message, hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """A ``2.25.<int>`` UID (PS3.5 B.2) for an original UID: 128 bits of the keyed digest."""
        value = int.from_bytes(
            self._digest(b"uid", original.encode("ascii", "replace"))[:16], "big"
        )
        return f"2.25.{value}"

    def token(self, domain: str, original: str, length: int) -> str:
        """An upper-case base32 token of ``length`` characters (5 bits each)."""
        digest = self._digest(b"token:" + domain.encode(), original.encode("utf-8"))
        return base64.b32encode(digest).decode("ascii")[:length]

    def pseudonym(self, domain: str, original: str, template: str) -> str:
        """Format a pseudonym: ``{hash:N}`` in ``template`` becomes an N-character keyed token.

        With the default 12 characters (60 bits) a collision among a million patients has a
        probability below 1e-6.
        """
        return _TEMPLATE_RE.sub(
            lambda m: self.token(domain, original, int(m.group(1) or 12)), template
        )

    def date_offset(self, patient_key: str, max_days: int) -> int:
        """Days to add to every date of one patient: keyed, in ``[-max_days, -1]``.

        Shifting into the past keeps every date plausible; one offset per patient keeps the
        intervals between that patient's studies (PS3.15 E.3.6, Modified Dates option).
        """
        value = int.from_bytes(self._digest(b"date-offset", patient_key.encode("utf-8"))[:8], "big")
        return -(1 + value % max_days)


def load_keyring(key_file: Path | None = None, *, create: bool = True) -> tuple[Keyring, str]:
    """Find the key: ``key_file``, else ``$MEDANON_KEY``, else ``$MEDANON_KEY_FILE``, else the
    default file, created with owner-only permissions when missing.

    Returns the keyring and a short description of where the key came from (no key material).
    """
    if key_file is not None:
        return Keyring(_read_key_file(key_file)), f"key file {key_file}"
    env_value = os.environ.get(ENV_VAR)
    if env_value:
        return Keyring(env_value.strip().encode("utf-8")), f"${ENV_VAR}"
    env_file = os.environ.get(KEY_FILE_ENV_VAR)
    path = Path(env_file) if env_file else default_key_path()
    if not path.exists():
        if not create:
            raise KeyError_(f"no key: {path} does not exist")
        _create_key_file(path)
        print(
            f"medanon: created a new secret key in {path} (keep it to stay consistent)",
            file=sys.stderr,
        )
    return Keyring(_read_key_file(path)), f"key file {path}"


def _read_key_file(path: Path) -> bytes:
    """The key, refused (like ssh refuses a private key) when others may read the file: with
    the key, anyone holding the outputs can test guesses of who the patients are."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes().strip()
    except OSError as exc:
        raise KeyError_(f"cannot read key file {path}: {exc.strerror}") from None
    if os.name == "posix" and mode & 0o077:
        raise KeyError_(
            f"key file {path} is readable by others (mode {mode & 0o777:o}): chmod 600 {path}"
        )
    if len(data) < 16:
        raise KeyError_(f"key file {path} holds fewer than 16 bytes")
    return data


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)  # never replaces a key another process created meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
