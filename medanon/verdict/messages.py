"""Human-readable texts (French and English) for verdicts; signal texts live in rules.toml."""

from __future__ import annotations

from .model import Verdict

__all__ = ["LANGS", "format_verdict", "status_text", "verdict_word"]

LANGS = ("fr", "en")

_VERDICT = {
    "fr": {"acceptable": "ACCEPTABLE", "warning": "AVERTISSEMENT", "blocked": "BLOQUÉ"},
    "en": {"acceptable": "ACCEPTABLE", "warning": "WARNING", "blocked": "BLOCKED"},
}
_STATUS = {
    "fr": {
        "identifiable": "le patient est identifiable : ne pas partager",
        "promotional": "contenu promotionnel : incompatible avec un partage scientifique",
        "possibly_identifiable": "éléments potentiellement identifiants : corrigez ou attestez",
        "possibly_promotional": "contenu possiblement promotionnel : corrigez ou attestez",
        "identifiable_with_consent": "identifiable, partage couvert par le consentement attesté",
        "scientific": "présentation scientifique, aucun signal bloquant",
        "no_finding": "aucun signal détecté",
    },
    "en": {
        "identifiable": "the patient is identifiable: do not share",
        "promotional": "promotional content: not fit for scientific sharing",
        "possibly_identifiable": "possibly identifying details: fix them or attest",
        "possibly_promotional": "possibly promotional content: fix it or attest",
        "identifiable_with_consent": "identifiable, sharing covered by the attested consent",
        "scientific": "scientific presentation, no blocking signal",
        "no_finding": "no signal found",
    },
}
_SEVERITY = {
    "fr": {"block": "bloquant", "warn": "avertissement", "info": "info"},
    "en": {"block": "block", "warn": "warning", "info": "info"},
}
_LABELS = {
    "fr": {
        "rule": "règle",
        "where": "zone",
        "why": "motif",
        "channel": "canal",
        "jurisdiction": "juridiction",
        "error": "ERREUR",
        "consent": "consentement attesté",
        "input": "original",
        "output": "anonymisé",
    },
    "en": {
        "rule": "rule",
        "where": "region",
        "why": "reason",
        "channel": "channel",
        "jurisdiction": "jurisdiction",
        "error": "ERROR",
        "consent": "consent attested",
        "input": "input",
        "output": "de-identified",
    },
}


def verdict_word(verdict: str, lang: str) -> str:
    return _VERDICT.get(lang, _VERDICT["en"])[verdict]


def status_text(status: str, lang: str) -> str:
    return _STATUS.get(lang, _STATUS["en"])[status]


def severity_word(severity: str, lang: str) -> str:
    return _SEVERITY.get(lang, _SEVERITY["en"])[severity]


def label(name: str, lang: str) -> str:
    return _LABELS.get(lang, _LABELS["en"])[name]


def format_verdict(path: str, verdict: Verdict, lang: str = "fr") -> str:
    """A few lines per image: verdict, status, then each signal with its rule."""
    head = f"{path}: {verdict_word(verdict.verdict, lang)} ({status_text(verdict.status, lang)})"
    lines = [head]
    for j in verdict.signals:
        lines.append(f"  [{severity_word(j.severity, lang)}] {j.signal.id} {j.title}: {j.message}")
        extra = [f"{label('rule', lang)}: {j.rule}"]
        regions = j.signal.all_regions()
        if regions:
            boxes = "; ".join(f"{r.x},{r.y} {r.w}x{r.h}" for r in regions[:4])
            extra.append(f"{label('where', lang)}: {boxes}")
        if j.reason:
            extra.append(f"{label('why', lang)}: {j.reason}")
        lines.append("      " + " | ".join(extra))
    return "\n".join(lines)


def format_error(path: str, reason: str, lang: str = "fr") -> str:
    return f"{path}: {label('error', lang)}: {reason}"
