"""A self-contained HTML page of verdicts: thumbnails (inline base64 PNG) with the found
regions drawn, a coloured verdict badge and the signals. No external resource of any kind."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .messages import label, severity_word, status_text, verdict_word
from .model import Verdict

__all__ = ["Entry", "render_html", "thumbnail_png"]

_COLOURS = {"block": (40, 40, 220), "warn": (0, 160, 240), "info": (60, 170, 60)}  # BGR
_BADGE = {"acceptable": "#2e7d32", "warning": "#ef8f00", "blocked": "#c62828", "error": "#555"}


@dataclass
class Entry:
    path: str
    verdict: Verdict | None
    image: np.ndarray | None = None
    error: str = ""
    before: np.ndarray | None = None  # the input, shown beside the output when scrubbed


def thumbnail_png(image: np.ndarray, verdict: Verdict | None, max_side: int = 360) -> str:
    """Base64 PNG of the image, scaled down, with the signals' regions drawn."""
    img = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., :3].copy()
    scale = min(1.0, max_side / max(img.shape[:2]))
    if scale < 1.0:
        h, w = img.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))  # a 2x20000 strip too
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    img = np.ascontiguousarray(img)
    if verdict is not None:
        for j in verdict.signals:
            colour = _COLOURS[j.severity]
            for r in j.signal.all_regions():
                p0 = (int(r.x * scale), int(r.y * scale))
                p1 = (int((r.x + r.w) * scale), int((r.y + r.h) * scale))
                cv2.rectangle(img, p0, p1, colour, 2)
                cv2.putText(
                    img,
                    j.signal.id,
                    (p0[0] + 2, max(10, p0[1] - 3)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.4,
                    colour,
                    1,
                    cv2.LINE_AA,
                )
    ok, png = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover
        return ""
    return base64.b64encode(png.tobytes()).decode("ascii")


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1em;margin:1em 0;
display:flex;gap:1.2em;align-items:flex-start}
.card img{max-width:360px;border:1px solid #ccc}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:.15em .6em;font-weight:bold}
.sev-block{color:#c62828}.sev-warn{color:#b26a00}.sev-info{color:#2e7d32}
li{margin:.3em 0}.rule{color:#666;font-size:.9em}code{font-size:.9em}
"""


def render_html(entries: Sequence[Entry], lang: str = "fr", title: str = "medanon check") -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(lang)}"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for e in entries:
        parts.append('<div class="card">')
        if e.before is not None:
            b64 = thumbnail_png(e.before, None)
            parts.append(
                f'<figure><img alt="input" src="data:image/png;base64,{b64}">'
                f"<figcaption>{esc(label('input', lang))}</figcaption></figure>"
            )
        if e.image is not None:
            b64 = thumbnail_png(e.image, e.verdict)
            caption = label("output", lang) if e.before is not None else ""
            parts.append(
                f'<figure><img alt="{esc(e.path)}" src="data:image/png;base64,{b64}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
        parts.append("<div>")
        parts.append(f"<h2><code>{esc(e.path)}</code></h2>")
        if e.verdict is None:
            parts.append(
                f'<span class="badge" style="background:{_BADGE["error"]}">'
                f"{esc(label('error', lang))}</span> {esc(e.error)}"
            )
        else:
            v = e.verdict
            parts.append(
                f'<span class="badge" style="background:{_BADGE[v.verdict]}">'
                f"{esc(verdict_word(v.verdict, lang))}</span> {esc(status_text(v.status, lang))}"
            )
            ctx = (
                f"{label('channel', lang)}: {v.channel}, "
                f"{label('jurisdiction', lang)}: {v.jurisdiction}"
            )
            if v.consent:
                ctx += f", {label('consent', lang)}"
            parts.append(f'<p class="rule">{esc(ctx)}</p><ul>')
            for j in v.signals:
                parts.append(
                    f'<li><b class="sev-{j.severity}">[{esc(severity_word(j.severity, lang))}]'
                    f" {esc(j.signal.id)}</b> {esc(j.title)}: {esc(j.message)}"
                    f'<br><span class="rule">{esc(label("rule", lang))}: {esc(j.rule)}'
                    + (f" — {esc(j.reason)}" if j.reason else "")
                    + "</span></li>"
                )
            parts.append("</ul>")
        parts.append("</div></div>")
    parts.append("</body></html>")
    return "\n".join(parts)
