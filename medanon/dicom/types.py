"""Attribute Types per IOD, used to resolve the compound action codes of PS3.15 Table E.1-1a."""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources

from pydicom.datadict import tag_for_keyword

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@cache
def _types_by_sop_class() -> dict[str, dict[int, str]]:
    text = resources.files("medanon.dicom").joinpath("attribute_types.toml").read_text("utf-8")
    data = tomllib.loads(text)
    modules: dict[str, dict[int, str]] = {}
    for name, entries in data["modules"].items():
        resolved: dict[int, str] = {}
        for keyword, attribute_type in entries.items():
            tag = tag_for_keyword(keyword)
            if tag is None:
                raise ValueError(f"attribute_types.toml: unknown keyword {keyword}")
            resolved[int(tag)] = str(attribute_type)
        modules[name] = resolved
    return {uid: modules[module] for uid, module in data["iods"].items()}


def types_for(sop_class_uid: str | None) -> dict[int, str]:
    """Top-level attribute Types of the IOD of ``sop_class_uid`` ({} when not known)."""
    if not sop_class_uid:
        return {}
    return _types_by_sop_class().get(str(sop_class_uid), {})
