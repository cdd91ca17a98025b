"""Human-readable descriptions of a policy: the profile summary, its full action table, and the
conformance statement PS3.15 E.1.3 asks a de-identifier to publish."""

from __future__ import annotations

from collections import Counter

from .dicom.markers import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from .dicom.plan import compile_plan
from .dicom.table import ACKNOWLEDGEMENT, EDITION, Action, confidentiality_rows
from .policy import Policy, describe_override

_ACTION_WORDS = {
    Action.X: "removed",
    Action.Z: "emptied (zero length)",
    Action.D: "replaced by a dummy value",
    Action.K: "kept",
    Action.C: "cleaned",
    Action.U: "replaced by a keyed UID",
}


def action_table(policy: Policy) -> list[tuple[str, str, str]]:
    """(tag, attribute name, action) for every row of Table E.1-1 under ``policy``."""
    plan = compile_plan(policy)
    rows = []
    for row in confidentiality_rows():
        tag = row.exact_tag
        action = plan.by_tag[tag] if tag is not None else None
        if tag is None:
            action = {
                "(60xx,3000)": plan.overlay_data,
                "(60xx,4000)": plan.overlay_comments,
                "(50xx,xxxx)": plan.curve,
            }.get(row.tag, plan.private)
        rows.append((row.tag, row.name, action.value))
    return rows


def summary(policy: Policy) -> str:
    lines = [
        f"profile      {policy.name}",
        f"source       {policy.source}",
        f"description  {policy.description}",
        "options      " + (", ".join(sorted(o.cli_name for o in policy.options)) or "none"),
        f"pseudonyms   PatientID {policy.patient_id_template!r}, "
        f"PatientName {policy.patient_name_template!r}",
        f"date shift   up to {policy.max_shift_days} days back, one keyed offset per patient",
        f"pixels       burned-in text {policy.pixel_text}"
        + (f", {len(policy.pixel_boxes)} fixed box(es)" if policy.pixel_boxes else "")
        + (f", {len(policy.pixel_rules)} region rule(s)" if policy.pixel_rules else ""),
        "faces        "
        + (f"covered in photographs ({policy.face_search} search)" if policy.faces else "kept"),
        "verdict      "
        + (
            f"{policy.verdict_channel} ({policy.verdict_jurisdiction})"
            if policy.verdict_channel
            else "none"
        ),
    ]
    if policy.overrides:
        lines.append("overrides")
        for tag, action in sorted(policy.overrides.items()):
            lines.append(f"  {describe_override(tag)} -> {action.value}")
    if policy.private_overrides:
        lines.append("private overrides")
        for key, action in sorted(policy.private_overrides.items(), key=lambda kv: repr(kv[0])):
            lines.append(
                f"  ({key.group:04X},xx{key.element_low:02X}) {key.creator!r} -> {action.value}"
            )
    counts = Counter(action for _, _, action in action_table(policy))
    lines.append(
        f"Table E.1-1 ({EDITION}) under this profile: "
        + ", ".join(f"{code} {n}" for code, n in sorted(counts.items()))
    )
    return "\n".join(lines)


