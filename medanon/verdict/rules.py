"""The sharing rules (``rules.toml``) and the engine that turns signals into a verdict.

The engine, for one channel and jurisdiction:

1. gives every signal its severity: the signal's (or its variant's) default, then the most
   specific ``override`` for the channel and jurisdiction, then ``consent`` when the user
   attests documented consent;
2. lowers signals whose ``lower`` rule applies (``P1`` with panel labels ``S4`` and no other
   promotional cue becomes information: a scientific composite);
3. raises signals whose ``escalate`` rule applies (``P1`` with a commercial cue is blocked),
   counting only signals that are still at ``warn`` or above;
4. takes the highest severity: ``block`` gives ``blocked``, ``warn`` gives ``warning``,
   otherwise ``acceptable``. Identification signals win over everything for the status.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .model import SEVERITIES, Judged, Signal, Verdict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["RuleError", "Rules", "judge", "load_rules"]

_RANK = {s: n for n, s in enumerate(SEVERITIES)}
_KINDS = ("identification", "promotional", "scientific")


class RuleError(ValueError):
    """The rules file is malformed."""


@dataclass(frozen=True)
class Condition:
    with_any: frozenset[str]
    unless_any: frozenset[str]
    to: str
    where: tuple[str, ...]

    def applies_to(self, channel: str, jurisdiction: str) -> bool:
        return not self.where or any(_match(p, channel, jurisdiction) >= 0 for p in self.where)


def _match(pattern: str, channel: str, jurisdiction: str) -> int:
    """Specificity of ``pattern`` ("channel/jurisdiction", "*" wildcards), -1 if no match."""
    try:
        c, j = pattern.split("/")
    except ValueError as exc:
        raise RuleError(f"bad override key {pattern!r}: use CHANNEL/JURISDICTION") from exc
    if c not in ("*", channel) or j not in ("*", jurisdiction):
        return -1
    return (c != "*") + (j != "*")


class Rules:
    """Validated rules: severities per channel, jurisdiction and consent; escalations."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        meta = raw.get("meta", {})
        self.channels: tuple[str, ...] = tuple(meta.get("channels", ()))
        self.jurisdictions: tuple[str, ...] = tuple(meta.get("jurisdictions", ()))
        self.default_channel: str = meta.get("default_channel", "")
        self.default_jurisdiction: str = meta.get("default_jurisdiction", "")
        if self.default_channel not in self.channels:
            raise RuleError("default_channel must be one of channels")
        if self.default_jurisdiction not in self.jurisdictions:
            raise RuleError("default_jurisdiction must be one of jurisdictions")
        self.signals: dict[str, dict[str, Any]] = dict(raw.get("signals", {}))
        if not self.signals:
            raise RuleError("no signals")
        self._escalate: dict[str, list[Condition]] = {}
        self._lower: dict[str, list[Condition]] = {}
        for sid, table in self.signals.items():
            self._validate(sid, table)
            for variant in table.get("variant", {}).values():
                self._validate(sid, variant, partial=True)
            self._escalate[sid] = [self._condition(sid, c) for c in table.get("escalate", [])]
            self._lower[sid] = [self._condition(sid, c) for c in table.get("lower", [])]

    def _validate(self, sid: str, table: Mapping[str, Any], partial: bool = False) -> None:
        if not partial:
            if table.get("kind") not in _KINDS:
                raise RuleError(f"{sid}: kind must be one of {_KINDS}")
            for field in ("severity", "rule", "title", "message"):
                if field not in table:
                    raise RuleError(f"{sid}: missing {field}")
            for field in ("title", "message"):
                if not {"fr", "en"} <= set(table[field]):
                    raise RuleError(f"{sid}: {field} needs fr and en")
        for field in ("severity", "consent"):
            if field in table and table[field] not in _RANK:
                raise RuleError(f"{sid}: {field} must be one of {SEVERITIES}")
        for pattern, over in table.get("override", {}).items():
            c, j = pattern.split("/") if pattern.count("/") == 1 else ("?", "?")
            if c not in (*self.channels, "*") or j not in (*self.jurisdictions, "*"):
                raise RuleError(f"{sid}: bad override key {pattern!r}")
            for field, value in over.items():
                if field not in ("severity", "consent") or value not in _RANK:
                    raise RuleError(f"{sid}: bad override {pattern!r} {field}={value!r}")

    def _condition(self, sid: str, raw: Mapping[str, Any]) -> Condition:
        ids = set(raw.get("with_any", [])) | set(raw.get("unless_any", []))
        unknown = ids - set(self.signals)
        if unknown:
            raise RuleError(f"{sid}: unknown signals {sorted(unknown)}")
        if raw.get("to") not in _RANK:
            raise RuleError(f"{sid}: 'to' must be one of {SEVERITIES}")
        where = tuple(raw.get("where", ()))
        for p in where:
            _match(p, "", "")
        return Condition(
            frozenset(raw.get("with_any", [])),
            frozenset(raw.get("unless_any", [])),
            raw["to"],
            where,
        )

    # ----------------------------------------------------------------- look-ups

    def table(self, sid: str, variant: str = "") -> dict[str, Any]:
        """The signal's table with its variant's fields on top (without overrides)."""
        if sid not in self.signals:
            raise KeyError(sid)
        base = dict(self.signals[sid])
        var = base.get("variant", {}).get(variant)
        if var:
            base.update({k: v for k, v in var.items() if k != "override"})
        return base

    def severity(
        self, sid: str, variant: str, channel: str, jurisdiction: str, consent: bool
    ) -> str:
        """Severity before lowering and escalation."""
        base = self.signals[sid]
        layers: list[Mapping[str, Any]] = [base]
        layers += _ordered_overrides(base.get("override", {}), channel, jurisdiction)
        var = base.get("variant", {}).get(variant)
        if var:
            layers.append(var)
            layers += _ordered_overrides(var.get("override", {}), channel, jurisdiction)
        severity = consent_sev = None
        for layer in layers:
            if "severity" in layer:
                severity = layer["severity"]
                consent_sev = None  # a new default severity resets an inherited consent level
            if "consent" in layer:
                consent_sev = layer["consent"]
        assert severity is not None
        if consent and consent_sev is not None:
            return consent_sev
        return severity

    def text(self, sid: str, variant: str, field: str, lang: str) -> str:
        texts = self.table(sid, variant)[field]
        return texts.get(lang) or texts["en"]

    def check_context(self, channel: str, jurisdiction: str) -> None:
        if channel not in self.channels:
            raise RuleError(f"unknown channel {channel!r}; choose from {self.channels}")
        if jurisdiction not in self.jurisdictions:
            raise RuleError(f"unknown jurisdiction {jurisdiction!r}")

    # ----------------------------------------------------------------- engine

    def judge(
        self,
        signals: Sequence[Signal],
        channel: str | None = None,
        jurisdiction: str | None = None,
        consent: bool = False,
        lang: str = "fr",
    ) -> Verdict:
        channel = channel or self.default_channel
        jurisdiction = jurisdiction or self.default_jurisdiction
        self.check_context(channel, jurisdiction)
        known = [s for s in signals if s.id in self.signals]
        present = {s.id for s in known}
        sev: list[str] = []
        reasons: list[str] = []
        for s in known:
            sev.append(self.severity(s.id, s.variant, channel, jurisdiction, consent))
            reasons.append("")
        # Lowering: on raw presence.
        for n, s in enumerate(known):
            for cond in self._lower[s.id]:
                if not cond.applies_to(channel, jurisdiction):
                    continue
                others = present - {s.id}
                applies = others & cond.with_any and not others & cond.unless_any
                if applies and _RANK[cond.to] < _RANK[sev[n]]:
                    sev[n] = cond.to
                    reasons[n] = "lowered: with " + ", ".join(sorted(others & cond.with_any))
        # Escalation: on signals still at warn or above, to a fixed point.
        changed = True
        while changed:
            changed = False
            active = {s.id for s, v in zip(known, sev, strict=False) if _RANK[v] >= _RANK["warn"]}
            for n, s in enumerate(known):
                if _RANK[sev[n]] < _RANK["warn"]:
                    continue
                for cond in self._escalate[s.id]:
                    if not cond.applies_to(channel, jurisdiction):
                        continue
                    hit = (active - {s.id}) & cond.with_any
                    if hit and _RANK[cond.to] > _RANK[sev[n]]:
                        sev[n] = cond.to
                        reasons[n] = "escalated: with " + ", ".join(_sorted_ids(hit))
                        changed = True
        judged = []
        for s, v, why in zip(known, sev, reasons, strict=False):
            table = self.table(s.id, s.variant)
            evidence = _evidence_text(s, lang)
            judged.append(
                Judged(
                    signal=s,
                    severity=v,
                    kind=table["kind"],
                    rule=table["rule"],
                    title=self.text(s.id, s.variant, "title", lang),
                    message=_fill(self.text(s.id, s.variant, "message", lang), evidence),
                    reason=why,
                )
            )
        judged.sort(key=lambda j: (-_RANK[j.severity], _KINDS.index(j.kind), _id_key(j.signal.id)))
        top = max((_RANK[j.severity] for j in judged), default=0)
        verdict = {0: "acceptable", 1: "warning", 2: "blocked"}[top]
        return Verdict(
            verdict=verdict,
            status=_status(judged),
            signals=tuple(judged),
            channel=channel,
            jurisdiction=jurisdiction,
            consent=consent,
        )


