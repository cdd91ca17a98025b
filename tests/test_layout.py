"""Output names: mirrored input names (warned when they hold the patient's identifiers) or a
pseudonymous PATIENT/STUDY/SERIES/INSTANCE layout that keeps nothing of the input's names."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner
from pydicom import dcmread

from medanon.cli import main
from tests.factories import PATIENT_ID, write_phi_file


def export(tmp_path: Path) -> tuple[Path, str]:
    """A PACS-style export whose folder is named after the patient: two instances of one
    series, one of another study, and a photograph."""
    root = tmp_path / "export"
    folder = root / "DUPONTEL_Marguerite" / "IRM_genou"
    first = write_phi_file(folder / "IM0001.dcm")
    write_phi_file(
        folder / "IM0002.dcm",
        study_uid=first.StudyInstanceUID,
        series_uid=first.SeriesInstanceUID,
    )
    write_phi_file(root / "DUPONTEL_Marguerite" / "other" / "IM0001.dcm")
    image = np.full((64, 64, 3), 90, np.uint8)
    cv2.imwrite(str(root / "DUPONTEL_Marguerite" / "plaie_J7.png"), image)
    return root, str(first.StudyInstanceUID)


def scrub(*args: str) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(main, ["scrub", *args])
    return result.exit_code, [], result.stderr


def records(report: Path) -> list[dict]:
    return [json.loads(line) for line in report.read_text().splitlines()]


def test_pseudonymous_layout_keeps_no_input_name(tmp_path: Path) -> None:
    root, study = export(tmp_path)
    out, report = tmp_path / "out", tmp_path / "run.jsonl"
    code, _, err = scrub(
        str(root), "-o", str(out), "--layout", "pseudonymous", "--report", str(report)
    )
    assert code == 0, err
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(written) == 4
    for path in written:
        assert (
            "DUPONTEL" not in str(path) and "IM0001" not in str(path) and "plaie" not in str(path)
        )
    dicoms = [p for p in written if p.suffix == ".dcm"]
    for path in dicoms:
        ds = dcmread(out / path)
        assert ds.PatientID == ""  # basic: emptied; the folder is a keyed patient token
        assert path.parts[1:] == (
            ds.StudyInstanceUID,
            ds.SeriesInstanceUID,
            f"{ds.SOPInstanceUID}.dcm",
        )
        assert PATIENT_ID not in str(path) and ds.StudyInstanceUID != study
    assert len({p.parts[2] for p in dicoms}) == 2  # the two series stay apart...
    assert len({p.parts[0] for p in dicoms}) == 1  # ...under one patient pseudonym
    [image] = [p for p in written if p.suffix == ".png"]
    assert image.parts[0] == "images"
    assert sorted(Path(r["output"]).relative_to(out) for r in records(report)) == written

    # Same inputs and key: the same names; outputs already there with the same bytes are fine.
    again = tmp_path / "again.jsonl"
    code, _, err = scrub(
        str(root), "-o", str(out), "--layout", "pseudonymous", "--report", str(again)
    )
    assert code == 0, err
    assert sorted(r["output"] for r in records(again)) == sorted(
        r["output"] for r in records(report)
    )


def test_pseudonymous_layout_needs_an_output_folder(tmp_path: Path) -> None:
    root, _ = export(tmp_path)
    code, _, err = scrub(str(root), "--layout", "pseudonymous")
    assert code == 2 and "needs an output folder" in err


def test_mirrored_names_holding_the_patient_name_are_warned(tmp_path: Path) -> None:
    root, _ = export(tmp_path)
    report = tmp_path / "run.jsonl"
    code, _, err = scrub(str(root), "-o", str(tmp_path / "out"), "--report", str(report))
    assert code == 0, err
    dicom = [r for r in records(report) if r["output"].endswith(".dcm")]
    for record in dicom:
        assert any("output path holds the patient's name" in w for w in record["warnings"])
        assert not any("DUPONTEL" in w for w in record["warnings"])


def test_watch_pseudonymous_layout(tmp_path: Path) -> None:
    import sqlite3

    from medanon.runners.watch import STAGING_DIR
    from medanon.runners.watch_journal import JOURNAL_NAME
    from medanon.watch_cmd import watch

    root, _ = export(tmp_path)
    out = tmp_path / "outbox"
    result = CliRunner().invoke(
        watch,
        [str(root), "-o", str(out), "--layout", "pseudonymous", "--once", "--stable", "0.1"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    written = sorted(
        p.relative_to(out)
        for p in out.rglob("*")
        if p.is_file() and STAGING_DIR not in p.parts and not p.name.startswith(".medanon-watch")
    )
    assert len(written) == 4 and not any("DUPONTEL" in str(p) for p in written)
    assert [p.parts[0] for p in written].count("images") == 1
    assert all(len(p.parts) == 4 for p in written if p.suffix == ".dcm")
    assert list((out / STAGING_DIR).iterdir()) == []
    with sqlite3.connect(out / JOURNAL_NAME) as db:
        outputs = sorted(Path(row[0]) for row in db.execute("SELECT output FROM files"))
    assert outputs == written


def test_watch_mirror_warns_about_identifying_input_paths(tmp_path: Path) -> None:
    from medanon.watch_cmd import watch

    root, _ = export(tmp_path)
    result = CliRunner().invoke(
        watch,
        [str(root), "-o", str(tmp_path / "outbox"), "--once", "--stable", "0.1"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    done = [json.loads(x) for x in result.stderr.splitlines() if x.startswith('{"ts"')]
    dicom = [r for r in done if r["event"] == "done" and r["path"].endswith(".dcm")]
    assert dicom and all(
        any("output path holds the patient's name" in n for n in r.get("notes", [])) for r in dicom
    )
    assert "DUPONTEL" not in "".join(str(r.get("notes")) for r in done)
