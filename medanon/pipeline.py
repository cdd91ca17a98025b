"""One input in, one de-identified output and one report record out.

Every way of running medanon (the CLI, batch processes, later the watcher and Dask) calls
:func:`scrub_file` or :func:`scrub_dataset`, so every mode behaves the same.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import struct
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from .dicom.engine import HeaderEngine, Outcome
from .dicom.identifiers import Identifiers
from .dicom.markers import add_markers, regenerate_file_meta, transfer_syntax_of
from .dicom.table import CLEAN_PIXEL_DATA_CODE, CLEAN_VISUAL_FEATURES_CODE
from .dicom.verify import verify_output
from .errors import InputError, MedanonError, VerificationError
from .faces.headscan import HeadSlices, assess, head_slices
from .faces.stage import clean_dataset_faces, clean_image_faces, is_photograph
from .io import encode_for_output, parse_dicom, read_back, read_bytes, write_atomic
from .keys import Keyring
from .pixels.codec import icon_and_overlay_pixels
from .pixels.fragments import rebuild_encapsulation
from .pixels.highbits import clear_unused_high_bits, has_unused_high_bits
from .pixels.redact import (
    PixelCleaningError,
    PixelOutcome,
    PixelPolicy,
    clean_dataset_pixels,
    clean_image_pixels,
    ultrasound_areas,
)
from .policy import Policy
from .raster import (
    decode_image,
    detect_format,
    encode_image,
    frame_count,
    jpeg_orientation,
    metadata_left,
    strip_metadata,
    to_displayed,
    to_stored,
    unsupported_format,
)

LAYOUTS = ("mirror", "pseudonymous")
# What pydicom and numpy raise on malformed data (a corrupt VR or length, a value that does not
# convert): such a file fails, the batch goes on.
MALFORMED_DATA_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    EOFError,
    OverflowError,
    struct.error,
)
IMAGE_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Modalities whose pixels often carry burned-in text or show a person.
TEXT_PRONE_MODALITIES = {"US", "SC", "OT", "XC", "ES", "GM", "SM", "DOC", "IVUS", "OP", "ECG"}
PHOTO_MODALITIES = {"XC", "GM", "ES", "OP", "SM"}


@dataclass
class FileResult:
    """One record of the report: paths, status, counts and warnings; never a value of the data."""

    input: str
    output: str | None
    status: str  # "ok", "failed", "dry-run"
    error: str | None = None
    actions: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict, repr=False)
    patient_map: dict[str, str] = field(default_factory=dict, repr=False)
    verdict: dict[str, Any] | None = None
    head_slices: HeadSlices | None = None  # for the series-level check (medanon.faces.headscan)

    def record(self) -> dict[str, Any]:
        """The JSON Lines record (mappings excluded: they are written only with --mapping)."""
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "actions": dict(sorted(self.actions.items())),
            "warnings": self.warnings,
            **({"verdict": self.verdict} if self.verdict is not None else {}),
            **({"head_slices": self.head_slices.as_record()} if self.head_slices else {}),
        }


class Scrubber:
    """De-identify datasets and files under one policy and key.

    >>> from medanon import Scrubber, load_policy, Keyring
    >>> scrubber = Scrubber(load_policy("research"), Keyring(b"0123456789abcdef0123"))
    """

    def __init__(self, policy: Policy, keyring: Keyring) -> None:
        self.policy = policy
        self.keyring = keyring
        self.engine = HeaderEngine(policy, keyring)

    def scrub_dataset(self, dataset: Dataset, *, in_place: bool = False) -> tuple[Dataset, Outcome]:
        """De-identify an in-memory dataset; the input is left untouched unless ``in_place``.

        The result carries regenerated File Meta Information and de-identification markers.
        Pixel Data is not changed.
        """
        target = dataset if in_place else copy.deepcopy(dataset)
        try:
            outcome, _ = self._scrub(target)
        except MALFORMED_DATA_ERRORS as exc:
            raise InputError(f"cannot de-identify this dataset ({type(exc).__name__})") from None
        return target, outcome

    def _scrub(self, dataset: Dataset) -> tuple[Outcome, Identifiers]:
        transfer_syntax = transfer_syntax_of(dataset)
        meta = dataset.file_meta if getattr(dataset, "file_meta", None) is not None else Dataset()
        sop_class = str(
            dataset.get("SOPClassUID", "") or meta.get("MediaStorageSOPClassUID", "") or ""
        )
        if not sop_class:
            raise InputError("no SOP Class UID in the dataset or its file meta")
        meta_instance = str(meta.get("MediaStorageSOPInstanceUID", "") or "")
        if not meta_instance and "SOPInstanceUID" not in dataset:
            raise InputError("no SOP Instance UID in the dataset or its file meta")
        pixel_policy = self.pixel_policy_for(dataset)  # rules match the input's make and size
        head = head_slices(dataset)  # before the engine removes the descriptions it reads
        try:
            outcome, identifiers = self.engine.apply(dataset, extra_uids=(meta_instance,))
        except MedanonError:
            raise
        except Exception as exc:
            raise InputError(f"cannot de-identify this dataset ({type(exc).__name__})") from None
        if "SOPInstanceUID" in dataset:
            sop_instance = str(dataset.SOPInstanceUID)
        else:  # a bare fragment: name it by its file meta's instance UID, remapped
            sop_instance = self.engine.remap_uid(meta_instance, outcome)
        extra_codes: tuple[str, ...] = ()
        if pixel_policy.active or self.policy.faces:  # pixels cleaned: no hidden bits either
            if clear_unused_high_bits(dataset):
                outcome.counts["pixel_high_bits_cleared"] += 1
            _refuse_other_pixels(dataset)
            removed = rebuild_encapsulation(dataset)  # no bytes hidden around the frames
            if removed:
                outcome.counts["pixel_encapsulation_cleaned"] += 1
        elif has_unused_high_bits(dataset):
            outcome.warn("Pixel Data has set bits above High Bit (overlay or text): not cleaned")
        if pixel_policy.active and "PixelData" in dataset:
            pixels = clean_dataset_pixels(dataset, pixel_policy, identifiers)
            _count_pixels(pixels, outcome)
            outcome.preview = (pixels.before, tuple(pixels.redacted))
            if pixels.verified:  # PS3.15 E.3.1: only after OCR found nothing left
                dataset.BurnedInAnnotation = "NO"
                extra_codes = (CLEAN_PIXEL_DATA_CODE,)
            transfer_syntax = transfer_syntax_of(dataset)  # rewritten pixels change it
        if self.policy.faces and "PixelData" in dataset and is_photograph(dataset):
            faces = clean_dataset_faces(dataset, self.policy.face_search)
            outcome.counts["faces_removed"] = faces.faces
            for warning in faces.warnings:
                outcome.warn(warning)
            dataset.RecognizableVisualFeatures = "NO"  # PS3.15 E.3.2, after a clean re-check
            extra_codes = (*extra_codes, CLEAN_VISUAL_FEATURES_CODE)
            transfer_syntax = transfer_syntax_of(dataset)
        if head is not None:  # named by the output's series UID, never the input's
            outcome.head_slices = replace(head, series=str(dataset.get("SeriesInstanceUID", "")))
            for risk in assess([outcome.head_slices]):  # an enhanced CT/MR: the volume alone
                outcome.warn(risk.message())
        add_markers(dataset, self.policy, extra_codes)
        regenerate_file_meta(dataset, transfer_syntax, sop_class, sop_instance)
        _pixel_warnings(
            dataset,
            outcome,
            cleaned=CLEAN_PIXEL_DATA_CODE in extra_codes,
            faces_cleaned=CLEAN_VISUAL_FEATURES_CODE in extra_codes,
        )
        return outcome, identifiers

    def pixel_policy_for(self, dataset: Dataset | None) -> PixelPolicy:
        """The text mode and boxes for one image: the profile's boxes, plus those of every
        region rule matching its Modality, Manufacturer, model and size."""
        boxes = list(self.policy.pixel_boxes)
        areas = ultrasound_areas(dataset) if dataset is not None else ()
        if dataset is not None and self.policy.pixel_rules:
            modality = str(dataset.get("Modality", "") or "")
            manufacturer = str(dataset.get("Manufacturer", "") or "")
            model = str(dataset.get("ManufacturerModelName", "") or "")
            rows, columns = int(dataset.get("Rows", 0) or 0), int(dataset.get("Columns", 0) or 0)
            for rule in self.policy.pixel_rules:
                if rule.matches(modality, manufacturer, model, rows, columns):
                    boxes.extend(rule.boxes)
        return PixelPolicy(self.policy.pixel_text, tuple(boxes), areas)

    def scrub_file(
        self,
        source: Path,
        destination: Path | None,
        *,
        overwrite: bool = False,
        dry_run: bool = False,
        durable: bool = False,
        preview_dir: Path | None = None,
        layout: str = "mirror",
        named_as: Path | None = None,
    ) -> FileResult:
        """Read, de-identify, serialise, verify, then write ``destination`` atomically.

        Never raises for a bad input: the error is in the result, and nothing is written.
        With ``preview_dir``, a PNG per input shows the first frame with the regions the text
        stage filled outlined (it shows the input: for a person to check, kept private).
        With ``layout="pseudonymous"``, ``destination`` is a folder and the output goes below it
        under a name made of the output's own values (:func:`pseudonymous_path`), so no input
        file or folder name (often a patient's name) reaches the output. ``named_as`` is the
        name the output will finally have when ``destination`` is a staging file (the watcher
        writes there first): it is what the identifying-path check reads.
        """
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
        with warnings.catch_warnings():
            # pydicom's warnings quote values (names, UIDs): they must not reach logs.
            warnings.simplefilter("ignore")
            result, preview = self._scrub_file(
                source, destination, layout, overwrite, dry_run, durable, named_as
            )
        if preview_dir is not None and preview is not None:
            named = Path(result.output) if result.output else destination or source
            write_preview(preview_dir, named, *preview)
        return result

    def _scrub_file(
        self,
        source: Path,
        destination: Path | None,
        layout: str,
        overwrite: bool,
        dry_run: bool,
        durable: bool,
        named_as: Path | None = None,
    ) -> tuple[FileResult, Any]:
        given = str(destination) if destination is not None else None  # named also on failure
        try:
            if destination is not None and _same_file(destination, source):
                raise InputError("output would replace the input")
            raw = read_bytes(source)
            image_format = detect_format(raw) if raw[128:132] != b"DICM" else None
            if image_format is None and raw[128:132] != b"DICM":
                _refuse_unsupported(raw)
            if image_format is not None:
                data, outcome = self._scrub_image(raw, image_format)
                name = PurePosixPath("images", self.image_name(raw, image_format))
            else:
                data, outcome, dataset, identifiers = self._scrub_dicom(raw)
                name = pseudonymous_path(dataset, outcome.patient_token)
                if layout == "mirror" and (named_as or destination) is not None:
                    _warn_identifying_path(named_as or destination, identifiers, outcome)
            if layout == "pseudonymous" and destination is not None:
                destination = destination / name
                if _same_file(destination, source):
                    raise InputError("output would replace the input")
            verdict = None
            if not dry_run and destination is not None:
                if not (layout == "pseudonymous" and _same_bytes(destination, data)):
                    write_atomic(destination, data, overwrite=overwrite, durable=durable)
                read_back(destination, data)
                verdict = self._verdict(destination)
        except MedanonError as exc:
            return FileResult(str(source), given, "failed", error=str(exc)), None
        except MALFORMED_DATA_ERRORS as exc:
            # pydicom raises these for malformed data (a corrupt VR, a bad length, a value it
            # cannot convert): the file fails with the kind of error, never its message (which
            # may quote values), and the batch goes on.
            error = (
                f"cannot process this file ({type(exc).__name__}: malformed or unsupported data)"
            )
            return FileResult(str(source), given, "failed", error=error), None
        return FileResult(
            str(source),
            str(destination) if destination is not None else None,
            "dry-run" if dry_run else "ok",
            actions=dict(outcome.counts),
            warnings=list(outcome.warnings),
            uid_map=outcome.uid_map,
            patient_map=outcome.patient_map,
            verdict=verdict,
            head_slices=outcome.head_slices,
        ), outcome.preview

    def _verdict(self, output: Path) -> dict[str, Any] | None:
        """The sharing verdict of a written output, when the policy asks: verdict, status and
        signal ids with their rule, never the text or values that triggered them."""
        if self.policy.verdict_channel is None:
            return None
        from .verdict import LoadError, assess_file

        try:
            _, verdict = assess_file(
                output,
                channel=self.policy.verdict_channel,
                jurisdiction=self.policy.verdict_jurisdiction,
                lang="en",
            )
        except LoadError:
            return {"verdict": "unknown", "status": "not an image", "signals": []}
        except Exception as exc:  # the verdict is advice: it never stops a written output
            return {"verdict": "unknown", "status": f"error ({type(exc).__name__})", "signals": []}
        return {
            "verdict": verdict.verdict,
            "status": verdict.status,
            "channel": verdict.channel,
            "jurisdiction": verdict.jurisdiction,
            "signals": sorted({f"{j.signal.id} {j.severity}: {j.rule}" for j in verdict.signals}),
        }

    def image_name(self, raw: bytes, image_format: str) -> str:
        """An ordinary image's pseudonymous file name: a keyed token of its bytes (the same
        input gets the same name; nothing of the input's name is kept)."""
        token = self.keyring.token("image-file", hashlib.sha256(raw).hexdigest(), 26)
        return f"{token}.{IMAGE_EXTENSIONS.get(image_format, image_format)}"

    def _scrub_dicom(self, raw: bytes) -> tuple[bytes, Outcome, Dataset, Identifiers]:
        """DICOM bytes in, verified de-identified DICOM bytes out (with the output dataset and
        the input's identifiers)."""
        dataset = parse_dicom(raw)
        outcome, identifiers = self._scrub(dataset)
        try:
            data, pixel_span = encode_for_output(dataset, raw)
        except Exception as exc:
            raise InputError(f"cannot encode the output ({type(exc).__name__})") from None
        verify_output(
            data, identifiers, str(dataset.file_meta.MediaStorageSOPInstanceUID), pixel_span
        )
        return data, outcome, dataset, identifiers

    def scrub_image_bytes(self, raw: bytes) -> tuple[bytes, Outcome]:
        """An ordinary image (PNG, JPEG, TIFF, BMP, WebP) without its identifying metadata.

        Raises :class:`InputError` for bytes that are not a supported, decodable image.
        """
        image_format = detect_format(raw)
        if image_format is None:
            _refuse_unsupported(raw)
            raise InputError("not a supported image (PNG, JPEG, TIFF, BMP, WebP)")
        return self._scrub_image(raw, image_format)

    def _scrub_image(self, raw: bytes, image_format: str) -> tuple[bytes, Outcome]:
        stripped = strip_metadata(raw, image_format)
        image = decode_image(stripped.data)
        if image is None:
            raise InputError(f"{image_format.upper()} image cannot be decoded")
        outcome = Outcome()
        outcome.counts["metadata_blocks_removed"] = len(stripped.removed)
        data = stripped.data
        pixel_policy = self.pixel_policy_for(None)
        pages = frame_count(raw, image_format)
        if (pixel_policy.active or self.policy.faces) and pages > 1:
            raise InputError(
                f"{image_format.upper()} with {pages} pages or frames: only the first could be "
                "searched for text and faces; split it into single pictures first"
            )
        # Text and faces are searched as a viewer shows the picture (a portrait phone photo is
        # stored turned); the pixels are written back in stored order, the orientation kept.
        orientation = jpeg_orientation(stripped.data) if image_format == "jpeg" else 1
        image = to_displayed(image, orientation)

        def encode(shown: Any) -> bytes:
            return encode_image(to_stored(shown, orientation), image_format, like=stripped.data)

        if pixel_policy.text == "phi":
            # phi mode tells a patient's name from other words by the header's values; a
            # picture has none, so every text region goes (safe side) and the report says so.
            pixel_policy = replace(pixel_policy, text="all")
            outcome.warn("phi mode needs a DICOM header to recognise names: all text filled")
        if pixel_policy.active or self.policy.faces:
            flat = _flattened(image)
            if flat is not None:  # text or a face may hide in the alpha channel
                image = flat
                data = encode(image)
                outcome.warn("transparency flattened over white before the pixel search")
        if pixel_policy.active:
            pixels = clean_image_pixels(image, pixel_policy, Identifiers())
            _count_pixels(pixels, outcome)
            outcome.preview = (pixels.before, tuple(pixels.redacted))
            if pixels.redacted:
                data = encode(image)
            if not pixels.verified:
                outcome.warn("image pixels were not searched for burned-in text")
        else:
            outcome.warn("image pixels were not searched for burned-in text")
        if self.policy.faces:
            cleaned, faces = clean_image_faces(image, self.policy.face_search)
            outcome.counts["faces_removed"] = faces.faces
            for warning in faces.warnings:
                outcome.warn(warning)
            if faces.faces:
                image = cleaned
                data = encode(image)
        else:
            outcome.warn("image pixels were not searched for faces")
        left = metadata_left(data, image_format)
        if left:
            raise VerificationError(f"metadata left in the output: {', '.join(sorted(set(left)))}")
        return data, outcome


def _flattened(image: Any) -> Any:
    """A BGRA image with any transparency, composited over white (as most viewers show it);
    None for an opaque or alpha-less image. Text drawn only in the alpha channel (black RGB
    everywhere) becomes visible to OCR, and the output no longer depends on the viewer's
    background."""
    if getattr(image, "ndim", 0) != 3 or image.shape[2] != 4:
        return None
    alpha = image[..., 3:4].astype(np.float64)
    top = float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else 1.0
    if (alpha >= top).all():
        return None
    weight = alpha / top
    colour = image[..., :3].astype(np.float64)
    flat = colour * weight + top * (1.0 - weight)
    return np.clip(np.rint(flat), 0, top).astype(image.dtype)


def write_preview(
    folder: Path, name: Path, image: Any, boxes: tuple[tuple[int, int, int, int], ...]
) -> None:
    """A PNG of ``image`` (first frame as shown, before redaction) with filled boxes in red.

    Named after the output file and a digest of its path, so previews of equal names in
    different folders do not collide.
    """
    import hashlib

    import cv2
    import numpy as np

    shown = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    canvas = np.ascontiguousarray(shown[..., ::-1])  # RGB -> BGR for OpenCV
    for x, y, w, h in boxes:
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), (0, 0, 255), 2)
    digest = hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:8]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name.name}-{digest}.png"
    ok, png = cv2.imencode(".png", canvas)
    if ok:
        write_atomic(target, png.tobytes(), overwrite=True, mode=0o600)  # shows the input


