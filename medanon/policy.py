"""Profiles (TOML files) and the :class:`Policy` they build.

A profile names the PS3.15 options it applies, and may extend another profile and override the
action of single attributes (by keyword or tag) and of private attributes (by private creator).
Profiles shipped with medanon live in ``medanon/profiles/``; a user profile is any TOML file of
the same form. A :class:`Policy` is validated when built: it is never half-valid.

Example user profile::

    extends = "research"
    description = "Our lab: research profile, keep Siemens CSA headers"
    options = ["retain_device_identity"]

    [actions]
    StudyDescription = "K"
    "(0018,1030)" = "C"

    [private."SIEMENS CSA HEADER"]
    "(0029,xx10)" = "K"
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydicom.datadict import tag_for_keyword

from .dicom.table import Action, Option
from .errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FACE_SEARCHES = ("thorough", "fast")  # medanon.faces.detect.default_detector(search)
_TAG_RE = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")
_PRIVATE_TAG_RE = re.compile(r"^\(?([0-9A-Fa-f]{4}),?[xX]{2}([0-9A-Fa-f]{2})\)?$")
_KNOWN_KEYS = {
    "name",
    "extends",
    "description",
    "options",
    "without_options",
    "actions",
    "private",
    "pseudonyms",
    "dates",
    "pixels",
    "verdict",
}
_TEMPLATE_RE = re.compile(r"\{hash(?::(\d+))?\}")

DEFAULT_PATIENT_ID_TEMPLATE = "{hash:12}"
DEFAULT_PATIENT_NAME_TEMPLATE = "ANON^{hash:12}"
DEFAULT_MAX_SHIFT_DAYS = 3650


def parse_tag(text: str) -> int:
    """``"(0010,0010)"``, ``"0010,0010"``, ``"00100010"`` or a keyword such as ``PatientName``."""
    match = _TAG_RE.match(text.strip())
    if match:
        return int(match.group(1) + match.group(2), 16)
    tag = tag_for_keyword(text.strip())
    if tag is None:
        raise ProfileError(f"unknown attribute keyword or tag: {text!r}")
    return int(tag)


def parse_option(text: str) -> Option:
    try:
        return Option(text.strip().lower().replace("-", "_"))
    except ValueError:
        names = ", ".join(o.cli_name for o in Option)
        raise ProfileError(f"unknown option {text!r}; options are: {names}") from None


def parse_action(text: str) -> Action:
    try:
        return Action(str(text).strip().upper())
    except ValueError:
        codes = ", ".join(a.value for a in Action)
        raise ProfileError(f"unknown action {text!r}; actions are: {codes}") from None


@dataclass(frozen=True)
class PrivateKey:
    """A private attribute named by its creator: group, low byte of the element, creator."""

    group: int
    element_low: int
    creator: str

    @classmethod
    def parse(cls, creator: str, tag_text: str) -> PrivateKey:
        match = _PRIVATE_TAG_RE.match(tag_text.strip())
        if not match:
            raise ProfileError(f"private tag must look like (gggg,xxee): {tag_text!r}")
        group = int(match.group(1), 16)
        if group % 2 == 0:
            raise ProfileError(f"private tags have an odd group: {tag_text!r}")
        return cls(group, int(match.group(2), 16), creator.strip())


@dataclass(frozen=True, eq=False)  # identity equality: a policy is built once per run
class Policy:
    """What to do with a DICOM header: options, per-attribute overrides, pseudonym formats.

    Build one with :func:`load_policy` (from a profile name or TOML file), or directly.
    """

    name: str = "basic"
    description: str = ""
    options: frozenset[Option] = frozenset()
    overrides: Mapping[int, Action] = field(default_factory=dict)
    private_overrides: Mapping[PrivateKey, Action] = field(default_factory=dict)
    patient_id_template: str = DEFAULT_PATIENT_ID_TEMPLATE
    patient_name_template: str = DEFAULT_PATIENT_NAME_TEMPLATE
    max_shift_days: int = DEFAULT_MAX_SHIFT_DAYS
    pixel_text: str = "none"  # burned-in text: "none", "phi" or "all" (medanon.pixels.redact)
    pixel_boxes: tuple[Box, ...] = ()  # filled in every image whatever OCR finds
    pixel_rules: tuple[RegionRule, ...] = ()  # boxes for images of a given make and size
    faces: bool = False  # remove faces from photographs (medanon.faces)
    # "thorough" (the default detector) or "fast" (a coarser pyramid: meets the targets
    # at ~20% less time, one partial face fewer on the benchmark; docs/faces.md)
    face_search: str = "thorough"
    verdict_channel: str | None = None  # judge each output for sharing (medanon.verdict)
    verdict_jurisdiction: str = "fr"
    source: str = "builtin"

    def __post_init__(self) -> None:
        dates = {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}
        if dates <= self.options:
            raise ProfileError(
                "retain-longitudinal-full-dates and retain-longitudinal-modified-dates "
                "exclude each other (PS3.15 E.3.6)"
            )
        for tag in self.overrides:
            group = tag >> 16
            if group % 2 == 1:
                raise ProfileError("private attributes are overridden by creator, under [private]")
            if group in (0x0000, 0x0002, 0x0004) or (tag & 0xFFFF) == 0:
                raise ProfileError(
                    "file meta (0002), directory (0004) and group length attributes cannot be "
                    "overridden: medanon regenerates or removes them"
                )
            if 0x5000 <= group <= 0x501E or 0x6000 <= group <= 0x601E:
                raise ProfileError(
                    "curves (50xx) and overlays (60xx) follow the Clean Graphics option, "
                    "not per-tag overrides"
                )
        for template in (self.patient_id_template, self.patient_name_template):
            _check_template(template)
        if not 1 <= self.max_shift_days <= 36500:
            raise ProfileError("dates.max_shift_days must be between 1 and 36500")
        if self.verdict_channel not in (None, "social", "publication", "teaching"):
            raise ProfileError("verdict.channel must be social, publication or teaching")
        if self.verdict_jurisdiction not in ("fr", "uk", "us"):
            raise ProfileError("verdict.jurisdiction must be fr, uk or us")
        if self.pixel_text not in PIXEL_TEXT_MODES:
            raise ProfileError(f"pixels.text must be one of {', '.join(PIXEL_TEXT_MODES)}")
        for box in self.pixel_boxes:
            _check_box(box)

    def with_options(self, enable: Iterable[Option] = (), disable: Iterable[Option] = ()) -> Policy:
        """A copy with options switched on or off (as ``--with``/``--without`` do)."""
        options = (self.options | frozenset(enable)) - frozenset(disable)
        return _replace(self, options=options)


Box = tuple[int, int, int, int]
PIXEL_TEXT_MODES = ("none", "phi", "all")


@dataclass(frozen=True)
class RegionRule:
    """Boxes known to hold text on images of one kind (like CTP's pixel anonymizer): matched
    on Modality, Manufacturer and model (case-insensitive substrings) and image size."""

    boxes: tuple[Box, ...]
    modality: str = ""
    manufacturer: str = ""
    model: str = ""
    rows: int = 0
    columns: int = 0

    def matches(
        self, modality: str, manufacturer: str, model: str, rows: int, columns: int
    ) -> bool:
        return (
            (not self.modality or self.modality.upper() == modality.upper())
            and (not self.manufacturer or self.manufacturer.upper() in manufacturer.upper())
            and (not self.model or self.model.upper() in model.upper())
            and (not self.rows or self.rows == rows)
            and (not self.columns or self.columns == columns)
        )


def _check_box(box: object) -> Box:
    if (
        not isinstance(box, (list, tuple))
        or len(box) != 4
        or not all(isinstance(v, int) and v >= 0 for v in box)
        or box[2] == 0
        or box[3] == 0
    ):
        raise ProfileError(f"a box is [x, y, width, height] in pixels, got {box!r}")
    return (box[0], box[1], box[2], box[3])


def _parse_pixels(data: dict[str, Any], base: Policy) -> dict[str, Any]:
    pixels = data.get("pixels", {})
    unknown = set(pixels) - {"text", "boxes", "rules", "faces", "face_search"}
    if unknown:
        raise ProfileError(f"[pixels]: unknown keys {sorted(unknown)}")
    rules = list(base.pixel_rules)
    for raw in pixels.get("rules", []):
        extra = set(raw) - {"boxes", "modality", "manufacturer", "model", "rows", "columns"}
        if extra or not raw.get("boxes"):
            raise ProfileError(
                "[[pixels.rules]] needs boxes and only modality, manufacturer, model, rows, columns"
            )
        rules.append(
            RegionRule(
                boxes=tuple(_check_box(b) for b in raw["boxes"]),
                modality=str(raw.get("modality", "")),
                manufacturer=str(raw.get("manufacturer", "")),
                model=str(raw.get("model", "")),
                rows=int(raw.get("rows", 0)),
                columns=int(raw.get("columns", 0)),
            )
        )
    return {
        "pixel_text": str(pixels.get("text", base.pixel_text)),
        "pixel_boxes": base.pixel_boxes + tuple(_check_box(b) for b in pixels.get("boxes", [])),
        "pixel_rules": tuple(rules),
        "faces": bool(pixels.get("faces", base.faces)),
        "face_search": _face_search(pixels.get("face_search", base.face_search)),
    }


def _face_search(value: Any) -> str:
    if value not in FACE_SEARCHES:
        raise ProfileError(
            f"[pixels] face_search must be one of {list(FACE_SEARCHES)}, not {value!r}"
        )
    return str(value)


def _check_template(template: str) -> None:
    """A pseudonym template: text with ``{hash}`` or ``{hash:N}`` (N from 4 to 52), at most 64
    characters once filled, and no other braces."""
    lengths = [int(n or 12) for n in _TEMPLATE_RE.findall(template)]
    rest = _TEMPLATE_RE.sub("", template)
    if not lengths or "{" in rest or "}" in rest:
        raise ProfileError(f"pseudonym template {template!r}: use {{hash}} or {{hash:N}}")
    if any(not 4 <= n <= 52 for n in lengths):
        raise ProfileError(f"pseudonym template {template!r}: N must be between 4 and 52")
    if len(rest) + sum(lengths) > 64:
        raise ProfileError(f"pseudonym template {template!r} gives more than 64 characters")
    if not template.isascii():  # any file's character set encodes ASCII; others may not
        raise ProfileError(f"pseudonym template {template!r}: use ASCII characters only")


def _replace(policy: Policy, **changes: Any) -> Policy:
    from dataclasses import replace

    return replace(policy, **changes)


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with medanon."""
    folder = resources.files("medanon.profiles")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_profile(name_or_path: str) -> tuple[dict[str, Any], str]:
    """A built-in profile by name, or a file when the text ends in ``.toml`` or names a path
    (so that a folder called ``basic`` in the working directory never hides a profile)."""
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
        source = str(path)
    else:
        resource = resources.files("medanon.profiles").joinpath(f"{name_or_path}.toml")
        if not resource.is_file():
            known = ", ".join(builtin_profiles())
            raise ProfileError(f"no profile named {name_or_path!r}; built-in profiles: {known}")
        text = resource.read_text(encoding="utf-8")
        source = f"builtin:{name_or_path}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {source}: {exc}") from None
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ProfileError(f"profile {source}: unknown keys {sorted(unknown)}")
    return data, source


