"""The Dask runner: same outputs and report as local processes, key kept out of task graphs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medanon import Keyring, load_policy
from medanon.runners.batch import plan_jobs, run_jobs
from tests.conftest import TEST_KEY
from tests.factories import PLANTED, write_phi_file

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    ) as local:
        yield local


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medanon.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=120,
    )


def test_jobs_1_jobs_2_and_dask_give_identical_outputs_and_reports(
    tmp_path: Path, cluster: distributed.LocalCluster
) -> None:
    for index in range(10):
        write_phi_file(tmp_path / "in" / f"p{index % 2}" / f"IM{index:03d}.dcm")
    (tmp_path / "in" / "p0" / "broken.dcm").write_bytes(b"not dicom")
    modes = {
        "j1": ["--jobs", "1"],
        "j2": ["--jobs", "2"],
        "dask": ["--dask", cluster.scheduler_address],
    }
    reports = {}
    for name, extra in modes.items():
        result = run(
            "scrub", "in", "-o", f"out-{name}", "--report", f"{name}.jsonl",
            "--mapping", f"map-{name}", "--profile", "research", *extra,
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr  # the broken file fails, the rest is done
        assert "FAILED in/p0/broken.dcm" in result.stderr
        reports[name] = (tmp_path / f"{name}.jsonl").read_text().replace(f"out-{name}/", "out/")
    assert reports["j1"] == reports["j2"] == reports["dask"]
    assert reports["j1"].count("\n") == 11
    reference = sorted(p for p in (tmp_path / "out-j1").rglob("*") if p.is_file())
    assert len(reference) == 10
    for name in ("j2", "dask"):
        others = sorted(p for p in (tmp_path / f"out-{name}").rglob("*") if p.is_file())
        assert [p.relative_to(tmp_path / f"out-{name}") for p in others] == [
            p.relative_to(tmp_path / "out-j1") for p in reference
        ]
        for mine, theirs in zip(reference, others, strict=True):
            assert mine.read_bytes() == theirs.read_bytes()
        for table in ("uid_mapping.csv", "patid_mapping.csv"):
            assert (tmp_path / f"map-{name}" / table).read_bytes() == (
                tmp_path / "map-j1" / table
            ).read_bytes()


def test_api_bounded_in_order_and_no_secret_in_task_graph(
    tmp_path: Path, cluster: distributed.LocalCluster
) -> None:
    from medanon.runners.dask import run_on_dask

    for index in range(12):
        write_phi_file(tmp_path / "in" / f"IM{index:03d}.dcm")
    jobs = plan_jobs([tmp_path / "in"], tmp_path / "out")
    policy, keyring = load_policy("basic"), Keyring(TEST_KEY)

    def scheduler_view(dask_scheduler: object) -> list[bytes]:
        """Each task's key and its full pickled spec, as the scheduler holds them."""
        import cloudpickle

        tasks = dask_scheduler.tasks  # type: ignore[attr-defined]
        return [
            str(key).encode() + b" " + cloudpickle.dumps(ts.run_spec) for key, ts in tasks.items()
        ]

    with distributed.Client(cluster.scheduler_address) as client:
        results = run_on_dask(client, jobs, policy, keyring, window=3, batch_size=1)
        first = next(results)
        seen = client.run_on_scheduler(scheduler_view)
        scrub_tasks = [line for line in seen if line.startswith(b"medanon-scrub-")]
        assert 1 <= len(scrub_tasks) <= 3  # bounded submission
        names = [j.source.name.encode() for j in jobs]
        assert any(n in line for line in scrub_tasks for n in names)  # specs were searched
        rest = list(results)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # releasing is asynchronous
            leftover = client.run_on_scheduler(scheduler_view)
            if not [line for line in leftover if line.startswith(b"medanon-scrub-")]:
                break
            time.sleep(0.05)
    assert [r.input for r in [first, *rest]] == [str(j.source) for j in jobs]
    assert all(r.status == "ok" for r in [first, *rest])
    text = b"\n".join(seen)
    for secret in (TEST_KEY, TEST_KEY.hex().encode()):
        assert secret not in text
    for value in PLANTED:
        assert value.encode() not in text
    assert not [line for line in leftover if line.startswith(b"medanon-scrub-")]  # released
    local = list(run_jobs(jobs, policy, keyring, dry_run=True))
    assert [r.record() | {"status": "ok"} for r in local] == [r.record() for r in [first, *rest]]


def test_pseudonymous_layout_names_agree_locally_and_on_dask(
    tmp_path: Path, cluster: distributed.LocalCluster
) -> None:
    for index in range(6):
        write_phi_file(tmp_path / "in" / "DUPONTEL" / f"IM{index:03d}.dcm")
    trees, reports = {}, {}
    for name, extra in {"j1": [], "dask": ["--dask", cluster.scheduler_address]}.items():
        result = run(
            "scrub", "in", "-o", f"out-{name}", "--layout", "pseudonymous",
            "--profile", "research", "--report", f"{name}.jsonl", *extra,
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        out = tmp_path / f"out-{name}"
        trees[name] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        reports[name] = (tmp_path / f"{name}.jsonl").read_text().replace(f"out-{name}/", "out/")
    assert trees["j1"] == trees["dask"] and len(trees["j1"]) == 6
    assert reports["j1"] == reports["dask"]
    assert not any("DUPONTEL" in path or "IM00" in path for path in trees["j1"])


def test_relative_preview_folder_is_the_clients(
    tmp_path: Path, cluster: distributed.LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers run in their own working directory: a relative --preview is made absolute on
    the client, so unredacted previews land where the user asked, not beside a worker."""
    from dataclasses import replace

    from medanon.runners.dask import run_on_dask

    write_phi_file(tmp_path / "in" / "IM000.dcm")
    monkeypatch.chdir(tmp_path)
    jobs = plan_jobs([Path("in")], Path("out"))
    policy = replace(load_policy("basic"), pixel_boxes=((0, 0, 4, 4),))
    with distributed.Client(cluster.scheduler_address) as client:
        results = list(
            run_on_dask(client, jobs, policy, Keyring(TEST_KEY), preview_dir=Path("prev"))
        )
    assert [r.status for r in results] == ["ok"]
    assert len(list((tmp_path / "prev").glob("*.png"))) == 1