def _fill(template: str, evidence: str) -> str:
    if evidence:
        return template.replace("{evidence}", evidence)
    return re.sub(r"\s*:?\s*\{evidence\}", "", template)


def _status(judged: Sequence[Judged]) -> str:
    def worst(kind: str) -> int:
        return max((_RANK[j.severity] for j in judged if j.kind == kind), default=-1)

    ident, promo = worst("identification"), worst("promotional")
    if ident == _RANK["block"]:
        return "identifiable"
    if promo == _RANK["block"]:
        return "promotional"
    if ident == _RANK["warn"]:
        return "possibly_identifiable"
    if promo == _RANK["warn"]:
        return "possibly_promotional"
    if ident == _RANK["info"]:
        return "identifiable_with_consent"
    if any(j.kind == "scientific" for j in judged):
        return "scientific"
    return "no_finding"


def _ordered_overrides(
    overrides: Mapping[str, Mapping[str, Any]], channel: str, jurisdiction: str
) -> list[Mapping[str, Any]]:
    matches = [(_match(k, channel, jurisdiction), k, v) for k, v in overrides.items()]
    return [v for spec, _k, v in sorted(m for m in matches if m[0] >= 0)]


def _id_key(sid: str) -> tuple[str, int]:
    return (sid[0], int(sid[1:]) if sid[1:].isdigit() else 0)