def load_policy(name_or_path: str = "basic", _seen: tuple[str, ...] = ()) -> Policy:
    """Build the :class:`Policy` of a built-in profile name or a TOML file path.

    Any malformed value (a string where a list or table is due, a number that is not one)
    is a :class:`ProfileError` naming the profile (exit status 2), never a traceback."""
    try:
        return _load_policy(name_or_path, _seen)
    except ProfileError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ProfileError(
            f"profile {name_or_path}: a value has the wrong type or form ({type(exc).__name__})"
        ) from None


_SECTION_KEYS = {
    "pseudonyms": {"patient_id", "patient_name"},
    "dates": {"max_shift_days"},
    "verdict": {"channel", "jurisdiction"},
}


def _check_shapes(data: dict[str, object], source: str) -> None:
    """Lists are lists, tables are tables, and sections hold only the keys they know: a typo
    must not silently drop a rule."""
    for key in ("options", "without_options"):
        if key in data and not isinstance(data[key], list):
            raise ProfileError(f"profile {source}: {key} must be a list")
    for key in ("actions", "private", "pseudonyms", "dates", "verdict", "pixels"):
        if key in data and not isinstance(data[key], dict):
            raise ProfileError(f"profile {source}: [{key}] must be a table")
    for section, known in _SECTION_KEYS.items():
        unknown = set(data.get(section, {})) - known  # type: ignore[arg-type]
        if unknown:
            raise ProfileError(f"profile {source}: unknown keys in [{section}]: {sorted(unknown)}")


