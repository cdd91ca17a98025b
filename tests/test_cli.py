"""The medanon command line, run as a user would (a real subprocess where it matters)."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from pydicom import dcmread

from medanon import __version__
from medanon.cli import main
from tests.factories import PATIENT_ID, PLANTED, write_phi_file


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medanon.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=120,
    )


def test_version_and_help() -> None:
    runner = CliRunner()
    assert __version__ in runner.invoke(main, ["--version"]).output
    help_text = runner.invoke(main, ["scrub", "--help"]).output
    for word in (
        "--profile",
        "--with",
        "--key-file",
        "--report",
        "--mapping",
        "--jobs",
        "--dry-run",
    ):
        assert word in help_text


def test_single_file_without_arguments_writes_beside_and_never_overwrites(tmp_path: Path) -> None:
    source = tmp_path / "radiograph.dcm"
    write_phi_file(source)
    before = source.read_bytes()
    first = run("scrub", source)
    assert first.returncode == 0, first.stderr
    output = tmp_path / "radiograph.anon.dcm"
    assert dcmread(output).PatientIdentityRemoved == "YES"
    assert source.read_bytes() == before
    written = output.read_bytes()
    second = run("scrub", source)
    assert second.returncode == 1
    assert "exists" in second.stderr and str(source) in second.stderr
    assert output.read_bytes() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["radiograph.anon.dcm", "radiograph.dcm"]


def test_folder_mirrors_paths_with_report_mapping_and_json(tmp_path: Path) -> None:
    inbox = tmp_path / "export"
    write_phi_file(inbox / "p1" / "IM0001")
    write_phi_file(inbox / "p1" / "sub" / "IM0002.dcm")
    write_phi_file(inbox / "p2" / "IM0001", patient_id="OTHER77")
    (inbox / ".hidden").write_text("ignored")
    out, report, mapping = tmp_path / "clean", tmp_path / "run.jsonl", tmp_path / "map"
    result = run(
        "scrub",
        inbox,
        "-o",
        out,
        "--profile",
        "research",
        "--report",
        report,
        "--mapping",
        mapping,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "p1/IM0001",
        "p1/sub/IM0002.dcm",
        "p2/IM0001",
    ]
    summary = json.loads(result.stdout)
    assert summary["ok"] == 3 and summary["failed"] == 0 and len(summary["key_fingerprint"]) == 16
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok"] * 3
    assert {"input", "output", "status", "actions", "warnings", "profile"} <= set(records[0])
    text = report.read_text() + result.stderr + result.stdout
    for value in PLANTED:
        assert value not in text
    for name in ("uid_mapping.csv", "patid_mapping.csv"):
        path = mapping / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        rows = list(csv.DictReader(path.open()))
        assert rows and list(rows[0]) == ["id_old", "id_new"]
    patients = {
        r["id_old"]: r["id_new"] for r in csv.DictReader((mapping / "patid_mapping.csv").open())
    }
    assert set(patients) == {PATIENT_ID, "OTHER77"}
    assert dcmread(out / "p2" / "IM0001").PatientID == patients["OTHER77"]


def test_jobs_give_identical_outputs(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for index in range(6):
        write_phi_file(inbox / f"f{index}.dcm")
    one, two = tmp_path / "one", tmp_path / "two"
    assert run("scrub", inbox, "-o", one, "-q").returncode == 0
    assert run("scrub", inbox, "-o", two, "-q", "--jobs", "2").returncode == 0
    for path in sorted(one.iterdir()):
        assert path.read_bytes() == (two / path.name).read_bytes()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_phi_file(inbox / "a.dcm")
    inside = run("scrub", inbox, "-o", inbox / "clean")
    assert inside.returncode == 2 and "inside" in inside.stderr
    assert run("scrub", tmp_path / "missing.dcm").returncode == 2
    assert run("scrub", inbox, "--profile", "no-such-profile").returncode == 2
    assert run("scrub", inbox, "--with", "retain-everything").returncode == 2
    assert not (inbox / "clean").exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "a.dcm"
    write_phi_file(source)
    result = run("scrub", source, "-o", tmp_path / "out", "--dry-run")
    assert result.returncode == 0 and "dry run" in result.stderr
    assert not (tmp_path / "out").exists()


def test_failed_file_is_named_and_batch_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_phi_file(inbox / "a.dcm")
    (inbox / "b.dcm").write_bytes(b"not dicom at all")
    write_phi_file(inbox / "c.dcm")
    result = run("scrub", inbox, "-o", tmp_path / "out")
    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failures) == 1 and "b.dcm" in failures[0] and "not a DICOM file" in failures[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.dcm", "c.dcm"]


def test_profile_commands() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["profile", "list"])
    assert listing.exit_code == 0 and "research" in listing.output and "social" in listing.output
    show = runner.invoke(main, ["profile", "show", "research"])
    assert "retain-longitudinal-modified-dates" in show.output and "PatientName" in show.output
    social = runner.invoke(main, ["profile", "show", "social"]).output
    assert "burned-in text all" in social and "covered in photographs (thorough search)" in social
    assert "verdict      social (fr)" in social
    statement = runner.invoke(main, ["profile", "show", "research", "--conformance"])
    assert statement.exit_code == 0
    for phrase in (
        "PS3.15 E.1.3",
        "113107",
        "2.25.",
        "Dates: DA and DT values shifted",
        "Table E.3.10-1",
    ):
        assert phrase in statement.output
    table = runner.invoke(main, ["profile", "show", "basic", "--table"])
    assert len(table.output.splitlines()) == 657
    assert runner.invoke(main, ["profile", "show", "nope"]).exit_code == 2


def test_unwritable_output_is_a_per_file_failure(tmp_path: Path) -> None:
    source = tmp_path / "a.dcm"
    write_phi_file(source)
    (tmp_path / "afile").write_text("x")
    result = run("scrub", source, "-o", tmp_path / "afile" / "sub" / "x.dcm")
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "Traceback" not in result.stderr


def test_scrub_dot_writes_a_sibling_folder(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    write_phi_file(folder / "a.dcm")
    result = run("scrub", ".", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "case.anon" / "a.dcm").is_file()


def test_output_with_trailing_slash_is_a_folder(tmp_path: Path) -> None:
    source = tmp_path / "x.dcm"
    write_phi_file(source)
    result = run("scrub", source, "-o", f"{tmp_path / 'out2'}/")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out2" / "x.dcm").is_file()
