"""Copy the PS3.15/PS3.16 reference tables into the package, checking their digests.

Usage: python scripts/update_tables.py ../shared/reference

The package never reads the reference folder at run time; it carries the copies written here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

TARGETS = {
    "ps3.15_table_E.1-1_2026d_pymedphys.json": "e1_1.json",
    "ps3.15_table_E.1-1a_2026d_pymedphys.json": "e1_1a.json",
    "ps3.15_table_E.3.10-1_2026d_pymedphys.json": "e3_10_1.json",
    "ps3.16_cid_7050_2026d_pymedphys.json": "cid_7050.json",
}
DEST = Path(__file__).resolve().parent.parent / "medanon" / "dicom" / "tables"


def rows_digest(rows: list) -> str:
    """SHA-256 of rows as canonical JSON, as recorded in each table's ``content_sha256``."""
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def main(reference: Path) -> int:
    for source_name, dest_name in TARGETS.items():
        data = json.loads((reference / source_name).read_text(encoding="utf-8"))
        if rows_digest(data["rows"]) != data["content_sha256"]:
            print(f"{source_name}: rows do not match content_sha256", file=sys.stderr)
            return 1
        (DEST / dest_name).write_text(
            json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"{dest_name}: {len(data['rows'])} rows, edition {data['edition']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference")))