def conformance_statement(policy: Policy) -> str:
    """PS3.15 E.1.3: what is removed, what gets dummies and how, UID scope, options."""
    counts = Counter(action for _, _, action in action_table(policy))
    options = sorted(policy.options, key=lambda o: o.code_value)
    lines = [
        f"De-identification conformance statement (PS3.15 E.1.3): medanon profile '{policy.name}'",
        "",
        f"Implementation: medanon, Implementation Class UID {IMPLEMENTATION_CLASS_UID}, "
        f"version name {IMPLEMENTATION_VERSION_NAME}.",
        f"Rules: {ACKNOWLEDGEMENT}, Table E.1-1 (657 attributes), Table E.3.10-1, CID 7050.",
        "",
        "Profile and options (CID 7050):",
        "  113100 Basic Application Confidentiality Profile",
        *[f"  {o.code_value} {o.cli_name}" for o in options],
        "",
        "Attributes of Table E.1-1, by action under this profile:",
        *[
            f"  {code:6} {counts[code]:4}  "
            + _ACTION_WORDS.get(Action(code), "resolved by IOD Type")
            for code in sorted(counts)
        ],
        "",
        "Compound actions (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) are resolved by the attribute's Type in",
        "the IOD of the SOP Class for the IODs medanon knows (top level); elsewhere, and inside",
        "sequences, the last choice of the code is taken (Z for X/Z; D for Z/D, X/D, X/Z/D; U for",
        "X/Z/U*), so a Type 1 attribute is never emptied and no identifying value is kept.",
        "",
        "Dummy values (D): a keyed token of the original value ('X' + 8 base32 characters;",
        "person names 'ANON^' + 8), so equal originals stay equal; DA 19000101, TM 000000,",
        "numbers 0. Patient ID and Name use the profile's pseudonym templates, keyed by the",
        "patient. Without the key the originals cannot be recovered by dictionary attack.",
        "",
        "UIDs (U): replaced by 2.25.<128-bit integer> from HMAC-SHA256 of the original UID under",
        "the secret key. Scope of consistency: every instance processed with the same key, in any",
        "file, run, process or machine; references at any depth are remapped identically.",
        "UIDs defined by the standard (1.2.840.10008.*, registered UIDs) are never remapped;",
        "UI attributes not in Table E.1-1 are remapped unless they name a class or a transfer",
        "syntax.",
        "",
    ]
    if policy.overrides or policy.private_overrides:
        lines.append("Profile overrides of Table E.1-1 (they replace the table's action):")
        lines += [
            f"  {describe_override(tag)} -> {action.value}"
            for tag, action in sorted(policy.overrides.items())
        ]
        lines += [
            f"  ({key.group:04X},xx{key.element_low:02X}) {key.creator!r} -> {action.value}"
            for key, action in sorted(policy.private_overrides.items(), key=lambda kv: repr(kv[0]))
        ]
        lines.append("")
    if any(o.value == "retain_longitudinal_modified_dates" for o in options):
        lines += [
            "Dates: DA and DT values shifted by one keyed offset per patient (1 to "
            f"{policy.max_shift_days} days back); times kept; (0028,0303) MODIFIED.",
        ]
    elif any(o.value == "retain_longitudinal_full_dates" for o in options):
        lines += ["Dates: kept unmodified; (0028,0303) UNMODIFIED."]
    else:
        lines += ["Dates: removed or emptied per Table E.1-1; (0028,0303) REMOVED."]
    lines += [
        "",
        "Private attributes: removed"
        + (
            ", except the Safe Private Attributes of Table E.3.10-1 (matched by group, element and"
            " private creator)"
            if any(o.value == "retain_safe_private" for o in options)
            else ""
        )
        + (" and the profile's private overrides" if policy.private_overrides else "")
        + ". Unused private creators are removed.",
        "Overlays (60xx) and curves (50xx): removed whole (cleaning them needs the pixel stage).",
        "Attributes not in Table E.1-1: kept when the data dictionary knows them, removed when it",
        "does not; dates (DA, DT) not in the table follow the listed dates.",
        "Free text kept by any rule is searched for the patient's names, IDs, birth date,",
        "accession number, address, phone numbers and instance UIDs, which are removed.",
        "Clean Descriptors also removes dates, phone numbers, e-mails, URLs and long numbers.",
        "",
        "File Meta Information regenerated (no source AE title), preamble zeroed, group 0004",
        "removed, MediaStorageSOPInstanceUID equal to the new SOPInstanceUID. Marked with",
        "PatientIdentityRemoved YES, DeidentificationMethod and its code sequence.",
        "BurnedInAnnotation and RecognizableVisualFeatures are left to the pixel stages.",
        "Pixel Data is written byte for byte as it came when no pixel cleaning is asked.",
        "",
        "Every output is read back and searched for the input's identifying values before it",
        "is written under its final name; a hit fails the file.",
    ]
    return "\n".join(lines)