def _count_pixels(pixels: PixelOutcome, outcome: Outcome) -> None:
    outcome.counts["pixel_text_regions_found"] = pixels.found
    outcome.counts["pixel_regions_filled"] = len(pixels.redacted)
    outcome.counts["pixel_text_regions_kept"] = pixels.kept
    outcome.counts["ocr_passes"] = pixels.ocr_passes


def _pixel_warnings(
    dataset: Dataset, outcome: Outcome, *, cleaned: bool = False, faces_cleaned: bool = False
) -> None:
    """Flag what the header stage cannot clean: pixels may show text or a person (PS3.15 E.3.1,
    E.3.2). BurnedInAnnotation and RecognizableVisualFeatures are set to NO only by the pixel
    stages, after they really cleaned the pixels."""
    if "PixelData" not in dataset and "FloatPixelData" not in dataset:
        return
    modality = str(dataset.get("Modality", "") or "").upper()
    burned = str(dataset.get("BurnedInAnnotation", "") or "").upper()
    if not cleaned and (burned == "YES" or (burned != "NO" and modality in TEXT_PRONE_MODALITIES)):
        outcome.warn("pixels may contain burned-in text: pixel cleaning was not run")
    visual = str(dataset.get("RecognizableVisualFeatures", "") or "").upper()
    if not faces_cleaned and (visual == "YES" or (visual != "NO" and modality in PHOTO_MODALITIES)):
        outcome.warn("pixels may show recognisable features: face cleaning was not run")


