"""Records shared by the verdict modules: a region, a signal found in an image, a judged signal.

A :class:`Signal` is an observation (what was seen, where); a :class:`Judged` signal adds what
the rules make of it for one channel and jurisdiction (severity, rule reference, why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Judged", "Region", "Signal", "Verdict"]

#: Severities from the lowest to the highest.
SEVERITIES = ("info", "warn", "block")


@dataclass(frozen=True)
class Region:
    """A box in image pixels (x, y: top-left corner)."""

    x: int
    y: int
    w: int
    h: int

    def union(self, other: Region) -> Region:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Region(x0, y0, x1 - x0, y1 - y0)

    def as_list(self) -> list[int]:
        return [int(self.x), int(self.y), int(self.w), int(self.h)]


@dataclass(frozen=True)
class Signal:
    """One piece of evidence of a catalogue signal (``I1``, ``P5``, ``S2``...).

    ``variant`` selects a sub-rule (``P8`` ``guarantee`` is blocked where a plain superlative is
    only a warning). ``text`` is the evidence text; identification signals never carry the
    identifying value itself, only what kind of value it was. ``detail`` is a short technical
    note (scores, detector).
    """

    id: str
    variant: str = ""
    region: Region | None = None
    text: str = ""
    detail: str = ""
    regions: tuple[Region, ...] = field(default=())

    def all_regions(self) -> tuple[Region, ...]:
        if self.region is None:
            return self.regions
        return (self.region, *self.regions)


@dataclass(frozen=True)
class Judged:
    """A signal with what the rules make of it."""

    signal: Signal
    severity: str
    kind: str  # identification | promotional | scientific
    rule: str
    title: str
    message: str
    reason: str = ""  # e.g. "escalated: with P2" or "lowered: with S4"

    def to_json(self) -> dict[str, Any]:
        s = self.signal
        out: dict[str, Any] = {
            "id": s.id,
            "severity": self.severity,
            "kind": self.kind,
            "rule": self.rule,
            "title": self.title,
            "message": self.message,
        }
        if s.variant:
            out["variant"] = s.variant
        regions = [r.as_list() for r in s.all_regions()]
        if regions:
            out["regions"] = regions
        if s.text:
            out["text"] = s.text
        if s.detail:
            out["detail"] = s.detail
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Verdict:
    """The verdict on one image: ``acceptable``, ``warning`` or ``blocked``.

    ``status`` says why in one word: ``identifiable``, ``promotional``, ``possibly_promotional``,
    ``possibly_identifiable``, ``identifiable_with_consent``, ``scientific`` (acceptable with
    positive scientific evidence) or ``no_finding``.
    """

    verdict: str
    status: str
    signals: tuple[Judged, ...]
    channel: str
    jurisdiction: str
    consent: bool = False

    @property
    def exit_code(self) -> int:
        return {"acceptable": 0, "warning": 1, "blocked": 2}[self.verdict]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "status": self.status,
            "channel": self.channel,
            "jurisdiction": self.jurisdiction,
            "consent": self.consent,
            "signals": [j.to_json() for j in self.signals],
        }
