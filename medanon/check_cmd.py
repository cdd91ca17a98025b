"""``medanon check PATH...``: is each image fit for sharing? (sharing verdict)

Exit status: 0 when every image is acceptable, 1 when any has a warning, 2 when any is blocked,
3 for usage errors (bad option, missing path, nothing to check), 4 when any input could not be
read (it takes precedence over 0-2: an unread image was not checked). Click's own usage errors
(status 2 elsewhere in medanon) are turned into 3 here, so that 2 always means "blocked".

Register it with ``main.add_command(check)`` after ``from .check_cmd import check``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .verdict import LoadError, assess_file
from .verdict.loading import is_candidate
from .verdict.messages import LANGS, format_error, format_verdict
from .verdict.report_html import Entry, render_html
from .verdict.rules import load_rules

__all__ = ["EXIT_UNREADABLE", "EXIT_USAGE", "check"]

EXIT_USAGE = 3
EXIT_UNREADABLE = 4


class _CheckCommand(click.Command):
    """Click usage errors exit with 3 for this command (2 means "blocked")."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise


def _usage(message: str, ctx: click.Context) -> click.UsageError:
    err = click.UsageError(message, ctx)
    err.exit_code = EXIT_USAGE
    return err


def _collect(paths: tuple[Path, ...], ctx: click.Context) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                hidden = any(part.startswith(".") for part in rel)
                if f.is_file() and not hidden and is_candidate(f):
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            raise _usage(f"no such file or folder: {p}", ctx)
    if not files:
        raise _usage("no image or DICOM file to check", ctx)
    return files


@click.command("check", cls=_CheckCommand)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--channel",
    type=click.Choice(["social", "publication", "teaching"]),
    default="social",
    show_default=True,
    help="Where the image will be shared.",
)
@click.option(
    "--jurisdiction",
    type=click.Choice(["fr", "uk", "us"]),
    default="fr",
    show_default=True,
    help="Whose rules apply.",
)
@click.option(
    "--consent",
    is_flag=True,
    help="Documented explicit consent exists (does not lift blocks in fr + social).",
)
@click.option(
    "--lang",
    type=click.Choice(list(LANGS)),
    default="fr",
    show_default=True,
    help="Language of the human-readable output and of the HTML page.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout, one object per image.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML page (thumbnails, regions, verdicts).",
)
@click.option("--caption", default="", help="Caption or post text to check with each image.")
@click.option("--no-ocr", is_flag=True, help="Skip OCR (text signals are then not found).")
@click.pass_context
def check(
    ctx: click.Context,
    paths: tuple[Path, ...],
    channel: str,
    jurisdiction: str,
    consent: bool,
    lang: str,
    as_json: bool,
    html_file: Path | None,
    caption: str,
    no_ocr: bool,
) -> None:
    """Say whether images are fit to share: acceptable, warning or blocked, with the signals
    found (identification, promotion, scientific evidence) and the rules they come from.

    \b
    Exit status: 0 all acceptable, 1 any warning, 2 any blocked, 3 usage error,
    4 any input unreadable.
    \b
    Examples:
      medanon check photo.jpg
      medanon check figures/ --channel publication --lang en --json
      medanon check export/ --html report.html
    """
    if not paths:
        raise _usage("give at least one file or folder", ctx)
    files = _collect(paths, ctx)
    rules = load_rules()
    worst = 0
    unreadable = False
    entries: list[Entry] = []
    for f in files:
        shown = str(f)
        try:
            loaded, verdict = assess_file(
                f,
                caption=caption,
                channel=channel,
                jurisdiction=jurisdiction,
                consent=consent,
                lang=lang,
                ocr=not no_ocr,
                rules=rules,
            )
        except (LoadError, ValueError, TypeError, IndexError, cv2_error()) as exc:
            unreadable = True
            reason = (
                str(exc).split(": ", 1)[-1]
                if isinstance(exc, LoadError)
                else (f"cannot judge this image ({type(exc).__name__})")
            )
            if as_json:
                obj: dict[str, Any] = {
                    "path": shown,
                    "verdict": None,
                    "error": reason,
                    "signals": [],
                }
                click.echo(json.dumps(obj, ensure_ascii=False))
            else:
                click.echo(format_error(shown, reason, lang), err=True)
            entries.append(Entry(shown, None, None, reason))
            continue
        worst = max(worst, verdict.exit_code)
        if as_json:
            click.echo(json.dumps({"path": shown, **verdict.to_json()}, ensure_ascii=False))
        else:
            click.echo(format_verdict(shown, verdict, lang))
        if html_file is not None:
            entries.append(Entry(shown, verdict, loaded.image))
    if html_file is not None:
        try:
            html_file.write_text(render_html(entries, lang), encoding="utf-8")
        except OSError as exc:
            raise _usage(f"cannot write {html_file}: {exc.strerror}", ctx) from exc
    sys.exit(EXIT_UNREADABLE if unreadable else worst)


def cv2_error() -> type[Exception]:
    """OpenCV's exception type (imported lazily, like the rest of the image stack)."""
    import cv2

    return cv2.error