def _sorted_ids(ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=_id_key)


_PLACE = {"fr": "zone ({x}, {y}, {w}×{h})", "en": "region ({x}, {y}, {w}×{h})"}


def _evidence_text(s: Signal, lang: str) -> str:
    if s.text:
        return f"« {s.text} »" if lang == "fr" else f'"{s.text}"'
    regions = s.all_regions()
    if regions:
        r = regions[0]
        return _PLACE.get(lang, _PLACE["en"]).format(x=r.x, y=r.y, w=r.w, h=r.h)
    return ""


@functools.lru_cache(maxsize=8)
def _load(path: str | None) -> Rules:
    if path is None:
        text = resources.files(__package__).joinpath("rules.toml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"rules file is not valid TOML: {exc}") from exc
    return Rules(raw)


def load_rules(path: str | Path | None = None) -> Rules:
    """The shipped rules, or a rules file in the same format."""
    return _load(None if path is None else str(path))


def judge(
    signals: Sequence[Signal],
    channel: str | None = None,
    jurisdiction: str | None = None,
    consent: bool = False,
    lang: str = "fr",
    rules: Rules | None = None,
) -> Verdict:
    """Combine ``signals`` into a verdict under ``rules`` (default: the shipped rules)."""
    return (rules or load_rules()).judge(signals, channel, jurisdiction, consent, lang)
