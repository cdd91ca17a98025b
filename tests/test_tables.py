"""The package's PS3.15 tables against the reference transcription and the data dictionary."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest
from pydicom.datadict import dictionary_description, keyword_for_tag

from medanon.dicom.table import (
    Action,
    Option,
    cid_7050,
    confidentiality_rows,
    safe_private_rows,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
FILES = {
    "e1_1.json": "ps3.15_table_E.1-1_2026d_pymedphys.json",
    "e1_1a.json": "ps3.15_table_E.1-1a_2026d_pymedphys.json",
    "e3_10_1.json": "ps3.15_table_E.3.10-1_2026d_pymedphys.json",
    "cid_7050.json": "ps3.16_cid_7050_2026d_pymedphys.json",
}


def _package_table(name: str) -> dict:
    text = resources.files("medanon.dicom.tables").joinpath(name).read_text("utf-8")
    return json.loads(text)


@pytest.mark.parametrize("name", sorted(FILES))
def test_rows_match_recorded_digest(name: str) -> None:
    data = _package_table(name)
    canonical = json.dumps(data["rows"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == data["content_sha256"]
    assert data["edition"] == "2026d"
    assert "NEMA" in data["acknowledgement"]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no ../shared/reference beside the checkout")
@pytest.mark.parametrize("name", sorted(FILES))
def test_every_row_and_option_cell_matches_reference(name: str) -> None:
    ours = _package_table(name)["rows"]
    reference = json.loads((REFERENCE / FILES[name]).read_text("utf-8"))["rows"]
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference, strict=True):
        assert mine == theirs


def test_e1_1_parsed_completely() -> None:
    rows = confidentiality_rows()
    assert len(rows) == 657
    assert sum(r.retired for r in rows) == 102
    option_cells = sum(len(r.options) for r in rows)
    raw = _package_table("e1_1.json")["rows"]
    assert option_cells == sum(len(r["options"]) for r in raw)
    for row, source in zip(rows, raw, strict=True):
        assert row.basic.value == source["basic_profile"]
        assert {o.value: a.value for o, a in row.options.items()} == source["options"]
    assert {o for r in rows for o in r.options} == set(Option)
    assert {r.basic for r in rows} == {a for a in Action if a not in (Action.K, Action.C)}


def test_every_exact_tag_is_known_to_the_dictionary() -> None:
    """Tags are looked up by number; check each against pydicom's dictionary by name.

    pydicom's dictionary may predate 2026d: only attributes added to Table E.1-1 after 2024b may
    be missing from it (they are still handled, by tag, with the VR their file gives).
    """
    unknown = []
    for row in confidentiality_rows():
        tag = row.exact_tag
        if tag is None:
            assert row.tag in {"(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)"} or "odd" in row.tag
            continue
        if keyword_for_tag(tag) == "":
            unknown.append(row.tag)
            continue
        described = dictionary_description(tag).lower().replace("'", "’")
        assert described.split()[0][:4] == row.name.lower().replace("'", "’").split()[0][:4], row
    assert len(unknown) <= 36  # 2026d added 36 rows to the 2024b table
    older = REFERENCE / "ps3.15_table_E.1-1_2024b_innolitics.json"
    if older.is_file():
        tags_2024b = {r["tag"].upper() for r in json.loads(older.read_text("utf-8"))}
        assert [t for t in unknown if t.upper() in tags_2024b] == []


def test_safe_private_and_cid() -> None:
    safe = safe_private_rows()
    assert len(safe) == 479
    assert all(r.group % 2 == 1 for r in safe)
    codes = cid_7050()
    assert sorted(codes) == [str(v) for v in range(113100, 113113)]
    assert {o.code_value for o in Option} <= set(codes)
    for option in Option:
        meaning = codes[option.code_value].meaning.lower()
        assert all(word in meaning for word in option.value.split("_")[1:2])


@pytest.mark.parametrize(
    ("code", "attribute_type", "expected"),
    [
        ("X/Z", "3", "X"),
        ("X/Z", "2", "Z"),
        ("X/Z", None, "Z"),
        ("X/D", "3", "X"),
        ("X/D", "1", "D"),
        ("X/D", "2", "D"),
        ("X/D", None, "D"),
        ("Z/D", "2", "Z"),
        ("Z/D", "1", "D"),
        ("Z/D", None, "D"),
        ("X/Z/D", "3", "X"),
        ("X/Z/D", "2", "Z"),
        ("X/Z/D", "1", "D"),
        ("X/Z/D", None, "D"),
        ("X/Z/U*", "3", "X"),
        ("X/Z/U*", "2", "Z"),
        ("X/Z/U*", "1", "U"),
        ("X/Z/U*", None, "U"),
        ("D", "3", "D"),
    ],
)
def test_compound_resolution(code: str, attribute_type: str | None, expected: str) -> None:
    assert Action(code).resolve(attribute_type) is Action(expected)
