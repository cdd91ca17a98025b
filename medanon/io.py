"""Reading inputs and writing outputs: the only module that touches files.

Reading turns every way a file can be unreadable into an :class:`InputError` with a short,
PHI-free reason. Writing is atomic: bytes go to a temporary name in the destination folder, then
take the final name, so a reader never sees a partial output (flushed to disk first when
``durable``). An existing file is never replaced unless ``overwrite`` is asked for.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import get_expected_length

from .dicom.encode import encode_part10, encode_with_pixel_span
from .errors import InputError, OutputError

MEDIA_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"
TMP_MARK = ".medanon-tmp-"
UNDEFINED_LENGTH = 0xFFFFFFFF


def read_back(path: Path, expected: bytes) -> None:
    """Read a written output back from disk and compare it with the verified bytes."""
    try:
        same = path.read_bytes() == expected
    except OSError as exc:
        raise OutputError(f"cannot read back {path}: {exc.strerror}") from None
    if not same:
        with contextlib.suppress(OSError):
            path.unlink()
        raise OutputError(f"{path} read back differs from what was written; removed")


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file, or :class:`InputError` (missing, unreadable, empty)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}") from None
    if size == 0:
        raise InputError("empty file (0 bytes)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}") from None


def read_dicom(path: Path) -> Dataset:
    """Read and parse a DICOM file, or raise :class:`InputError`."""
    return parse_dicom(read_bytes(path))


def parse_dicom(data: bytes) -> Dataset:
    """Parse DICOM bytes: a Part 10 file, or a bare dataset without preamble and File Meta."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dataset = dcmread(BytesIO(data))
        except InvalidDicomError:
            dataset = _read_bare_dataset(data)
        except Exception as exc:
            raise InputError(f"cannot be parsed as DICOM ({type(exc).__name__})") from None
    # pydicom warns (and drops what follows) when a file ends inside an item or a sequence.
    if any("end of file" in str(w.message).lower() for w in caught):
        raise InputError("truncated file: it ends inside a sequence or encapsulated pixel data")
    if not any((int(tag) >> 16) > 0x0002 for tag in dataset.keys()):
        raise InputError("no data elements after the file meta (truncated or empty dataset)")
    media_class = (
        str(dataset.file_meta.get("MediaStorageSOPClassUID", "")) if dataset.file_meta else ""
    )
    if media_class == MEDIA_DIRECTORY_STORAGE or "DirectoryRecordSequence" in dataset:
        raise InputError(
            "DICOMDIR media directory: not de-identified; build a new one from the outputs"
        )
    _check_complete(dataset, len(data))
    return dataset


def _read_bare_dataset(data: bytes) -> Dataset:
    """A dataset without preamble and File Meta (allowed by PS3.10 only off media)."""
    try:
        dataset = dcmread(BytesIO(data), force=True)
    except Exception as exc:
        raise InputError(f"not a DICOM file ({type(exc).__name__})") from None
    if not _looks_like_dataset(dataset):
        raise InputError("not a DICOM file (no DICM prefix and no recognisable dataset)")
    return dataset


def _looks_like_dataset(dataset: Dataset) -> bool:
    """A forced read of arbitrary bytes yields junk elements: accept only a dataset with known,
    ascending standard tags and a SOP Class UID."""
    tags = list(dataset.keys())
    return bool(tags) and "SOPClassUID" in dataset and tags[0] < 0x00090000 and tags == sorted(tags)


def _check_complete(dataset: Dataset, size: int) -> None:
    """pydicom reads a truncated file without complaint; find the truncation here.

    A value shorter than its declared length, a last element that ends before the file does
    (the cut fell inside the next element's header), or native Pixel Data shorter than the
    image needs (PS3.5 8.1.1, as pydicom computes it) means the file was cut.
    """
    last_end = None
    for tag in dataset.keys():
        raw = dataset.get_item(tag)
        if not isinstance(raw, RawDataElement) or raw.value_tell is None:
            last_end = None
            continue
        if raw.length == UNDEFINED_LENGTH:
            last_end = None
            continue
        if raw.value is not None and len(raw.value) < raw.length:
            # Named by keyword when the dictionary knows the tag, else by offset: the "tag" of a
            # junk element is made of data bytes (a name's letters read as numbers).
            where = keyword_for_tag(tag) or f"at byte {raw.value_tell}"
            raise InputError(f"truncated file: element {where} is cut")
        last_end = raw.value_tell + raw.length
    if last_end is not None and 0 < size - last_end < 8:
        raise InputError("truncated file: it ends inside an element header")
    pixel = dataset.get_item(0x7FE00010)
    if pixel is None or pixel.value is None:
        return
    raw_value = pixel.value
    if isinstance(raw_value, bytes) and raw_value[:4] != b"\xfe\xff\x00\xe0":
        try:
            expected = int(get_expected_length(dataset, unit="bytes"))
        except Exception:
            return  # no usable geometry: the pixel stage will judge
        if len(raw_value) < expected:
            raise InputError("truncated file: Pixel Data is shorter than its image needs")


def write_atomic(
    path: Path, data: bytes, *, overwrite: bool = False, durable: bool = False, mode: int = 0o644
) -> None:
    """Write ``data`` to ``path`` atomically; refuse to replace a file unless ``overwrite``.

    With ``durable`` the bytes are also flushed to disk before the rename, so that a crash
    cannot leave an empty or partial file under the final name (slower). Any OS error becomes
    an :class:`OutputError` naming the path.
    """
    try:
        _write_atomic(path, data, overwrite, durable, mode)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None


def _write_atomic(path: Path, data: bytes, overwrite: bool, durable: bool, mode: int) -> None:
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails, atomically, if the name is taken
            except FileExistsError:
                raise OutputError(f"output exists, not overwritten: {path}") from None
            except OSError:  # file systems without hard links (some SMB shares)
                if path.exists():
                    raise OutputError(f"output exists, not overwritten: {path}") from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def encode_dataset(dataset: Dataset, source: bytes | None = None) -> bytes:
    """Serialise as a DICOM Part 10 file (preamble, DICM, File Meta, dataset); unchanged
    elements are copied from ``source``, the bytes the dataset was read from."""
    return encode_part10(dataset, source)


def encode_for_output(
    dataset: Dataset, source: bytes | None = None
) -> tuple[bytes, tuple[int, int] | None]:
    """:func:`encode_dataset`, with the byte span of the top-level Pixel Data element."""
    return encode_with_pixel_span(dataset, source)
