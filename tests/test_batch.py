"""Batches on local processes: bounded window, input order, identical results for any N, and
--resume after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pydicom import dcmread

from medanon import FileResult, Keyring, load_policy
from medanon.cli import _Totals
from medanon.io import TMP_MARK
from medanon.pipeline import summarise
from medanon.runners.batch import Job, plan_jobs, run_jobs
from medanon.runners.resume import journal_path
from tests.factories import PLANTED, write_phi_file

SLOW_CLI = """
import sys, time
from medanon.pipeline import Scrubber
original = Scrubber.scrub_file
def slow(self, *args, **kwargs):
    time.sleep(0.08)
    return original(self, *args, **kwargs)
Scrubber.scrub_file = slow
from medanon.cli import main
sys.argv = ["medanon", *sys.argv[1:]]
main()
"""


def make_inbox(folder: Path, count: int) -> Path:
    for index in range(count):
        write_phi_file(
            folder / f"p{index % 3}" / f"IM{index:04d}.dcm", patient_id=f"PID{index % 3}"
        )
    return folder


def test_window_is_bounded_and_order_kept(tmp_path: Path, keyring: Keyring) -> None:
    inbox = make_inbox(tmp_path / "in", 12)
    jobs = plan_jobs([inbox], tmp_path / "out")
    drawn: list[int] = []

    def lazily() -> Iterator[Job]:
        for index, job in enumerate(jobs):
            drawn.append(index)
            yield job

    results = run_jobs(lazily(), load_policy("basic"), keyring, processes=2, window=2, chunk=1)
    first = next(results)
    assert len(drawn) <= 3  # the window (2 tasks) plus the one submitted when the first returned
    rest = list(results)
    assert [r.input for r in [first, *rest]] == [str(j.source) for j in jobs]
    assert all(r.status == "ok" for r in [first, *rest])


def test_keep_maps_false_strips_identifiers(tmp_path: Path, keyring: Keyring) -> None:
    inbox = make_inbox(tmp_path / "in", 2)
    jobs = plan_jobs([inbox], tmp_path / "out")
    kept = list(run_jobs(jobs, load_policy("basic"), keyring, dry_run=True))
    stripped = list(run_jobs(jobs, load_policy("basic"), keyring, dry_run=True, keep_maps=False))
    assert kept[0].uid_map and not stripped[0].uid_map
    assert [r.record() for r in kept] == [r.record() for r in stripped]


def test_totals_match_summarise() -> None:
    results = [
        FileResult("a", "x", "ok", actions={"removed": 2}, warnings=["w"]),
        FileResult("b", None, "failed", error="bad"),
        FileResult("c", "y", "dry-run", actions={"removed": 1, "kept": 3}),
    ]
    totals = _Totals()
    for result in results:
        totals.add(result.record())
    assert totals.as_dict() == summarise(results)


def _cli(
    *args: str | Path, cwd: Path, script: str | None = None, quiet: bool = False
) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "medanon.cli"]
    pipe = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [*command, *map(str, args)],
        cwd=cwd,
        stdout=pipe,
        stderr=pipe,
        text=True,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def test_resume_after_sigkill(tmp_path: Path) -> None:
    make_inbox(tmp_path / "in", 30)
    args = ["scrub", "in", "-o", "out", "--report", "run.jsonl", "--mapping", "map"]
    killed = _cli(*args, cwd=tmp_path, script=SLOW_CLI, quiet=True)
    out, journal = tmp_path / "out", journal_path(tmp_path / "run.jsonl")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = journal.read_text().count("\n") if journal.exists() else 0
        if done >= 8:
            break
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert not (tmp_path / "run.jsonl").exists()
    recorded = {
        json.loads(line)["output"]
        for line in journal.read_text().splitlines()
        if line.endswith("}") and json.loads(line)["status"] == "ok"
    }
    assert 8 <= len(recorded) < 30
    inodes = {path: os.stat(tmp_path / path).st_ino for path in recorded}

    resumed = _cli(*args, "--resume", "--json", "-j", "2", cwd=tmp_path)
    stdout, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["ok"] == 30 and summary["files"] == 30 and summary["resumed"] >= 8
    for path, inode in inodes.items():  # finished files were not redone
        assert os.stat(tmp_path / path).st_ino == inode
    records = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    inputs = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "in").rglob("*.dcm"))
    assert [r["input"] for r in records] == inputs  # each input once, in input order
    assert all(r["status"] == "ok" and "_resume" not in r for r in records)
    outputs = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(outputs) == 30
    assert not [p for p in out.rglob("*") if TMP_MARK in p.name]
    assert not journal.exists()
    for path in outputs:
        assert dcmread(path).PatientIdentityRemoved == "YES"
        data = path.read_bytes()
        assert not any(value.encode() in data for value in PLANTED)
    uid_rows = (tmp_path / "map" / "uid_mapping.csv").read_text().splitlines()[1:]
    assert len(uid_rows) >= 30  # every file's instance UID, also those of the killed run

    # A reference run in one go gives the same outputs and the same report.
    fresh = _cli("scrub", "in", "-o", "ref", "--report", "ref.jsonl", cwd=tmp_path)
    assert fresh.wait(timeout=60) == 0
    for path in outputs:
        assert path.read_bytes() == (tmp_path / "ref" / path.relative_to(out)).read_bytes()
    reference = (tmp_path / "ref.jsonl").read_text().replace('"ref/', '"out/')
    assert (tmp_path / "run.jsonl").read_text() == reference


def test_resume_needs_report_and_skips_a_finished_batch(tmp_path: Path) -> None:
    make_inbox(tmp_path / "in", 3)
    no_report = _cli("scrub", "in", "-o", "out", "--resume", cwd=tmp_path)
    assert no_report.wait(timeout=60) == 2
    first = _cli("scrub", "in", "-o", "out", "--report", "r.jsonl", cwd=tmp_path)
    assert first.wait(timeout=60) == 0
    before = (tmp_path / "r.jsonl").read_text()
    again = _cli(
        "scrub", "in", "-o", "out", "--report", "r.jsonl", "--resume", "--json", cwd=tmp_path
    )
    stdout, _ = again.communicate(timeout=60)
    assert again.returncode == 0 and json.loads(stdout)["resumed"] == 3
    assert (tmp_path / "r.jsonl").read_text() == before


def test_resume_digest_covers_pixel_face_and_verdict_settings() -> None:
    """A batch resumed with --pixels all (or faces, boxes, a verdict) must not skip the files
    done without it: the settings digest changes."""
    from dataclasses import replace

    from medanon import Keyring, load_policy
    from medanon.runners.resume import run_digest

    keyring = Keyring(b"k" * 32)
    base = load_policy("basic")
    digest = run_digest(base, keyring, dry_run=False)
    assert digest == run_digest(load_policy("basic"), keyring, dry_run=False)
    for changed in (
        replace(base, pixel_text="all"),
        replace(base, faces=True),
        replace(base, pixel_boxes=((0, 0, 10, 10),)),
        replace(base, verdict_channel="social"),
    ):
        assert run_digest(changed, keyring, dry_run=False) != digest
    assert run_digest(base, keyring, dry_run=False, layout="pseudonymous") != digest


def test_phi_side_outputs_stay_out_of_the_shared_folder(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medanon.cli import main
    from tests.factories import write_phi_file

    write_phi_file(tmp_path / "in" / "a.dcm")
    share = tmp_path / "share"
    for option, target in (("--mapping", "keys"), ("--preview", "preview"), ("--html", "p.html")):
        result = CliRunner().invoke(
            main, ["scrub", str(tmp_path / "in"), "-o", str(share), option, str(share / target)]
        )
        assert result.exit_code == 2 and "holds PHI" in result.stderr, option
    report = CliRunner().invoke(
        main, ["scrub", str(tmp_path / "in"), "-o", str(share), "--report", str(share / "r.jsonl")]
    )
    assert report.exit_code == 0  # the report holds no PHI: allowed beside the outputs
