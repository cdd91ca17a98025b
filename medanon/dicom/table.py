"""The PS3.15 tables as typed, read-only data.

The package carries its own copies of PS3.15 Table E.1-1 (Application Level Confidentiality
Profile Attributes), Table E.3.10-1 (Safe Private Attributes) and PS3.16 CID 7050
(De-identification Method codes), edition 2026d, © NEMA; see ``tables/README.md``. This module
only parses them: what to do with a row is decided in :mod:`medanon.dicom.plan`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

EDITION = "2026d"
ACKNOWLEDGEMENT = "DICOM PS3.15 2026d, © NEMA"


class Action(enum.Enum):
    """Action codes of PS3.15 Table E.1-1a."""

    D = "D"  # replace with a non-zero length dummy value consistent with the VR
    Z = "Z"  # replace with a zero length value (or a dummy)
    X = "X"  # remove (sequences with all their items)
    K = "K"  # keep (non-sequences unchanged, sequences cleaned)
    C = "C"  # clean: replace with values of similar meaning known not to identify
    U = "U"  # replace with a UID consistent within the set of instances
    Z_D = "Z/D"  # Z unless D is required by the IOD (Type 2 versus Type 1)
    X_Z = "X/Z"  # X unless Z is required (Type 3 versus Type 2)
    X_D = "X/D"  # X unless D is required (Type 3 versus Type 1)
    X_Z_D = "X/Z/D"  # X unless Z or D is required (Type 3, 2, 1)
    X_Z_U = "X/Z/U*"  # X unless Z or U of contained UIDs is required (Type 3, 2, 1 sequences)

    @property
    def is_compound(self) -> bool:
        return "/" in self.value

    def resolve(self, attribute_type: str | None) -> Action:
        """Resolve a compound code for an attribute of Type ``1``, ``2`` or ``3`` (PS3.5 7.4).

        ``None`` means the Type is not known for this object: the most conservative choice is
        taken, the one valid for every Type that still removes the identifying value (a Type 1
        attribute is never left empty, and a dummy or new UID never identifies).
        """
        if not self.is_compound:
            return self
        choices = [Action(code.rstrip("*")) for code in self.value.split("/")]
        preferred = {"3": (Action.X, Action.Z), "2": (Action.Z,)}.get(attribute_type or "", ())
        for action in preferred:
            if action in choices:
                return action
        return choices[-1]


class Option(enum.Enum):
    """The ten option columns of Table E.1-1 (PS3.15 E.3), valued by their CID 7050 code."""

    RETAIN_SAFE_PRIVATE = "retain_safe_private"
    RETAIN_UIDS = "retain_uids"
    RETAIN_DEVICE_IDENTITY = "retain_device_identity"
    RETAIN_INSTITUTION_IDENTITY = "retain_institution_identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain_patient_characteristics"
    RETAIN_LONGITUDINAL_FULL_DATES = "retain_longitudinal_full_dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain_longitudinal_modified_dates"
    CLEAN_DESCRIPTORS = "clean_descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean_structured_content"
    CLEAN_GRAPHICS = "clean_graphics"

    @property
    def cli_name(self) -> str:
        return self.value.replace("_", "-")

    @property
    def is_retain(self) -> bool:
        return self.value.startswith("retain_")

    @property
    def code_value(self) -> str:
        """CID 7050 code of this option (PS3.16)."""
        return _OPTION_CODES[self]


_OPTION_CODES = {
    Option.RETAIN_SAFE_PRIVATE: "113111",
    Option.RETAIN_UIDS: "113110",
    Option.RETAIN_DEVICE_IDENTITY: "113109",
    Option.RETAIN_INSTITUTION_IDENTITY: "113112",
    Option.RETAIN_PATIENT_CHARACTERISTICS: "113108",
    Option.RETAIN_LONGITUDINAL_FULL_DATES: "113106",
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: "113107",
    Option.CLEAN_DESCRIPTORS: "113105",
    Option.CLEAN_STRUCTURED_CONTENT: "113104",
    Option.CLEAN_GRAPHICS: "113103",
}
BASIC_PROFILE_CODE = "113100"
CLEAN_PIXEL_DATA_CODE = "113101"
CLEAN_VISUAL_FEATURES_CODE = "113102"


@dataclass(frozen=True)
class Row:
    """One row of Table E.1-1.

    ``tag`` is the table's tag text: ``(gggg,eeee)`` for one attribute, ``(50xx,xxxx)`` and
    ``(60xx,eeee)`` for repeating groups, and a sentence for private attributes.
    """

    name: str
    tag: str
    retired: bool
    in_standard_iod: bool
    basic: Action
    options: dict[Option, Action] = field(default_factory=dict)

    @property
    def exact_tag(self) -> int | None:
        """The tag as an int, or None for a pattern row."""
        text = self.tag.strip("()").replace(",", "")
        try:
            return int(text, 16) if len(text) == 8 else None
        except ValueError:
            return None


@dataclass(frozen=True)
class SafePrivate:
    """One row of Table E.3.10-1: a private attribute known not to identify."""

    group: int
    element_low: int  # the ``ee`` of ``(gggg,xxee)``
    creator: str
    vr: str
    meaning: str


@dataclass(frozen=True)
class Code:
    """A coded concept of CID 7050."""

    value: str
    scheme: str
    meaning: str


def _load(name: str) -> dict[str, Any]:
    text = resources.files("medanon.dicom.tables").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def confidentiality_rows() -> tuple[Row, ...]:
    """All 657 rows of PS3.15 Table E.1-1 (2026d)."""
    return tuple(
        Row(
            name=raw["name"],
            tag=raw["tag"],
            retired=raw["retired"],
            in_standard_iod=raw["in_standard_iod"],
            basic=Action(raw["basic_profile"]),
            options={Option(k): Action(v) for k, v in raw["options"].items()},
        )
        for raw in _load("e1_1.json")["rows"]
    )


@cache
def safe_private_rows() -> tuple[SafePrivate, ...]:
    """All rows of PS3.15 Table E.3.10-1 (2026d)."""
    rows = []
    for raw in _load("e3_10_1.json")["rows"]:
        group, element = raw["tag"].strip("()").split(",")
        rows.append(
            SafePrivate(
                group=int(group, 16),
                element_low=int(element[-2:], 16),
                creator=raw["private_creator"].strip(),
                vr=raw["vr"],
                meaning=raw["meaning"],
            )
        )
    return tuple(rows)


@cache
def cid_7050() -> dict[str, Code]:
    """CID 7050 codes by code value."""
    return {
        raw["code_value"]: Code(raw["code_value"], raw["scheme_designator"], raw["code_meaning"])
        for raw in _load("cid_7050.json")["rows"]
    }


@cache
def action_definitions() -> dict[Action, str]:
    """Definitions of the action codes, from Table E.1-1a."""
    return {Action(raw["code"]): raw["description"] for raw in _load("e1_1a.json")["rows"]}
