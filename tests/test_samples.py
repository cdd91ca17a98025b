"""The shipped synthetic samples go through every profile cleanly (what `make demo` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medanon.cli import main
from medanon.text import is_available

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


@pytest.mark.parametrize("profile", ["basic", "research", "social"])
def test_every_sample_is_de_identified(tmp_path: Path, profile: str) -> None:
    if profile == "social" and not is_available():
        pytest.skip("Tesseract is not installed")
    report = tmp_path / "report.jsonl"
    args = ["scrub", str(SAMPLES), "-o", str(tmp_path / "out"), "--profile", profile]
    result = CliRunner().invoke(main, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(records) == len([p for p in SAMPLES.rglob("*") if p.is_file()])
    assert {r["status"] for r in records} == {"ok"}
    if profile == "social":
        assert all(r["verdict"]["verdict"] != "unknown" for r in records)
