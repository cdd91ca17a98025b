"""Profiles (TOML), options, and the keyed derivations."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from medanon import (
    Action,
    Keyring,
    Option,
    ProfileError,
    Scrubber,
    UsageError,
    load_keyring,
    load_policy,
)
from medanon.dicom.plan import compile_plan, effective_action
from medanon.dicom.table import confidentiality_rows
from medanon.policy import builtin_profiles


def test_builtin_profiles() -> None:
    assert {"basic", "research", "social"} <= set(builtin_profiles())
    assert load_policy("basic").options == frozenset()
    research = load_policy("research")
    assert Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in research.options
    assert research.overrides[0x00100020] is Action.D


def test_user_profile_extends_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        """
extends = "research"
description = "lab"
options = ["retain-device-identity"]
[actions]
StudyDescription = "K"
"(0018,1030)" = "X"
[private."SIEMENS CSA HEADER"]
"(0029,xx10)" = "K"
[pseudonyms]
patient_id = "LAB-{hash:6}"
""",
        encoding="utf-8",
    )
    policy = load_policy(str(path))
    assert policy.name == "lab"
    assert Option.RETAIN_DEVICE_IDENTITY in policy.options
    assert Option.CLEAN_DESCRIPTORS in policy.options  # inherited
    plan = compile_plan(policy)
    assert plan.by_tag[0x00081030] is Action.K
    assert plan.by_tag[0x00181030] is Action.X
    assert plan.private_action(0x0029, 0x10, "SIEMENS CSA HEADER") is Action.K
    assert plan.private_action(0x0029, 0x11, "SIEMENS CSA HEADER") is Action.X
    assert plan.private_action(0x0029, 0x10, None) is Action.X
    assert policy.patient_id_template == "LAB-{hash:6}"


@pytest.mark.parametrize(
    "body",
    [
        'options = ["retain-everything"]',
        '[actions]\nNotAKeyword = "X"',
        '[actions]\nPatientName = "Q"',
        'options = ["retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"]',
        '[actions]\n"(0009,0010)" = "K"',
        '[pseudonyms]\npatient_id = "fixed"',
        "colour = 1",
        'extends = "nonexistent-profile"',
    ],
)
def test_bad_profiles_are_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError):
        load_policy(str(path))


def test_option_rules() -> None:
    rows = {r.name: r for r in confidentiality_rows()}
    calibration = rows["Date of Last Detector Calibration"]  # X/D; device K; dates K/C
    assert effective_action(calibration, frozenset()) is Action.X_D
    device = frozenset({Option.RETAIN_DEVICE_IDENTITY})
    assert effective_action(calibration, device) is Action.X_D  # dates not retained
    both = device | {Option.RETAIN_LONGITUDINAL_FULL_DATES}
    assert effective_action(calibration, both) is Action.K
    shifted = device | {Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}
    assert effective_action(calibration, shifted) is Action.C
    service = rows["Requesting Service"]  # X; institution K; descriptors C
    assert (
        effective_action(
            service, frozenset({Option.RETAIN_INSTITUTION_IDENTITY, Option.CLEAN_DESCRIPTORS})
        )
        is Action.C
    )


def test_keyring_derivations() -> None:
    key = Keyring(b"0123456789abcdef-key")
    uid = key.uid("1.2.3.4")
    assert uid == key.uid("1.2.3.4") != key.uid("1.2.3.5")
    assert uid.startswith("2.25.") and len(uid) <= 64 and int(uid[5:]) < 2**128
    assert Keyring(b"0123456789abcdef-other").uid("1.2.3.4") != uid
    assert key.pseudonym("patient-id", "X1", "P-{hash:6}") == key.pseudonym(
        "patient-id", "X1", "P-{hash:6}"
    )
    assert len(key.pseudonym("patient-id", "X1", "{hash}")) == 12
    assert key.pseudonym("patient-id", "X1", "{hash}") != key.pseudonym(
        "patient-name", "X1", "{hash}"
    )
    offsets = {key.date_offset(f"patient{i}", 3650) for i in range(200)}
    assert all(-3650 <= o <= -1 for o in offsets) and len(offsets) > 150
    assert "0123456789abcdef" not in repr(key)
    assert len(key.fingerprint) == 16
    with pytest.raises(UsageError):
        Keyring(b"short")


def test_key_is_created_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDANON_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    keyring, source = load_keyring()
    path = tmp_path / "medanon" / "key"
    assert path.is_file() and str(path) in source
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, _ = load_keyring()
    assert again.fingerprint == keyring.fingerprint
    monkeypatch.setenv("MEDANON_KEY", "an environment key of some length")
    from_env, source = load_keyring()
    assert source == "$MEDANON_KEY" and from_env.fingerprint != keyring.fingerprint
    from_file, _ = load_keyring(path)
    assert from_file.fingerprint == keyring.fingerprint


@pytest.mark.parametrize(
    "template", ["{hash:x}", "P-{hash:99}", "none", "{hash:52}{hash:52}", "{oops}{hash}"]
)
def test_bad_pseudonym_templates(tmp_path: Path, template: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[pseudonyms]\npatient_id = "{template}"\n', encoding="utf-8")
    with pytest.raises(ProfileError):
        load_policy(str(path))


def test_profile_name_is_not_hidden_by_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "basic").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_policy("basic").source == "builtin:basic"


def test_extends_is_relative_to_the_profile_and_options_can_be_removed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "parent.toml").write_text('extends = "research"\n', encoding="utf-8")
    child = tmp_path / "sub" / "child.toml"
    child.write_text(
        'extends = "parent.toml"\nwithout_options = ["clean-graphics"]\n', encoding="utf-8"
    )
    policy = load_policy(str(child))
    assert Option.CLEAN_DESCRIPTORS in policy.options
    assert Option.CLEAN_GRAPHICS not in policy.options


@pytest.mark.parametrize("tag", ["(6000,3000)", "(5000,0010)", "(0004,1220)", "(0008,0000)"])
def test_unsupported_overrides_are_refused(tmp_path: Path, tag: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[actions]\n"{tag}" = "K"\n', encoding="utf-8")
    with pytest.raises(ProfileError):
        load_policy(str(path))


def test_functional_group_sequences_can_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[actions]\nSharedFunctionalGroupsSequence = "K"\n', encoding="utf-8")
    assert load_policy(str(path)).overrides[0x52009229] is Action.K


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    from medanon.errors import MedanonError

    key = tmp_path / "key"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    key.chmod(0o644)
    with pytest.raises(MedanonError, match="readable by others"):
        load_keyring(key)
    key.chmod(0o600)
    keyring, source = load_keyring(key)
    assert source == f"key file {key}" and keyring.fingerprint not in source


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('actions = "X"', "must be a table"),
        ('options = "clean-descriptors"', "must be a list"),
        ('[dates]\nmax_shift_days = "abc"', "wrong type"),
        ("[dates]\nmax_shift_day = 30", "unknown keys in [dates]"),
        ('[actions]\n"(0008,0080)" = "X"\nInstitutionName = "K"', "two rules"),
        (
            '[private."ACME"]\n"(0029,xx10)" = "K"\n[private."acme"]\n"(0029,xx10)" = "X"',
            "two rules",
        ),
    ],
)
def test_malformed_profiles_are_refused_with_a_reason(
    tmp_path: Path, body: str, message: str
) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(f'extends = "basic"\n{body}\n')
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_policy(str(profile))


def test_extends_loop_through_other_spellings_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.toml").write_text('extends = "../p/a.toml"\n')
    with pytest.raises(ProfileError, match="extends itself"):
        load_policy(str(folder / "a.toml"))


def test_non_ascii_pseudonym_templates_are_refused(tmp_path: Path) -> None:
    profile = tmp_path / "jp.toml"
    profile.write_text('extends = "research"\n[pseudonyms]\npatient_name = "患者^{hash:8}"\n')
    with pytest.raises(ProfileError, match="ASCII"):
        load_policy(str(profile))


def test_an_item_with_its_own_character_set_is_encoded_with_it(research: Scrubber) -> None:
    from io import BytesIO

    from pydicom import dcmread
    from pydicom.dataset import Dataset

    from medanon.io import encode_dataset
    from tests.factories import phi_dataset

    ds = phi_dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 192"
    item.ImageComments = "Ωmega sévère, Dupontel"
    ds.ReferencedImageSequence = [item]
    clean, _ = research.scrub_dataset(ds)
    data = encode_dataset(clean)
    again = dcmread(BytesIO(data))
    value = again.ReferencedImageSequence[0].ImageComments
    assert "Ωmega sévère" in value and "Dupontel" not in value
