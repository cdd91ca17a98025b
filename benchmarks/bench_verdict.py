"""Benchmark of the sharing verdict on generated cases (no real patient data).

Promotional material: before/after composites of the same subject (labelled "AVANT/APRÈS",
"BEFORE/AFTER", "Pré-op/Post-op" or unlabelled; with and without commercial cues; side by side
and stacked; with and without gaps) and single images with commercial cues. Flagged = verdict
``warning`` or ``blocked``.

Scientific material: plain radiographs with side markers and scale bars, multi-panel figures
(A/B panels of different images with a scale bar) and neutral same-subject pairs (radiograph
follow-up figures with A/B panel labels and timepoints, no commercial cue). Wrongly warned =
verdict other than ``acceptable``.

Targets: >= 95 % of promotional material flagged, <= 5 % of scientific material warned.

    .venv/bin/python benchmarks/bench_verdict.py [--verbose]
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict

import cv2
import numpy as np

from medanon.verdict import find_signals, judge
from medanon.verdict import synthetic as sy
from medanon.verdict.ocr import is_available

LABELS = [("AVANT", "APRÈS"), ("BEFORE", "AFTER"), ("Pré-op", "Post-op")]
TEXT_CUES = [
    ("Prenez rendez-vous 01 23 45 67 89", (20, 20, 20)),
    ("-30% ce mois-ci", (0, 0, 255)),
    ("www.clinique-exemple.fr", (255, 255, 255)),
    ("Résultat garanti !", (255, 255, 255)),
    ("#rhinoplastie #glowup", (255, 255, 255)),
    ("Merci docteur !", (30, 30, 30)),
]


def bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def add_cue(img: np.ndarray, k: int) -> np.ndarray:
    h, w = img.shape[:2]
    kind = k % 9
    if kind < len(TEXT_CUES):
        text, colour = TEXT_CUES[kind]
        return sy.put_text(bgr(img), text, (10, h - 30), 18, colour)
    if kind == 6:
        return sy.draw_stars(img, (10, h - 34))
    if kind == 7:
        return sy.draw_qr(img, (w - 110, h - 110))
    return sy.put_text(bgr(img), "Dr Martin Esthétique", (w // 4, h // 2), 26, alpha=0.35)


def promotional_cases() -> list[tuple[str, np.ndarray]]:
    cases = []
    n = 0
    for layout in ("horizontal", "vertical"):
        for labelled in (True, False):
            for commercial in (True, False):
                for seed in range(3):
                    n += 1
                    a = sy.skin_photo(100 + n)
                    b = sy.after_version(a, 200 + n)
                    gap = (0, 8, 16)[seed]
                    img = sy.compose([a, b], layout, gap=gap, border=6 * (seed == 2))
                    if labelled:
                        left, right = LABELS[n % len(LABELS)]
                        off = (
                            (a.shape[1] + gap + 12, 10)
                            if layout == "horizontal"
                            else (12, a.shape[0] + gap + 10)
                        )
                        img = sy.put_text(img, left, (12, 10), 24)
                        img = sy.put_text(img, right, off, 24)
                    if commercial:
                        img = add_cue(img, n)
                    name = f"composite/{layout}/{'labelled' if labelled else 'unlabelled'}"
                    cases.append((f"{name}/{'commercial' if commercial else 'plain'}", img))
    for k in range(9):
        cases.append(("single/commercial", add_cue(sy.skin_photo(300 + k), k)))
    return cases


def scientific_cases() -> list[tuple[str, np.ndarray]]:
    cases = []
    pyd = sy.pydicom_images()
    for k in range(8):
        img = bgr(sy.radiograph(400 + k))
        h, w = img.shape[:2]
        img = sy.put_text(img, "LR"[k % 2], (8 if k % 3 else w - 30, 8), 26)
        img = sy.draw_scale_bar(img, (w - 80, h - 18), 60, ("5 mm", "1 cm", "10 mm")[k % 3])
        cases.append(("radiograph/markers+scale", img))
    sources = [sy.radiograph(500 + k) for k in range(10)] + list(pyd)
    for k in range(8):
        a, b = sources[k % len(sources)], sources[(k + 3) % len(sources)]
        layout = "horizontal" if k % 3 else "vertical"
        img = bgr(sy.compose([a, b], layout, gap=6 + 2 * (k % 2)))
        img = sy.put_text(img, "A", (6, 6), 26)
        half = (img.shape[1] // 2 + 8, 6), (6, img.shape[0] // 2 + 8)
        pos = half[0] if layout == "horizontal" else half[1]
        img = sy.put_text(img, "B", pos, 26)
        h, w = img.shape[:2]
        img = sy.draw_scale_bar(img, (w - 80, h - 18), 60)
        cases.append(("figure/A-B panels+scale", img))
    for k in range(6):
        r = sy.radiograph(600 + k)
        img = bgr(sy.compose([r, sy.after_version(r, 700 + k)], "horizontal", gap=8))
        img = sy.put_text(img, "A", (6, 6), 26)
        img = sy.put_text(img, "B", (r.shape[1] + 14, 6), 26)
        if k % 2:
            img = sy.put_text(img, "J0", (40, 8), 20)
            img = sy.put_text(img, "M6", (r.shape[1] + 48, 8), 20)
        cases.append(("neutral same-subject pair (A/B)", img))
    return cases


def standards_check(n: int = 20) -> None:
    """P11 / S6 on colour before/after photo pairs: taken alike (S6 expected), restaged to
    flatter (brighter warmer light, another background or a closer view: P11 expected), and
    the promotional cases' own "after" views (mild changes of light and framing)."""
    from medanon.verdict.composite import find_panels
    from medanon.verdict.standards import find_standardisation

    print("photographic standards (P11 / S6), colour pairs:")
    for label, after in (
        ("taken alike", sy.standardised_after),
        ("restaged", sy.restaged_after),
        ("promotional 'after'", sy.after_version),
    ):
        counts: dict[str, int] = defaultdict(int)
        for seed in range(n):
            before = sy.skin_photo(seed)
            layout = "vertical" if seed % 4 == 3 else "horizontal"
            img = sy.compose([before, after(before, seed + 100)], layout, gap=(0, 8, 16)[seed % 3])
            same = next((p for p in find_panels(img) if p.same), None)
            found = find_standardisation(img, same, imaging=False) if same else []
            counts[found[0].id if found else ("neither" if same else "no pair")] += 1
        print(f"  {label:22s} " + ", ".join(f"{k} {v}/{n}" for k, v in sorted(counts.items())))


