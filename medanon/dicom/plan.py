"""Compile a :class:`~medanon.policy.Policy` and Table E.1-1 into one lookup per tag.

The plan is built once per policy (it is cached) so that the engine does a dictionary lookup per
element instead of re-reading the table. How option columns combine with the basic profile
(PS3.15 E.3):

* an option column applies only when that option is on;
* a *Retain* cell applies only when, for every Retain column that lists the attribute, one of its
  options is on (the two longitudinal-dates options count as one column): a date of a device is
  kept only when both device identity and dates are retained;
* among the cells that apply, C (clean) wins over K (keep); without any, the basic action holds;
* a profile's per-attribute override replaces all of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydicom.datadict import DicomDictionary

from ..policy import Policy, PrivateKey
from .table import Action, Option, Row, confidentiality_rows, safe_private_rows

_DATE_OPTIONS = (Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES)

# Dates that Table E.1-1 does not list are handled as its own listed dates are (X, kept with Full
# Dates, shifted with Modified Dates): fail closed for attributes added to the standard later.
UNLISTED_DATE_ROW = Row(
    name="(date or date-time not listed in Table E.1-1)",
    tag="(gggg,eeee) with VR DA or DT",
    retired=False,
    in_standard_iod=False,
    basic=Action.X,
    options={
        Option.RETAIN_LONGITUDINAL_FULL_DATES: Action.K,
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: Action.C,
    },
)


def effective_action(row: Row, options: frozenset[Option]) -> Action:
    """The action of one table row under a set of options (rules in the module docstring)."""
    retain_columns: dict[str, list[tuple[Option, Action]]] = {}
    cells: list[Action] = []
    for option, action in row.options.items():
        if option.is_retain:
            column = "dates" if option in _DATE_OPTIONS else option.value
            retain_columns.setdefault(column, []).append((option, action))
        elif option in options:
            cells.append(action)
    if retain_columns and all(
        any(option in options for option, _ in column) for column in retain_columns.values()
    ):
        cells.extend(a for column in retain_columns.values() for o, a in column if o in options)
    if not cells:
        return row.basic
    return Action.C if Action.C in cells else Action.K


@dataclass(frozen=True)
class Plan:
    """Per-tag actions for one policy. Compound codes stay unresolved (they need the IOD)."""

    by_tag: dict[int, Action]
    overlay_data: Action  # (60xx,3000): the whole overlay plane follows it
    overlay_comments: Action
    curve: Action  # (50xx,xxxx)
    unlisted_date: Action
    private: Action  # the private-attributes row: X, or C with Retain Safe Private
    safe_private: frozenset[tuple[int, int, str]]  # (group, element low byte, creator upper)
    private_overrides: dict[tuple[int, int, str], Action]
    rows_by_tag: dict[int, Row]

    def public_action(self, tag: int, vr: str | None) -> Action:
        """Action for an even-group attribute outside file meta, overlays and curves."""
        action = self.by_tag.get(tag)
        if action is not None:
            return action
        if vr in ("DA", "DT"):
            return self.unlisted_date
        if (tag & 0xFFFF) == 0 or tag not in DicomDictionary:
            return Action.X  # group lengths and attributes unknown to this edition
        return Action.K

    def private_action(self, group: int, element_low: int, creator: str | None) -> Action:
        """Action for a private data element (PS3.15 E.3.10), creator-aware."""
        if creator is None:
            return Action.X  # no private creator: nothing says what it is
        key = (group, element_low, creator.strip().upper())
        override = self.private_overrides.get(key)
        if override is not None:
            return override
        if self.private == Action.C and key in self.safe_private:
            return Action.K
        return Action.X


@cache
def compile_plan(policy: Policy) -> Plan:
    """Resolve every row of Table E.1-1 under ``policy``; cached per policy."""
    options = policy.options
    by_tag: dict[int, Action] = {}
    rows_by_tag: dict[int, Row] = {}
    special: dict[str, Action] = {}
    for row in confidentiality_rows():
        action = effective_action(row, options)
        tag = row.exact_tag
        if tag is not None:
            by_tag[tag] = action
            rows_by_tag[tag] = row
        elif row.tag == "(60xx,3000)":
            special["overlay_data"] = action
        elif row.tag == "(60xx,4000)":
            special["overlay_comments"] = action
        elif row.tag == "(50xx,xxxx)":
            special["curve"] = action
        elif "odd" in row.tag.lower():
            special["private"] = action
        else:  # pragma: no cover - guarded by tests/test_tables.py
            raise ValueError(f"unexpected pattern row {row.tag}")
    by_tag.update(policy.overrides)
    return Plan(
        by_tag=by_tag,
        overlay_data=special["overlay_data"],
        overlay_comments=special["overlay_comments"],
        curve=special["curve"],
        unlisted_date=effective_action(UNLISTED_DATE_ROW, options),
        private=special["private"],
        safe_private=frozenset(
            (r.group, r.element_low, r.creator.upper()) for r in safe_private_rows()
        ),
        private_overrides={
            (k.group, k.element_low, k.creator.upper()): a
            for k, a in policy.private_overrides.items()
        },
        rows_by_tag=rows_by_tag,
    )


__all__ = ["Plan", "PrivateKey", "compile_plan", "effective_action"]