def summarise(results: list[FileResult]) -> dict[str, Any]:
    """Totals over a run, for ``--json`` and the end-of-run line."""
    statuses = Counter(r.status for r in results)
    actions: Counter[str] = Counter()
    for result in results:
        actions.update(result.actions)
    return {
        "files": len(results),
        "ok": statuses.get("ok", 0) + statuses.get("dry-run", 0),
        "failed": statuses.get("failed", 0),
        "warnings": sum(1 for r in results if r.warnings),
        "actions": dict(sorted(actions.items())),
    }


def pseudonymous_path(dataset: Dataset, patient_token: str = "") -> PurePosixPath:
    """``PatientID/StudyInstanceUID/SeriesInstanceUID/SOPInstanceUID.dcm`` of a de-identified
    dataset: its own pseudonym and remapped UIDs, so the path says no more than the header.
    When the output has no Patient ID (the basic profile empties it), ``patient_token`` (keyed,
    :attr:`Outcome.patient_token`) keeps one patient's studies together."""
    meta = getattr(dataset, "file_meta", None) or Dataset()
    instance = dataset.get("SOPInstanceUID", "") or meta.get("MediaStorageSOPInstanceUID", "")
    return PurePosixPath(
        _name_part(dataset.get("PatientID", "") or patient_token, "no-patient-id"),
        _name_part(dataset.get("StudyInstanceUID", ""), "no-study"),
        _name_part(dataset.get("SeriesInstanceUID", ""), "no-series"),
        _name_part(instance, "no-instance") + ".dcm",
    )


