"""Apply a compiled :class:`~medanon.dicom.plan.Plan` to a pydicom Dataset, at every depth.

PS3.15 E.1.1: the actions of Table E.1-1 apply wherever an attribute occurs, including inside
sequence items. The engine walks the dataset once; for each element it looks the action up
(compound codes resolved by the attribute's Type in the IOD, :mod:`medanon.dicom.types`), applies
it, and recurses into the sequences that are kept or cleaned. Values kept as they are still pass
through the echo scrub: any identifying value of this patient found in them is removed, whatever
attribute holds it.

Elements that are kept are not decoded unless their raw bytes may hold an identifier: that is what
makes the walk fast on ordinary headers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID_dictionary

from ..keys import Keyring
from ..policy import Policy
from .identifiers import Identifiers, Needles, scrub_text
from .plan import Plan, compile_plan
from .table import Action, Option
from .types import types_for
from .values import (
    ECHO_VRS,
    TEXT_VRS,
    dummy_value,
    empty_value,
    fit_length,
    shift_da,
    shift_dt,
)

if TYPE_CHECKING:
    from ..faces.headscan import HeadSlices

PATIENT_ID = 0x00100020
PATIENT_NAME = 0x00100010
WELL_KNOWN_UID_ROOT = "1.2.840.10008."


_DIGIT_OR_MARK = re.compile(rb"[0-9@]|www|://", re.I)

# One compiled step: (tag, resolved action, VR, kind).
Step = tuple[int, Action, str, int]
_APPLY, _DELETE, _GRAPHICS, _PRIVATE_KEPT = 0, 1, 2, 3


def action_counter(tag: int) -> str:
    """The outcome counter of a removed element."""
    if (tag >> 16) % 2 == 0:
        return "removed"
    return "private_creators_removed" if (tag & 0xFFFF) <= 0xFF else "private_removed"


def _peek_text(ds: Dataset, tag: int) -> str | None:
    """A short text value read without converting the element (so that it is copied as is)."""
    return _text_of(ds.get_item(tag))


def _text_of(element: DataElement | RawDataElement) -> str | None:
    value = element.value
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00") or None
    if value is None:
        return None
    return str(value).strip() or None


@dataclass
class Outcome:
    """What the engine did to one dataset. Counts and attribute keywords only: no values."""

    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict)
    patient_map: dict[str, str] = field(default_factory=dict)
    date_offset_days: int | None = None
    # A keyed token of the patient (issuer + ID, or the study): names the patient's folder in
    # the pseudonymous output layout when the output keeps no Patient ID.
    patient_token: str = ""
    # Geometry of a head CT/MR file, for the series-level face-reconstruction check.
    head_slices: HeadSlices | None = None
    # The pixel stage's picture for --preview: (first frame as shown, filled boxes).
    preview: tuple[Any, tuple[tuple[int, int, int, int], ...]] | None = field(
        default=None, repr=False
    )

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def is_well_known_uid(value: str) -> bool:
    """UIDs defined by the standard or registries (SOP classes, transfer syntaxes, coding
    schemes...) identify nobody and are never remapped."""
    return value.startswith(WELL_KNOWN_UID_ROOT) or value in UID_dictionary


def _vr_of(element: DataElement | RawDataElement, tag: int) -> str:
    """The element's VR; an explicit UN or a missing (implicit) VR becomes the dictionary's, as
    pydicom does when it converts the value (PS3.5 6.2.2)."""
    vr = element.VR
    if vr and vr != "UN":
        return str(vr)
    if (tag >> 16) % 2 == 0:
        try:
            known = str(dictionary_VR(tag))
        except KeyError:
            return "UN"
        if known != "NONE" and (not vr or " or " not in known):
            return known  # an ambiguous "US or SS" stays so: never a text VR, never changed
    return str(vr) if vr else "UN"


class HeaderEngine:
    """De-identifies DICOM datasets in place under one policy and key.

    An engine holds no per-dataset state: one instance serves any number of datasets, in any
    order, with the same results.
    """

    def __init__(self, policy: Policy, keyring: Keyring) -> None:
        self.policy = policy
        self.keyring = keyring
        self.plan: Plan = compile_plan(policy)
        self.retain_uids = Option.RETAIN_UIDS in policy.options
        self.modified_dates = Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in policy.options
        self._shapes: dict[tuple[object, ...], tuple[Step, ...]] = {}

    # -- entry point -----------------------------------------------------------------------
    def apply(
        self, dataset: Dataset, extra_uids: tuple[str, ...] = ()
    ) -> tuple[Outcome, Identifiers]:
        """De-identify ``dataset`` in place. Returns the outcome and the input's identifiers.

        ``extra_uids`` are original instance UIDs held outside the dataset (the file meta's),
        searched for like the dataset's own.
        """
        identifiers = Identifiers.from_dataset(dataset, include_uids=not self.retain_uids)
        if not self.retain_uids and any(extra_uids):
            identifiers = identifiers.with_uids({u for u in extra_uids if len(u) >= 8})
        run = _Run(self, dataset, identifiers)
        run.walk(dataset, depth=0, clean_text=False)
        return run.outcome, identifiers

    def steps_for(self, ds: Dataset, sop_class: str | None) -> tuple[Step, ...]:
        """What to do with each element of ``ds``, compiled once per dataset shape.

        Files of one series share their shape (tags, VRs, private creators, SOP Class), so
        the per-element decisions are made once and replayed: elements that are simply kept
        cost nothing. The result depends only on the shape and the policy.
        """
        elements = list(ds.elements())
        tags = tuple(int(e.tag) for e in elements)
        vrs = tuple(e.VR for e in elements)
        creators = tuple(
            _text_of(e)
            for e in elements
            if (e.tag >> 16) % 2 == 1 and 0x10 <= (e.tag & 0xFFFF) <= 0xFF
        )
        key = (sop_class, tags, vrs, creators)
        steps = self._shapes.get(key)
        if steps is None:
            if len(self._shapes) >= 1024:
                self._shapes.clear()
            steps = self._shapes[key] = self._compile(ds, tags, types_for(sop_class))
        return steps

    def _compile(
        self, ds: Dataset, tags: tuple[int, ...], types: dict[int, str]
    ) -> tuple[Step, ...]:
        plan = self.plan
        steps: list[Step] = []
        creators: dict[int, str | None] = {}
        kept_creators: set[int] = set()
        for tag in map(int, tags):
            group, element = tag >> 16, tag & 0xFFFF
            vr = _vr_of(ds.get_item(tag), tag)
            if group % 2 == 1:  # private (PS3.15 E.3.10)
                if 0x0010 <= element <= 0x00FF:
                    creators[tag] = _peek_text(ds, tag)
                    continue
                creator_tag = (group << 16) | (element >> 8)
                creator = creators.get(creator_tag) if element >= 0x1000 else None
                action = plan.private_action(group, element & 0xFF, creator)
                if action is Action.X:
                    steps.append((tag, action, vr, _DELETE))
                else:
                    kept_creators.add(creator_tag)
                    steps.append((tag, action, vr, _PRIVATE_KEPT))
                continue
            if group in (0x0000, 0x0002, 0x0004):
                steps.append((tag, Action.X, vr, _DELETE))
                continue
            if (0x6000 <= group <= 0x601E or 0x5000 <= group <= 0x501E) and group % 2 == 0:
                # Overlay planes and curves go whole: Clean Graphics (PS3.15 E.3.8) would need
                # the pixel stage to clean them.
                action = plan.overlay_data if group >= 0x6000 else plan.curve
                steps.append((tag, action, vr, _GRAPHICS))
                continue
            action = plan.public_action(tag, vr)
            if action is Action.K and vr == "UI" and tag not in plan.by_tag:
                action = self._unlisted_uid_action(tag)
            if action.is_compound:
                action = action.resolve(types.get(tag))
            if action is Action.X:
                steps.append((tag, action, vr, _DELETE))
            elif action is not Action.K or vr == "SQ" or vr in ECHO_VRS:
                steps.append((tag, action, vr, _APPLY))
        steps.extend((tag, Action.X, "LO", _DELETE) for tag in creators if tag not in kept_creators)
        return tuple(steps)

    def _unlisted_uid_action(self, tag: int) -> Action:
        """UI attributes Table E.1-1 does not list: classes and syntaxes stay, others are
        remapped (instance UIDs of attributes newer than the table: fail closed)."""
        keyword = keyword_for_tag(tag) or ""
        if self.retain_uids or keyword.endswith("ClassUID") or keyword == "TransferSyntaxUID":
            return Action.K
        return Action.U

    def remap_uid(self, original: str, outcome: Outcome) -> str:
        """The new UID for ``original`` (itself with Retain UIDs or for well-known UIDs)."""
        if self.retain_uids or is_well_known_uid(original):
            return original
        new = self.keyring.uid(original)
        outcome.uid_map[original] = new
        return new


class _Run:
    """State of one dataset's walk."""

    def __init__(self, engine: HeaderEngine, dataset: Dataset, identifiers: Identifiers) -> None:
        self.e = engine
        self.plan = engine.plan
        self.keyring = engine.keyring
        self.identifiers = identifiers
        self.needles = Needles(identifiers.raw)
        self.outcome = Outcome()
        self.mutations = 0  # changes made so far: a sequence without any is restored raw
        sop_class = _peek_text(dataset, 0x00080016) if 0x00080016 in dataset else None
        self.sop_class = sop_class
        self.patient_key = _patient_key(dataset)
        self.outcome.patient_token = self.keyring.token("patient-folder", self.patient_key, 16)
        self.date_offset: int | None = None
        if engine.modified_dates:
            self.date_offset = self.keyring.date_offset(
                self.patient_key, engine.policy.max_shift_days
            )
            self.outcome.date_offset_days = self.date_offset

    # -- the walk ------------------------------------------------------------------------
    def walk(self, ds: Dataset, depth: int, clean_text: bool) -> None:
        """Apply the plan to every element of ``ds`` (recursing into kept sequences)."""
        counts = self.outcome.counts
        # Attribute Types (for compound actions) are known at the top level only.
        sop_class = self.sop_class if depth == 0 else None
        for tag, action, vr, kind in self.e.steps_for(ds, sop_class):
            if kind == _DELETE:
                del ds[tag]
                counts[action_counter(tag)] += 1
                self.mutations += 1
                continue
            if kind == _GRAPHICS:
                if action is Action.C:
                    self.outcome.warn(
                        "overlays and curves removed: cleaning graphics needs the pixel stage"
                    )
                del ds[tag]
                counts["graphics_removed"] += 1
                self.mutations += 1
                continue
            if kind == _PRIVATE_KEPT:
                counts["private_kept"] += 1
            self._apply(ds, tag, ds.get_item(tag), action, vr, depth, clean_text)

    # -- actions -------------------------------------------------------------------------
    def _apply(
        self,
        ds: Dataset,
        tag: int,
        raw: DataElement | RawDataElement,
        action: Action,
        vr: str,
        depth: int,
        clean_text: bool,
    ) -> None:
        counts = self.outcome.counts
        if action is Action.X:
            del ds[tag]
            counts["removed"] += 1
            self.mutations += 1
            return
        if vr == "SQ":
            if action is Action.Z:
                ds[tag].value = []
                counts["emptied"] += 1
                self.mutations += 1
                return
            # K, C, D, U on a sequence: keep the items and clean them (PS3.15 Table E.1-1a).
            strict = clean_text or action in (Action.C, Action.D)
            before = self.mutations
            for item in ds[tag].value:
                self.walk(item, depth + 1, strict)
            counts["sequences_cleaned"] += 1
            if self.mutations == before and isinstance(raw, RawDataElement):
                ds[tag] = raw  # nothing changed inside: the encoder copies its bytes
            return
        if action is Action.K:
            self._echo(ds, tag, raw, vr, clean_text)
            return
        if action is Action.Z:
            ds[tag] = DataElement(tag, vr, empty_value(vr))
            counts["emptied"] += 1
            self.mutations += 1
            return
        if action is Action.U:
            if vr == "UI":
                self._remap_uids(ds, tag)
                return
            action = Action.D
        if action is Action.C:
            self._clean(ds, tag, vr)
            return
        self._dummy(ds, tag, vr)

    def _dummy(self, ds: Dataset, tag: int, vr: str) -> None:
        counts = self.outcome.counts
        element = ds[tag]
        original = element.value
        if vr == "UI":
            self._remap_uids(ds, tag)
            return
        if vr in ("DA", "DT") and self.date_offset is not None:
            self._shift(ds, tag, vr)
            return
        if tag == PATIENT_ID:
            new = self.keyring.pseudonym(
                "patient-id", str(original or ""), self.e.policy.patient_id_template
            )
            self.outcome.patient_map[str(original or "")] = new
        elif tag == PATIENT_NAME:
            new = self.keyring.pseudonym(
                "patient-name", self.patient_key, self.e.policy.patient_name_template
            )
        else:
            keyword = keyword_for_tag(tag) or f"{tag:08X}"
            new = dummy_value(vr, original, self.keyring, keyword)
        ds[tag] = DataElement(tag, vr, new)
        counts["dummied"] += 1
        self.mutations += 1

    def _clean(self, ds: Dataset, tag: int, vr: str) -> None:
        """Action C: dates shifted, free text cleaned, anything else replaced by a dummy."""
        if vr in ("DA", "DT"):
            if self.date_offset is not None:
                self._shift(ds, tag, vr)
            else:
                self._dummy(ds, tag, vr)
            return
        if vr == "TM" or vr == "AS":
            # Times survive a whole-day shift; ages are patient characteristics kept by C.
            self.outcome.counts["kept"] += 1
            return
        if vr in TEXT_VRS:
            raw = ds.get_item(tag)
            if isinstance(raw, RawDataElement) and not self._may_need_cleaning(raw.value):
                self.outcome.counts["cleaned"] += 1  # looked at; nothing to remove
                return
            element = ds[tag]
            values = _as_list(element.value)
            cleaned = []
            total = 0
            for value in values:
                text, removed = scrub_text(str(value), self.identifiers, generic=True)
                cleaned.append(fit_length(text, vr) if removed else text)
                total += removed
            if total:
                element.value = cleaned if len(cleaned) > 1 else (cleaned[0] if cleaned else "")
                self.mutations += 1
            self.outcome.counts["cleaned"] += 1
            return
        self._dummy(ds, tag, vr)

    def _may_need_cleaning(self, data: bytes | None) -> bool:
        """Whether raw text might hold an identifier or a generic pattern of Clean Descriptors:
        every generic pattern needs a digit, ``@``, ``www`` or ``://``. A fast, exact pre-check
        (the text itself is scanned when it passes)."""
        if not data:
            return False
        return bool(self.needles.hit(data) or _DIGIT_OR_MARK.search(data))

    def _shift(self, ds: Dataset, tag: int, vr: str) -> None:
        assert self.date_offset is not None
        self.mutations += 1
        element = ds[tag]
        shift = shift_da if vr == "DA" else shift_dt
        try:
            # Every position kept (an empty one too): dates pair with times by position.
            values = [str(v) for v in _as_list(element.value)]
            new = [shift(v, self.date_offset) if v else "" for v in values]
        except (ValueError, OverflowError):  # not a date: nothing to shift, nothing to keep
            ds[tag] = DataElement(tag, vr, empty_value(vr))
            self.outcome.counts["emptied"] += 1
            self.outcome.warn(
                f"unparseable {vr} value emptied in {keyword_for_tag(tag) or 'an attribute'}"
            )
            return
        element.value = new if len(new) > 1 else (new[0] if new else "")
        self.outcome.counts["dates_shifted"] += 1

    def _remap_uids(self, ds: Dataset, tag: int) -> None:
        element = ds[tag]
        new = []
        for value in _as_list(element.value):
            old = str(value).strip().rstrip("\x00")
            if not old or is_well_known_uid(old):
                new.append(old)
                continue
            mapped = self.keyring.uid(old)
            self.outcome.uid_map[old] = mapped
            new.append(mapped)
        if new != [str(v) for v in _as_list(element.value)]:
            element.value = new if len(new) > 1 else (new[0] if new else "")
            self.outcome.counts["uids_remapped"] += 1
            self.mutations += 1

    def _echo(
        self, ds: Dataset, tag: int, raw: DataElement | RawDataElement, vr: str, clean_text: bool
    ) -> None:
        """Echo scrub of a kept value: remove this patient's identifiers from it.

        Inside a cleaned sequence (``clean_text``) free text also loses dates, phone numbers,
        e-mails and URLs, as Clean Descriptors would.
        """
        if vr not in ECHO_VRS:
            return
        if clean_text and vr in TEXT_VRS:
            self._clean(ds, tag, vr)
            return
        private_uid = vr == "UI" and tag_is_private(tag)  # remapped whatever it names
        if not self.identifiers and not private_uid:
            return
        if isinstance(raw, RawDataElement) and not private_uid:
            data = raw.value
            if not data or not self.needles.hit(data):
                return
        if vr == "UN":
            # Undecodable content that may hold an identifier: remove it.
            del ds[tag]
            self.outcome.counts["removed"] += 1
            self.mutations += 1
            return
        element = ds[tag]
        values = _as_list(element.value)
        changed = False
        cleaned = []
        for value in values:
            text = str(value)
            if vr == "UI":
                # The file's own UIDs, and any UID a kept private attribute holds (a private
                # "source series" reference): remapped as the instance it names is in its own
                # file, so the reference still resolves and the original never survives.
                private_ref = tag_is_private(tag) and not is_well_known_uid(text.strip("\x00 "))
                if text in self.identifiers.uids or (private_ref and text.strip("\x00 ")):
                    original = text.strip("\x00 ")
                    text = self.keyring.uid(original)
                    self.outcome.uid_map[original] = text
                    changed = True
                cleaned.append(text)
                continue
            new, removed = scrub_text(text, self.identifiers, generic=False)
            if removed:
                changed = True
                new = fit_length(new, vr) if vr in TEXT_VRS else ""  # AE, UR: nothing partial
            cleaned.append(new)
        if changed:
            element.value = cleaned if len(cleaned) > 1 else (cleaned[0] if cleaned else "")
            self.outcome.counts["text_scrubbed"] += 1
            self.mutations += 1


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, (MultiValue, list, tuple)):
        return list(value)
    return [value]


def _patient_key(dataset: Dataset) -> str:
    """What identifies one patient for the date offset and the name pseudonym: the Patient ID
    (as for the Patient ID pseudonym), or the Study Instance UID when it is empty (then per
    study). Not the issuer: systems fill Issuer of Patient ID unevenly (a PACS CT has it, the
    planning system's RT structure set not), and one study must not get two dates."""
    patient_id = str(dataset.get("PatientID", "") or "").strip()
    if patient_id:
        return f"|{patient_id}"
    return f"study|{dataset.get('StudyInstanceUID', '') or ''}"


def tag_is_private(tag: int) -> bool:
    """Odd group: a private element (PS3.5 7.8)."""
    return bool((tag >> 16) & 1)
