"""Head CT/MR series from which a face can be reconstructed: flagged per series, not per slice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from medanon import Keyring, Scrubber, load_policy
from medanon.cli import main
from medanon.faces.headscan import HeadSeriesCheck, HeadSlices, assess, head_slices
from tests.factories import phi_dataset

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
CORONAL = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]


def head_slice(z: float, *, series: str, thickness: float = 1.25, orientation=AXIAL) -> Dataset:
    ds = phi_dataset(series_uid=series)
    ds.StudyDescription = "CT HEAD without contrast"
    ds.BodyPartExamined = "HEAD"
    ds.ImageOrientationPatient = orientation
    ds.ImagePositionPatient = [-120.0, -120.0, z]
    ds.SliceThickness = thickness
    return ds


def stack(count: int, spacing: float, *, series: str | None = None, **kwargs) -> list[HeadSlices]:
    series = series or generate_uid()
    facts = [head_slices(head_slice(i * spacing, series=series, **kwargs)) for i in range(count)]
    assert all(f is not None for f in facts)
    return [f for f in facts if f is not None]


def test_geometry_of_one_slice() -> None:
    facts = head_slices(head_slice(-42.5, series="1.2.3"))
    assert facts == HeadSlices("1.2.3", (0.0, 0.0, 1.0), (-42.5,), 1.25)
    assert HeadSlices.from_record(json.loads(json.dumps(facts.as_record()))) == facts


def test_not_head_or_no_geometry_gives_nothing() -> None:
    thorax = phi_dataset()  # CT thorax
    thorax.ImageOrientationPatient, thorax.ImagePositionPatient = AXIAL, [0, 0, 0]
    assert head_slices(thorax) is None
    flat = head_slice(0, series="1.2.3")
    del flat.ImageOrientationPatient
    assert head_slices(flat) is None
    xray = head_slice(0, series="1.2.3")
    xray.Modality = "DX"
    assert head_slices(xray) is None


def test_thin_stack_covering_the_face_is_a_risk() -> None:
    risks = assess(stack(64, 1.25))
    assert len(risks) == 1
    assert (risks[0].slices, risks[0].spacing_mm, risks[0].extent_mm) == (64, 1.25, 78.75)
    assert "reconstructed" in risks[0].message()


@pytest.mark.parametrize(
    ("count", "spacing", "thickness"),
    [
        (30, 1.25, 1.25),  # 36 mm: the top of the skull only
        (20, 5.0, 5.0),  # thick routine slices
        (40, 2.0, 6.0),  # overlapping thick slices
        (1, 1.0, 1.0),
    ],
)
def test_short_or_thick_stacks_are_not(count: int, spacing: float, thickness: float) -> None:
    assert assess(stack(count, spacing, thickness=thickness)) == []


def test_series_and_orientations_are_kept_apart() -> None:
    series = generate_uid()
    check = HeadSeriesCheck()
    for item in stack(30, 1.25, series=series) + stack(30, 1.25, series=generate_uid()):
        check.add(item)
    assert check.risks() == []  # two short series are not one long one
    mixed = stack(64, 1.25, series=series) + stack(3, 1.25, series=series, orientation=CORONAL)
    assert [r.slices for r in assess(mixed)] == [64]  # the localisers do not join the stack


def test_enhanced_volume_is_assessed_in_one_file(keyring: Keyring) -> None:
    ds = head_slice(0, series=generate_uid())
    del ds.ImageOrientationPatient, ds.ImagePositionPatient, ds.SliceThickness
    orientation, measures = Dataset(), Dataset()
    orientation.ImageOrientationPatient = AXIAL
    measures.SliceThickness = 1.0
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for i in range(80):
        position, item = Dataset(), Dataset()
        position.ImagePositionPatient = [0.0, 0.0, float(i)]
        item.PlanePositionSequence = Sequence([position])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    clean, outcome = Scrubber(load_policy("basic"), keyring).scrub_dataset(ds)
    assert outcome.head_slices is not None
    assert outcome.head_slices.series == clean.SeriesInstanceUID != ds.SeriesInstanceUID
    assert any("80 slices" in w and "reconstructed" in w for w in outcome.warnings)


def test_one_slice_alone_is_not_warned(keyring: Keyring) -> None:
    _, outcome = Scrubber(load_policy("basic"), keyring).scrub_dataset(
        head_slice(0, series=generate_uid())
    )
    assert outcome.head_slices is not None
    assert not any("reconstructed" in w for w in outcome.warnings)


def test_cli_flags_the_series_by_its_pseudonymous_uid(tmp_path: Path) -> None:
    series = generate_uid()
    source = tmp_path / "in"
    source.mkdir()
    for i in range(50):
        head_slice(i * 1.5, series=series).save_as(
            source / f"s{i:03}.dcm", enforce_file_format=True
        )
    head_slice(0, series=generate_uid()).save_as(source / "other.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(main, ["scrub", str(source), "-o", str(out), "--json", "-j", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    risks = summary["residual_risks"]
    assert len(risks) == 1 and risks[0]["slices"] == 50 and risks[0]["extent_mm"] == 73.5
    assert risks[0]["series"] == dcmread(out / "s000.dcm").SeriesInstanceUID != series
    text = runner.invoke(main, ["scrub", str(source), "-o", str(tmp_path / "o2"), "-q"])
    assert text.exit_code == 0
    assert text.stderr.count("WARNING head CT/MR series") == 1
    assert series not in text.stderr


def test_watch_flags_a_series_once_across_runs(tmp_path: Path) -> None:
    from medanon.watch_cmd import watch

    def run_once() -> list[dict]:
        result = CliRunner().invoke(
            watch,
            [str(inbox), "-o", str(outbox), "--once", "--stable", "0.1", "--settle", "0.2"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        lines = result.stderr.splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    series = generate_uid()
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    for i in range(30):  # 43.5 mm: not yet enough
        head_slice(i * 1.5, series=series).save_as(inbox / f"s{i:03}.dcm", enforce_file_format=True)
    assert not [r for r in run_once() if r["event"] == "residual_risk"]
    for i in range(30, 60):  # the rest of the series arrives later: now 88.5 mm
        head_slice(i * 1.5, series=series).save_as(inbox / f"s{i:03}.dcm", enforce_file_format=True)
    risks = [r for r in run_once() if r["event"] == "residual_risk"]
    assert len(risks) == 1  # as soon as the slices seen cover enough (in any order)
    assert 31 <= risks[0]["slices"] <= 60 and risks[0]["extent_mm"] >= 60
    assert risks[0]["series"] == dcmread(outbox / "s000.dcm").SeriesInstanceUID != series
    (inbox / "s000.dcm").touch()
    head_slice(90.0, series=series).save_as(inbox / "s999.dcm", enforce_file_format=True)
    assert not [r for r in run_once() if r["event"] == "residual_risk"]  # said once


def test_a_few_slices_far_apart_are_not_a_volume() -> None:
    """Four slices, three of them close and one 200 mm away: no continuous stretch of 60 mm."""
    series = generate_uid()
    sparse = [head_slices(head_slice(z, series=series)) for z in (0.0, 1.2, 2.4, 205.0)]
    assert assess([s for s in sparse if s is not None]) == []
    dense_with_a_gap = stack(64, 1.25, series=series) + [
        f for f in [head_slices(head_slice(300.0, series=series))] if f is not None
    ]
    [risk] = assess(dense_with_a_gap)
    assert risk.slices == 64 and risk.extent_mm == 78.75  # the far slice is not counted
