"""``medanon watch``: events and polling, stability, quarantine, retries, journal, restarts.

In-process tests run :class:`Watcher` in a thread (real watchdog observer on tmp folders) or the
click command through CliRunner; the crash tests run the command in real subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydicom import dcmread

from medanon import Keyring, Scrubber, load_policy
from medanon.pipeline import FileResult
from medanon.runners import watch as watch_module
from medanon.runners.watch import STAGING_DIR, WatchConfig, Watcher
from medanon.runners.watch_files import classify, sha256_file, wanted
from medanon.runners.watch_journal import JOURNAL_NAME, Journal
from medanon.watch_cmd import watch

from .conftest import TEST_KEY
from .factories import PLANTED, write_phi_file

REPO = Path(__file__).resolve().parents[1]


# -- helpers -----------------------------------------------------------------------------
def small(path: Path, **kwargs: Any) -> Path:
    write_phi_file(path, **({"rows": 8, "columns": 8} | kwargs))
    return path


def expected_output(source: Path, tmp: Path) -> bytes:
    """What ``scrub`` writes for ``source`` (outputs are deterministic for a key)."""
    target = tmp / f"expected-{os.getpid()}-{time.monotonic_ns()}.dcm"
    result = Scrubber(load_policy("basic"), Keyring(TEST_KEY)).scrub_file(source, target)
    assert result.status == "ok", result.error
    data = target.read_bytes()
    target.unlink()
    return data


def assert_clean(path: Path) -> None:
    data = path.read_bytes()
    for value in PLANTED:
        assert value.encode() not in data, value
    assert dcmread(path).PatientIdentityRemoved == "YES"


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def visible_files(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            (Path(root) / f).relative_to(folder).as_posix() for f in files if not f.startswith(".")
        ]
    return sorted(found)


def journal_rows(state_dir: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(state_dir / JOURNAL_NAME)
    db.row_factory = sqlite3.Row
    rows = {r["path"]: dict(r) for r in db.execute("SELECT * FROM files")}
    db.close()
    return rows


class Running:
    """A Watcher in a background thread, with its log records in a list."""

    def __init__(self, tmp: Path, **options: Any) -> None:
        self.inbox, self.outbox = tmp / "inbox", tmp / "outbox"
        self.inbox.mkdir(exist_ok=True)
        self.records: list[dict[str, Any]] = []
        options.setdefault("stable", 0.3)
        options.setdefault("settle", 2.0)
        options.setdefault("poll", 0.0)
        options.setdefault("status_every", 0.5)
        self.config = WatchConfig(
            inbox=self.inbox,
            outbox=self.outbox,
            quarantine=tmp / "quarantine",
            state=self.outbox,
            **options,
        )
        self.watcher = Watcher(
            self.config,
            load_policy("basic"),
            Keyring(TEST_KEY),
            lambda event, **fields: self.records.append({"event": event, **fields}),
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.code: int | None = None

    def _run(self) -> None:
        self.code = self.watcher.run()

    def __enter__(self) -> Running:
        self.thread.start()
        wait_for(lambda: any(r["event"] == "start" for r in self.records))
        return self

    def __exit__(self, *exc: object) -> None:
        self.watcher.request_stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()

    def events(self, name: str, path: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.records if r["event"] == name and (path is None or r["path"] == path)
        ]


def run_once(inbox: Path, outbox: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(
        watch,
        [str(inbox), "-o", str(outbox), "--once", "--stable", "0.1", "--settle", "0.2", *extra],
        catch_exceptions=False,
    )
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return result.exit_code, records


# -- unit level --------------------------------------------------------------------------
def test_names_and_error_categories() -> None:
    for name in ("a.dcm", "IM0001", "scan.DCM", "x.part.dcm"):
        assert wanted(name)
    for name in (".hidden", "a.dcm.part", "A.TMP", "x.crdownload", ".a.dcm.medanon-tmp-12"):
        assert not wanted(name)
    assert classify("cannot write /o/x: No space left on device") == ("disk-full", True)
    assert classify("cannot open: Permission denied") == ("locked", True)
    assert classify("cannot read: Input/output error") == ("io", True)
    assert classify("truncated file: Pixel Data is shorter than its image needs")[0] == "incomplete"
    assert classify("not a DICOM file (no DICM prefix and no recognisable dataset)") == (
        "corrupt",
        False,
    )
    assert classify("DICOMDIR media directory: not de-identified; build a new one from the")[1] is (
        False
    )
    assert classify("output failed verification: PatientName still present")[0] == "verification"


# -- events and polling ------------------------------------------------------------------
def test_events_drop_files_and_folders(tmp_path: Path) -> None:
    with Running(tmp_path) as run:  # poll=0: after the first scan only events find files
        assert run.watcher._observer is not None
        small(run.inbox / "a.dcm")
        staged = tmp_path / "elsewhere" / "series"
        small(staged / "b.dcm")
        small(staged / "c")
        os.rename(staged.parent, run.inbox / "study")  # a whole folder moved in: one event
        wait_for(lambda: len(visible_files(run.outbox)) == 3)
        wait_for(lambda: run.watcher._idle())
    assert visible_files(run.outbox) == ["a.dcm", "study/series/b.dcm", "study/series/c"]
    for rel in visible_files(run.outbox):
        assert_clean(run.outbox / rel)
        assert (run.outbox / rel).read_bytes() == expected_output(run.inbox / rel, tmp_path)
    assert sorted(r["path"] for r in run.events("done")) == visible_files(run.outbox)
    assert all(r["latency_ms"] >= 300 for r in run.events("done"))  # the stability wait
    assert visible_files(run.inbox) == visible_files(run.outbox)  # originals stay
    rows = journal_rows(run.outbox)
    assert {r["state"] for r in rows.values()} == {"done"}
    for rel, row in rows.items():
        assert row["sha256"] == sha256_file(run.inbox / rel)
        assert row["out_sha256"] == sha256_file(run.outbox / rel)
    assert run.events("status") and run.code == 0


def test_polling_only(tmp_path: Path) -> None:
    with Running(tmp_path, events=False, poll=0.2) as run:
        assert run.watcher._observer is None
        small(run.inbox / "x" / "one.dcm")
        small(run.inbox / "two.dcm")
        wait_for(lambda: len(visible_files(run.outbox)) == 2)
    assert visible_files(run.outbox) == ["two.dcm", "x/one.dcm"]
    assert_clean(run.outbox / "x" / "one.dcm")


def test_slowly_written_file_is_processed_once_complete(tmp_path: Path) -> None:
    source = small(tmp_path / "src" / "slow.dcm", rows=64, columns=64)
    data = source.read_bytes()
    with Running(tmp_path, stable=0.8) as run:
        with open(run.inbox / "slow.dcm", "wb") as handle:
            for start in range(0, len(data), len(data) // 8 + 1):
                handle.write(data[start : start + len(data) // 8 + 1])
                handle.flush()
                time.sleep(0.15)
        wait_for(lambda: len(run.events("done")) == 1)
        time.sleep(0.8)  # no second processing
    assert len(run.events("done", "slow.dcm")) == 1
    assert not run.events("not-ready") and not run.events("quarantined")
    assert (run.outbox / "slow.dcm").read_bytes() == expected_output(source, tmp_path)


def test_file_that_does_not_parse_yet_waits(tmp_path: Path) -> None:
    """Writer pauses longer than --stable: the cut file is not quarantined, the whole one is
    processed when it is complete."""
    source = small(tmp_path / "src" / "cut.dcm", rows=64, columns=64)
    data = source.read_bytes()
    with Running(tmp_path, stable=0.2, settle=5.0) as run:
        target = run.inbox / "cut.dcm"
        target.write_bytes(data[: len(data) // 2])
        wait_for(lambda: bool(run.events("not-ready", "cut.dcm")))
        with open(target, "ab") as handle:
            handle.write(data[len(data) // 2 :])
        wait_for(lambda: bool(run.events("done", "cut.dcm")))
    assert run.events("not-ready")[0]["category"] == "incomplete"
    assert not run.events("quarantined") and not (tmp_path / "quarantine" / "cut.dcm").exists()
    assert (run.outbox / "cut.dcm").read_bytes() == expected_output(source, tmp_path)


# -- failures ----------------------------------------------------------------------------
def test_corrupt_file_among_good_ones_is_quarantined(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        small(inbox / f"good{i}.dcm")
    (inbox / "DUPONTEL_notes.dcm").write_bytes(b"this is not DICOM " * 20)
    cut = small(tmp_path / "cut.dcm").read_bytes()
    (inbox / "sub").mkdir()
    (inbox / "sub" / "truncated.dcm").write_bytes(cut[: len(cut) - 40])
    for ignored in ("copying.dcm.part", "x.tmp", ".hidden.dcm", ".a.dcm.medanon-tmp-9"):
        (inbox / ignored).write_bytes(b"ignore me")
    code, records = run_once(inbox, outbox)
    assert code == 1
    assert visible_files(outbox) == ["good0.dcm", "good1.dcm", "good2.dcm"]
    quarantine = tmp_path / "out.quarantine"
    assert sorted(os.listdir(quarantine)) == [
        "DUPONTEL_notes.dcm",
        "DUPONTEL_notes.dcm.reason.json",
        "sub",
    ]
    assert (quarantine / "DUPONTEL_notes.dcm").read_bytes() == (
        inbox / "DUPONTEL_notes.dcm"
    ).read_bytes()
    assert (quarantine / "DUPONTEL_notes.dcm").stat().st_mode & 0o077 == 0  # an original: PHI
    reason_text = (quarantine / "DUPONTEL_notes.dcm.reason.json").read_text()
    reason = json.loads(reason_text)
    assert reason["category"] == "corrupt" and reason["error"].startswith("not a DICOM file")
    assert "DUPONTEL" not in reason_text and str(tmp_path) not in reason_text
    truncated = json.loads((quarantine / "sub" / "truncated.dcm.reason.json").read_text())
    assert truncated["category"] == "incomplete"
    assert (inbox / "DUPONTEL_notes.dcm").exists()  # the original stays
    rows = journal_rows(outbox)
    assert set(rows) == {
        "good0.dcm",
        "good1.dcm",
        "good2.dcm",
        "DUPONTEL_notes.dcm",
        "sub/truncated.dcm",
    }
    assert rows["DUPONTEL_notes.dcm"]["state"] == "failed"
    assert rows["DUPONTEL_notes.dcm"]["error_category"] == "corrupt"
    assert {r["event"] for r in records} >= {"start", "done", "quarantined", "status", "stop"}
    # A second run does nothing: quarantined files are not retried while unchanged.
    code, records = run_once(inbox, outbox)
    assert code == 0 and not [r for r in records if r["event"] in ("done", "quarantined")]


def test_transient_errors_are_retried_never_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = {"left": 2}

    class Flaky(Scrubber):
        def scrub_file(self, source: Path, destination: Path | None, **kw: Any) -> FileResult:
            if failures["left"] > 0:
                failures["left"] -= 1
                return FileResult(
                    str(source), None, "failed", f"cannot write {destination}: No space left"
                )
            return super().scrub_file(source, destination, **kw)

    monkeypatch.setattr(watch_module, "Scrubber", Flaky)
    with Running(tmp_path, retry_base=0.1) as run:
        small(run.inbox / "a.dcm")
        wait_for(lambda: bool(run.events("done", "a.dcm")))
    retries = run.events("retry", "a.dcm")
    assert [r["category"] for r in retries] == ["disk-full", "disk-full"]
    assert [r["delay_s"] for r in retries] == [0.1, 0.2]
    assert str(tmp_path) not in json.dumps(retries)  # the staging path is not logged
    assert not run.events("quarantined") and not (tmp_path / "quarantine" / "a.dcm").exists()
    assert run.events("done", "a.dcm")[0]["attempt"] == 3
    assert_clean(run.outbox / "a.dcm")


# -- journal, changes, restarts ----------------------------------------------------------
def test_changed_file_is_processed_again_touched_one_is_not(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    small(inbox / "a.dcm")
    small(inbox / "b.dcm")
    assert run_once(inbox, outbox)[0] == 0
    first_b = (outbox / "b.dcm").read_bytes()
    small(inbox / "a.dcm")  # new content (new UIDs) under the same name
    os.utime(inbox / "b.dcm", ns=(1, 1))  # same content, other mtime
    code, records = run_once(inbox, outbox)
    assert code == 0
    assert [r["path"] for r in records if r["event"] == "done"] == ["a.dcm"]
    assert [r["path"] for r in records if r["event"] == "unchanged"] == ["b.dcm"]
    assert (outbox / "a.dcm").read_bytes() == expected_output(inbox / "a.dcm", tmp_path)
    assert (outbox / "b.dcm").read_bytes() == first_b
    rows = journal_rows(outbox)
    assert rows["a.dcm"]["sha256"] == sha256_file(inbox / "a.dcm")
    assert rows["b.dcm"]["mtime_ns"] == 1


def test_move_done_and_refused_layouts(tmp_path: Path) -> None:
    inbox, outbox, done = tmp_path / "in", tmp_path / "out", tmp_path / "done"
    small(inbox / "s" / "a.dcm")
    small(inbox / "b.dcm")
    code, _ = run_once(inbox, outbox, "--move-done", str(done))
    assert code == 0
    assert visible_files(inbox) == []
    assert visible_files(done) == ["b.dcm", "s/a.dcm"] == visible_files(outbox)
    assert journal_rows(outbox)["s/a.dcm"]["moved_to"] == "s/a.dcm"
    for bad in (["-o", str(inbox / "out")], ["-o", str(outbox), "--quarantine", str(outbox / "q")]):
        result = CliRunner().invoke(watch, [str(inbox), *bad, "--once"])
        assert result.exit_code == 2, result.output


def test_replay_of_every_crash_window(tmp_path: Path) -> None:
    """Rows left as a killed process leaves them: each ends done exactly once."""
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    names = ["claimed.dcm", "staged.dcm", "renamed.dcm"]
    for name in names:
        small(inbox / name)
    staging = outbox / STAGING_DIR
    staging.mkdir(parents=True)
    journal = Journal(outbox / JOURNAL_NAME)
    for name in names:
        stat = (inbox / name).stat()
        rowid, _ = journal.claim(name, stat.st_size, stat.st_mtime_ns, "basic", "x")
        if name == "claimed.dcm":
            (staging / f".{rowid}.1.medanon-tmp-1").write_bytes(b"partial")  # died writing
            continue
        data = expected_output(inbox / name, tmp_path)
        target = staging / f"{rowid}.1" if name == "staged.dcm" else outbox / name
        target.write_bytes(data)
        journal.mark_written(
            name, sha256_file(inbox / name), name, sha256_file(target), str(staging / f"{rowid}.1")
        )
    journal.close()
    code, records = run_once(inbox, outbox)
    assert code == 0
    done = sorted(r["path"] for r in records if r["event"] == "done")
    assert done == sorted(names)
    assert sorted(r["path"] for r in records if r.get("recovered")) == ["renamed.dcm", "staged.dcm"]
    assert visible_files(outbox) == sorted(names)
    assert os.listdir(staging) == []
    for name in names:
        assert (outbox / name).read_bytes() == expected_output(inbox / name, tmp_path)
    assert {r["state"] for r in journal_rows(outbox).values()} == {"done"}


# -- real subprocesses -------------------------------------------------------------------
def start_watcher(inbox: Path, outbox: Path, log: Path, *extra: str) -> subprocess.Popen[str]:
    """The command in a subprocess; its log goes to a file (not a pipe that orphaned workers of a
    killed watcher could hold open)."""
    env = dict(os.environ, MEDANON_KEY=TEST_KEY.decode(), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from medanon.watch_cmd import watch; watch()",
            str(inbox),
            "-o",
            str(outbox),
            "--stable",
            "0.3",
            "--settle",
            "1",
            "--poll",
            "1",
            "--status-every",
            "1",
            *extra,
        ],
        stderr=log.open("a"),
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def log_records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_sigkill_midway_then_restart_every_output_once(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    process = start_watcher(inbox, outbox, first_log, "--workers", "2")
    try:
        names = [f"p{i % 7}/s{i % 3}/im{i:04d}.dcm" for i in range(300)]
        for name in names:  # dropped while the watcher runs
            small(inbox / name)
        wait_for(lambda: len(visible_files(outbox)) >= 60, timeout=40)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
    assert process.returncode == -signal.SIGKILL
    assert len(visible_files(outbox)) < len(names)  # killed mid-way

    second = start_watcher(inbox, outbox, second_log, "--once")
    assert second.wait(timeout=60) == 0, second_log.read_text()[-2000:]

    assert visible_files(outbox) == sorted(names)
    for name in names:
        assert (outbox / name).read_bytes()[128:132] == b"DICM"
    for name in names[::25]:
        assert_clean(outbox / name)
        assert (outbox / name).read_bytes() == expected_output(inbox / name, tmp_path)
    assert not [p for p in outbox.rglob("*") if ".medanon-tmp-" in p.name]
    assert os.listdir(outbox / STAGING_DIR) == []
    rows = journal_rows(outbox)
    assert set(rows) == set(names)
    assert {r["state"] for r in rows.values()} == {"done"}
    for name in names[::10]:
        assert rows[name]["out_sha256"] == sha256_file(outbox / name)
        assert rows[name]["sha256"] == sha256_file(inbox / name)
    # Each file reported done once over both runs (at most one lost in the kill window).
    done = [
        r["path"]
        for r in log_records(first_log.read_text()) + log_records(second_log.read_text())
        if r["event"] == "done"
    ]
    assert len(done) == len(set(done))
    assert len(set(names) - set(done)) <= 1


def test_sigterm_stops_gracefully(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    log_path = tmp_path / "watch.log"
    process = start_watcher(inbox, outbox, log_path)
    try:
        for i in range(40):
            small(inbox / f"im{i}.dcm")
        wait_for(lambda: len(visible_files(outbox)) >= 5, timeout=30)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    records = log_records(log_path.read_text())
    events = [r["event"] for r in records]
    assert "stopping" in events and events[-1] == "stop"
    rows = journal_rows(outbox)
    assert "processing" not in {r["state"] for r in rows.values()}
    done = {p for p, r in rows.items() if r["state"] == "done"}
    assert set(visible_files(outbox)) == done


def test_second_signal_abandons_and_restart_finishes(tmp_path: Path) -> None:
    """Two signals in a row: the first asks for a graceful stop, the second abandons the files
    in progress at once (status 128+15); the next start redoes them. The signal handler takes
    no lock, so it cannot deadlock on a log line being written when it arrives."""
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    names = [f"im{i:02d}.dcm" for i in range(12)]
    for name in names:  # 512x512 under the social profile: OCR keeps each file busy a while
        small(inbox / name, rows=512, columns=512)
    first_log = tmp_path / "first.log"
    process = start_watcher(inbox, outbox, first_log, "--profile", "social", "--workers", "2")
    try:
        wait_for(lambda: len(visible_files(outbox)) >= 1, timeout=60)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    events = [r["event"] for r in log_records(first_log.read_text())]
    assert process.returncode == 128 + signal.SIGTERM, events[-5:]
    assert "abandon" in events and "stop" not in events
    second_log = tmp_path / "second.log"
    second = start_watcher(inbox, outbox, second_log, "--profile", "social", "--once")
    assert second.wait(timeout=120) == 0, second_log.read_text()[-2000:]
    assert visible_files(outbox) == names
    assert {r["state"] for r in journal_rows(outbox).values()} == {"done"}


def test_move_done_finishes_a_move_cut_between_link_and_unlink(tmp_path: Path) -> None:
    """A kill after os.link and before unlink leaves the original twice (same inode): the next
    move only removes the inbox name, and no '.1' duplicate appears."""
    from medanon.runners.watch_files import move_free

    source = tmp_path / "in" / "IM0001"
    target = tmp_path / "done" / "IM0001"
    source.parent.mkdir()
    target.parent.mkdir()
    source.write_bytes(b"x")
    os.link(source, target)
    assert move_free(source, target) == target
    assert not source.exists() and sorted(os.listdir(target.parent)) == ["IM0001"]
