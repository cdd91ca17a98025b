"""The policy options every command shares (profile, PS3.15 options, key), and building the
:class:`~medanon.policy.Policy` they ask for. ``scrub`` and ``watch`` take the same ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from .dicom.table import Option
from .errors import UsageError
from .policy import Policy, load_policy, parse_option

OPTION_NAMES = [option.cli_name for option in Option]
F = TypeVar("F", bound=Callable[..., Any])


layout_option = click.option(
    "--layout",
    type=click.Choice(["mirror", "pseudonymous"]),
    default="mirror",
    show_default=True,
    help="Output names: 'mirror' keeps the inputs' folders and file names; 'pseudonymous' "
    "writes OUT/PATIENT/STUDY/SERIES/INSTANCE.dcm from the de-identified values (and "
    "OUT/images/TOKEN.EXT for pictures), so no input name, often a patient's, is kept.",
)


def policy_options(command: F) -> F:
    """Add -p/--profile, --with, --without and --key-file to a click command."""
    decorators = [
        click.option(
            "-p",
            "--profile",
            default="basic",
            show_default=True,
            help="Built-in profile name (see 'medanon profile list') or a TOML profile file.",
        ),
        click.option(
            "--with",
            "with_options",
            multiple=True,
            type=click.Choice(OPTION_NAMES),
            metavar="OPTION",
            help="Switch a PS3.15 option on (repeatable).",
        ),
        click.option(
            "--without",
            "without_options",
            multiple=True,
            type=click.Choice(OPTION_NAMES),
            metavar="OPTION",
            help="Switch a PS3.15 option off (repeatable).",
        ),
        click.option(
            "--key-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Secret key file. Default: $MEDANON_KEY (the key itself), else the file "
            "$MEDANON_KEY_FILE, else $XDG_CONFIG_HOME/medanon/key (~/.config/medanon/key), "
            "created with owner-only permissions when missing.",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def build_policy(
    profile: str,
    with_options: tuple[str, ...] = (),
    without_options: tuple[str, ...] = (),
    pixel_text: str | None = None,
    regions: tuple[str, ...] = (),
    faces: bool | None = None,
    face_search: str | None = None,
) -> Policy:
    """The profile, with the command line's options and pixel settings on top."""
    policy = load_policy(profile)
    if with_options or without_options:
        policy = policy.with_options(
            [parse_option(o) for o in with_options], [parse_option(o) for o in without_options]
        )
    if pixel_text is not None or regions:
        boxes = tuple(parse_box(text) for text in regions)
        policy = replace(
            policy,
            pixel_text=pixel_text or policy.pixel_text,
            pixel_boxes=policy.pixel_boxes + boxes,
        )
    if faces is not None:
        policy = replace(policy, faces=faces)
    if face_search is not None:
        policy = replace(policy, face_search=face_search)
    return policy


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``X,Y,W,H`` in pixels."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.isdigit() for p in parts) or "0" in (parts[2], parts[3]):
        raise UsageError(f"--region wants X,Y,W,H in pixels (W and H above 0), got {text!r}")
    x, y, w, h = (int(p) for p in parts)
    return (x, y, w, h)