def main() -> int:
    verbose = "--verbose" in sys.argv
    if not is_available():
        print("Tesseract is not installed: text signals cannot be measured.")
    groups: dict[str, list[tuple[str, str, list[str]]]] = defaultdict(list)
    start = time.perf_counter()
    for family, cases in (("promotional", promotional_cases()), ("scientific", scientific_cases())):
        for name, img in cases:
            v = judge(find_signals(img))
            sig = sorted({f"{j.signal.id}:{j.severity}" for j in v.signals})
            groups[family].append((name, v.verdict, sig))
            if verbose:
                print(f"{family:12s} {name:45s} {v.verdict:10s} {' '.join(sig)}")
    elapsed = time.perf_counter() - start
    promo, sci = groups["promotional"], groups["scientific"]
    flagged = sum(v != "acceptable" for _n, v, _s in promo)
    warned = sum(v != "acceptable" for _n, v, _s in sci)
    print(f"cases: {len(promo)} promotional, {len(sci)} scientific ({elapsed:.1f} s)")
    by_name: dict[str, list[str]] = defaultdict(list)
    for n, v, _s in promo + sci:
        by_name[n].append(v)
    for n, vs in sorted(by_name.items()):
        counts = {k: vs.count(k) for k in ("acceptable", "warning", "blocked") if vs.count(k)}
        print(f"  {n:45s} {counts}")
    standards_check()
    share_flagged = flagged / len(promo)
    share_warned = warned / len(sci)
    print(f"promotional flagged: {flagged}/{len(promo)} = {share_flagged:.1%} (target >= 95%)")
    print(f"scientific warned:   {warned}/{len(sci)} = {share_warned:.1%} (target <= 5%)")
    return 0 if share_flagged >= 0.95 and share_warned <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