def _name_part(value: Any, fallback: str) -> str:
    """A value made safe as one path component (no separators, no leading dot)."""
    text = _UNSAFE_IN_NAME.sub("_", str(value or "").strip()).strip("._")[:64]
    return text or fallback


def _warn_identifying_path(destination: Path, identifiers: Identifiers, outcome: Outcome) -> None:
    """Mirrored outputs keep the input's file and folder names: say so when they hold the
    patient's name, ID or an original UID (kinds only, never the values)."""
    kinds = identifiers.find_patient(str(destination))
    if kinds:
        outcome.warn(
            f"output path holds the patient's {'/'.join(kinds)} (input file or folder names); "
            "use --layout pseudonymous"
        )


def _refuse_other_pixels(dataset: Dataset) -> None:
    """Pixels the profile kept elsewhere than the main Pixel Data (an icon, an overlay plane,
    Pixel Data inside a sequence item) are not searched by the text or face stages: a file that
    still has them cannot be called clean, so it fails (fail closed)."""
    for site in icon_and_overlay_pixels(dataset):
        if site.kind != "unused-high-bits":  # cleared just before
            raise PixelCleaningError(
                f"pixels in {site.kind} {site.path} are not cleaned by the pixel stages; "
                "remove them (Clean Graphics, or the profile's actions) or clean them elsewhere"
            )


def _refuse_unsupported(raw: bytes) -> None:
    """Name a known format medanon does not handle (a phone's HEIC photo, a GIF), instead of
    reporting it as a damaged DICOM file."""
    other = unsupported_format(raw)
    if other is not None:
        raise InputError(
            f"{other} files are not supported (DICOM, PNG, JPEG, TIFF, BMP and WebP are);"
            " convert it to one of those"
        )


def _same_file(a: Path, b: Path) -> bool:
    """The same file, by path or by inode (a hard link or another mount of it)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _same_bytes(path: Path, data: bytes) -> bool:
    """Whether ``path`` already holds exactly ``data`` (a pseudonymous output written by an
    earlier, interrupted run: outputs are deterministic, so it need not be written again)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False