def _load_policy(name_or_path: str, _seen: tuple[str, ...]) -> Policy:
    key = str(Path(name_or_path).resolve()) if name_or_path.endswith(".toml") else name_or_path
    if key in _seen:
        raise ProfileError(f"profile {name_or_path!r} extends itself")
    _seen = (*_seen, key)
    data, source = _read_profile(name_or_path)
    _check_shapes(data, source)
    base = Policy()
    if "extends" in data:
        parent = str(data["extends"])
        if not source.startswith("builtin:") and (parent.endswith(".toml") or "/" in parent):
            parent = str(Path(source).parent / parent)
        base = load_policy(parent, _seen)

    options = set(base.options) | {parse_option(o) for o in data.get("options", [])}
    options -= {parse_option(o) for o in data.get("without_options", [])}
    overrides = dict(base.overrides)
    own: dict[int, str] = {}
    for text, action in data.get("actions", {}).items():
        tag = parse_tag(text)
        if tag in own:  # keyword and tag, or two spellings: which one wins is not obvious
            raise ProfileError(f"profile {source}: two rules for {own[tag]} and {text}")
        own[tag] = text
        overrides[tag] = parse_action(action)
    private = dict(base.private_overrides)
    own_private: set[tuple[int, int, str]] = set()  # creators compare case-insensitively
    for creator, entries in data.get("private", {}).items():
        if not isinstance(entries, dict):
            raise ProfileError(f"profile {source}: [private.{creator!r}] must be a table")
        for tag_text, action in entries.items():
            private_key = PrivateKey.parse(creator, tag_text)
            same = (private_key.group, private_key.element_low, private_key.creator.upper())
            if same in own_private:
                raise ProfileError(f"profile {source}: two rules for {creator} {tag_text}")
            own_private.add(same)
            private[private_key] = parse_action(action)
    pseudonyms = data.get("pseudonyms", {})
    dates = data.get("dates", {})
    name = data.get("name") or (
        Path(name_or_path).stem if source != f"builtin:{name_or_path}" else name_or_path
    )
    return Policy(
        name=str(name),
        description=str(data.get("description", base.description)),
        options=frozenset(options),
        overrides=overrides,
        private_overrides=private,
        patient_id_template=str(pseudonyms.get("patient_id", base.patient_id_template)),
        patient_name_template=str(pseudonyms.get("patient_name", base.patient_name_template)),
        max_shift_days=int(dates.get("max_shift_days", base.max_shift_days)),
        **_parse_pixels(data, base),
        verdict_channel=data.get("verdict", {}).get("channel", base.verdict_channel),
        verdict_jurisdiction=str(
            data.get("verdict", {}).get("jurisdiction", base.verdict_jurisdiction)
        ),
        source=source,
    )


def describe_override(tag: int) -> str:
    """``(0010,0010) PatientName`` for messages and conformance statements."""
    from pydicom.datadict import keyword_for_tag

    keyword = keyword_for_tag(tag) or "unknown"
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}"
