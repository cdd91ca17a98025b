"""Head CT/MR series from which a face can be rebuilt: a residual risk medanon reports.

A stack of thin axial slices through the head is a 3D picture of the face: volume rendering
shows it, and face recognition matches it to photographs (Schwarz et al., N Engl J Med
2019;381:1684). Header and pixel cleaning do not remove that risk; defacing the volume does,
and it is out of medanon's scope. So medanon says which series carry it, rather than calling
them anonymous.

One slice cannot tell: the risk belongs to the series. Each file gives its facts
(:class:`HeadSlices`: the output's series UID, the slice normal, the positions along it, the
slice thickness); :func:`assess` groups them by series and orientation and flags a series
whose slices are thin and close (<= ``MAX_SPACING_MM``) and cover at least
``MIN_EXTENT_MM``, enough to hold the eyes and nose. Enhanced (multi-frame) CT/MR carry the
whole volume in one file and are assessed alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median
from typing import Any

from pydicom.dataset import Dataset

HEAD_WORDS = ("HEAD", "BRAIN", "SKULL", "FACE", "CRANE", "CRÂNE", "TETE", "TÊTE", "ORBIT", "SINUS")
HEAD_KEYWORDS = ("BodyPartExamined", "StudyDescription", "SeriesDescription", "ProtocolName")

MAX_SPACING_MM = 3.0  # thicker or sparser slices render a face too coarse to recognise
MIN_EXTENT_MM = 60.0  # brow to upper lip is about 70 mm: eyes and nose need about 60


@dataclass(frozen=True)
class HeadSlices:
    """What one file tells about its series: no patient value, only geometry and the output's
    (pseudonymous) series UID."""

    series: str
    normal: tuple[float, float, float]
    positions: tuple[float, ...]
    thickness: float | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "normal": list(self.normal),
            "positions": list(self.positions),
            "thickness": self.thickness,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> HeadSlices:
        normal = tuple(float(v) for v in record["normal"])
        return cls(
            str(record["series"]),
            (normal[0], normal[1], normal[2]),
            tuple(float(p) for p in record["positions"]),
            None if record.get("thickness") is None else float(record["thickness"]),
        )


@dataclass(frozen=True)
class SeriesRisk:
    """A series from which a face can be reconstructed."""

    series: str
    slices: int
    spacing_mm: float
    extent_mm: float

    def message(self) -> str:
        return (
            f"head CT/MR series {self.series}: {self.slices} slices {self.spacing_mm:.1f} mm "
            f"apart over {self.extent_mm:.0f} mm; a face can be reconstructed by volume "
            "rendering (residual risk; deface the volume before sharing it)"
        )

    def as_record(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "slices": self.slices,
            "spacing_mm": round(self.spacing_mm, 2),
            "extent_mm": round(self.extent_mm, 1),
        }


def is_head_scan(dataset: Dataset) -> bool:
    """CT or MR whose body part, descriptions or protocol name the head (read before the
    header engine removes the descriptions)."""
    if str(dataset.get("Modality", "") or "").upper() not in ("CT", "MR"):
        return False
    text = " ".join(str(dataset.get(keyword, "") or "") for keyword in HEAD_KEYWORDS).upper()
    return any(word in text for word in HEAD_WORDS)


def head_slices(dataset: Dataset) -> HeadSlices | None:
    """The geometry of a head CT/MR file (classic: one slice; enhanced: every frame), or None
    when the file is not one or has no usable geometry (PS3.3 C.7.6.2 Image Plane,
    C.7.6.16.2.3 Plane Position, C.7.6.16.2.4 Plane Orientation)."""
    if not is_head_scan(dataset):
        return None
    shared = _first_item(dataset, "SharedFunctionalGroupsSequence")
    orientation = _floats(dataset.get("ImageOrientationPatient")) or _floats(
        _nested(shared, "PlaneOrientationSequence", "ImageOrientationPatient")
    )
    if len(orientation) != 6:
        return None
    normal = _unit_normal(orientation)
    if normal is None:
        return None
    corners: list[list[float]] = []
    for item in dataset.get("PerFrameFunctionalGroupsSequence", None) or []:
        corners.append(_floats(_nested(item, "PlanePositionSequence", "ImagePositionPatient")))
    if not corners:
        corners = [_floats(dataset.get("ImagePositionPatient"))]
    positions = tuple(
        round(sum(c * n for c, n in zip(corner, normal, strict=True)), 3)
        for corner in corners
        if len(corner) == 3
    )
    if not positions:
        return None
    thickness = _floats(dataset.get("SliceThickness")) or _floats(
        _nested(shared, "PixelMeasuresSequence", "SliceThickness")
    )
    return HeadSlices(
        str(dataset.get("SeriesInstanceUID", "") or ""),
        normal,
        positions,
        thickness[0] if thickness else None,
    )


def assess(slices: Iterable[HeadSlices]) -> list[SeriesRisk]:
    """Series (by UID and slice orientation) from which a face can be reconstructed, in series
    order."""
    groups: dict[tuple[str, tuple[float, float, float]], list[HeadSlices]] = defaultdict(list)
    for item in slices:
        groups[(item.series, item.normal)].append(item)
    risks = []
    for (series, _), items in sorted(groups.items()):
        risk = _series_risk(series, items)
        if risk is not None:
            risks.append(risk)
    return risks


@dataclass
class HeadSeriesCheck:
    """Collects :class:`HeadSlices` file by file (a batch, a watch folder, a user's loop) and
    says at the end which series carry the risk."""

    slices: list[HeadSlices] = field(default_factory=list)

    def add(self, item: HeadSlices | None) -> None:
        if item is not None:
            self.slices.append(item)

    def risks(self) -> list[SeriesRisk]:
        return assess(self.slices)


def _series_risk(series: str, items: Sequence[HeadSlices]) -> SeriesRisk | None:
    positions = sorted({p for item in items for p in item.positions})
    if len(positions) < 2:
        return None
    thicknesses = [item.thickness for item in items if item.thickness]
    if thicknesses and median(thicknesses) > MAX_SPACING_MM:
        return None
    run = _longest_dense_run(positions)  # a gap wider than a slice breaks the volume
    extent = run[-1] - run[0]
    if len(run) < 2 or extent < MIN_EXTENT_MM:
        return None
    spacing = median(b - a for a, b in pairwise(run))
    return SeriesRisk(series, len(run), spacing, extent)


def _longest_dense_run(positions: Sequence[float]) -> list[float]:
    """The longest stretch of sorted positions with no gap above ``MAX_SPACING_MM`` (by extent):
    only there is the volume continuous enough to render a face."""
    best: list[float] = []
    current: list[float] = []
    for position in positions:
        if current and position - current[-1] > MAX_SPACING_MM:
            current = []
        current.append(position)
        if not best or current[-1] - current[0] > best[-1] - best[0]:
            best = list(current)
    return best


def _unit_normal(orientation: Sequence[float]) -> tuple[float, float, float] | None:
    """The slice normal (row x column direction cosines), rounded so that slices of one stack
    share it exactly."""
    r, c = orientation[:3], orientation[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    length = sum(v * v for v in n) ** 0.5
    if length < 1e-6:
        return None
    return (round(n[0] / length, 2), round(n[1] / length, 2), round(n[2] / length, 2))


def _first_item(dataset: Dataset | None, keyword: str) -> Dataset | None:
    sequence = dataset.get(keyword, None) if dataset is not None else None
    return sequence[0] if sequence else None


def _nested(dataset: Dataset | None, keyword: str, attribute: str) -> Any:
    item = _first_item(dataset, keyword)
    return item.get(attribute) if item is not None else None


def _floats(value: Any) -> list[float]:
    """A DS/FD value or multi-value as floats; [] when missing or malformed."""
    if value is None or value == "":
        return []
    values = [value] if isinstance(value, str | bytes) or not hasattr(value, "__iter__") else value
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        return []
