"""The ``medanon`` command line.

Exit status: 0 when every file was processed, 1 when any failed (each named on stderr with a
one-line reason), 2 for usage errors (bad options, profiles, paths, key).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .conformance import action_table, conformance_statement, summary
from .errors import MedanonError, UsageError
from .keys import load_keyring
from .pipeline import FileResult, summarise
from .policy import Policy, builtin_profiles, load_policy, parse_option
from .runners.batch import plan_jobs, run_jobs

OPTION_NAMES = [
    "retain-safe-private",
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-longitudinal-full-dates",
    "retain-longitudinal-modified-dates",
    "clean-descriptors",
    "clean-structured-content",
    "clean-graphics",
]


def _fail_usage(message: str) -> None:
    raise click.UsageError(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="medanon")
def main() -> None:
    """De-identify medical images (DICOM PS3.15 Annex E) and check they are fit to share.

    \b
    Examples:
      medanon scrub radiograph.dcm                 writes radiograph.anon.dcm beside it
      medanon scrub export/ -o clean/ --profile research --report run.jsonl
      medanon profile list
      medanon profile show research --conformance
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Output file (one input file) or folder (mirrors input folders). "
    "Default: NAME.anon.EXT beside each file, FOLDER.anon beside each folder.",
)
@click.option(
    "-p",
    "--profile",
    default="basic",
    show_default=True,
    help="Built-in profile name (see 'medanon profile list') or a TOML profile file.",
)
@click.option(
    "--with",
    "with_options",
    multiple=True,
    type=click.Choice(OPTION_NAMES),
    metavar="OPTION",
    help="Switch a PS3.15 option on (repeatable).",
)
@click.option(
    "--without",
    "without_options",
    multiple=True,
    type=click.Choice(OPTION_NAMES),
    metavar="OPTION",
    help="Switch a PS3.15 option off (repeatable).",
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Secret key file. Default: $MEDANON_KEY (the key itself), else the file "
    "$MEDANON_KEY_FILE, else $XDG_CONFIG_HOME/medanon/key (~/.config/medanon/key), "
    "created with owner-only permissions when missing.",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one JSON Lines record per file (no PHI).",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write uid_mapping.csv and patid_mapping.csv (id_old,id_new) here, owner-only.",
)
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes.",
)
@click.option("--dry-run", is_flag=True, help="Process and verify everything, write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never inputs).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary line.")
def scrub(
    paths: tuple[Path, ...],
    output: str | None,
    profile: str,
    with_options: tuple[str, ...],
    without_options: tuple[str, ...],
    key_file: Path | None,
    report: Path | None,
    mapping: Path | None,
    jobs: int,
    dry_run: bool,
    overwrite: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """De-identify DICOM files and folders (recursively).

    Headers are cleaned by the PS3.15 Table E.1-1 rules of the profile; UIDs, pseudonyms and
    date shifts derive from the secret key, so the same key gives the same result everywhere.
    Every output is read back and checked for the input's identifying values before it is
    written; an input is never modified.
    """
    try:
        policy = _policy(profile, with_options, without_options)
        job_list = plan_jobs(
            list(paths),
            Path(output) if output else None,
            output_is_folder=bool(output) and output.endswith(("/", os.sep)),
        )
        for target in (report, mapping):
            if target is not None and any(_same_or_inside(target, p) for p in paths if p.is_dir()):
                raise UsageError(f"{target} is inside an input folder")
        keyring, key_source = load_keyring(key_file)
    except MedanonError as exc:
        click.echo(f"medanon: {exc}", err=True)
        sys.exit(exc.exit_code)

    started = time.monotonic()
    results: list[FileResult] = []
    show_bar = not quiet and not as_json and sys.stderr.isatty() and len(job_list) > 1
    report_handle = _open_report(report)
    try:
        iterator = run_jobs(
            job_list, policy, keyring, processes=jobs, overwrite=overwrite, dry_run=dry_run
        )
        with (
            click.progressbar(
                iterator,
                length=len(job_list),
                label="scrubbing",
                file=sys.stderr,
                show_pos=True,
                show_eta=True,
                item_show_func=lambda r: None,
            )
            if show_bar
            else _nullbar(iterator) as bar
        ):
            for result in bar:
                results.append(result)
                if result.status == "failed":
                    message = f"medanon: FAILED {result.input}: {result.error}"
                    if show_bar:
                        click.echo("\n" + message, err=True)
                    else:
                        click.echo(message, err=True)
                if report_handle is not None:
                    record = result.record() | {
                        "profile": policy.name,
                        "key_fingerprint": keyring.fingerprint,
                    }
                    report_handle.write(json.dumps(record, sort_keys=True) + "\n")
    finally:
        if report_handle is not None:
            report_handle.close()
            os.replace(report_handle.name, report)  # type: ignore[arg-type]

    if mapping is not None and not dry_run:
        _write_mappings(mapping, results)
    totals = summarise(results) | {
        "profile": policy.name,
        "key_fingerprint": keyring.fingerprint,
        "key_source": key_source,
        "seconds": round(time.monotonic() - started, 3),
    }
    if as_json:
        click.echo(json.dumps(totals, sort_keys=True))
    elif not quiet:
        rate = totals["files"] / max(totals["seconds"], 1e-9)
        click.echo(
            f"medanon: {totals['ok']} of {totals['files']} files de-identified"
            f"{' (dry run)' if dry_run else ''}, {totals['failed']} failed, "
            f"{totals['warnings']} with warnings; profile {policy.name}; "
            f"key {keyring.fingerprint}; {rate:.0f} files/s",
            err=True,
        )
    sys.exit(1 if totals["failed"] else 0)


class _nullbar:
    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable

    def __enter__(self) -> Any:
        return self.iterable

    def __exit__(self, *exc: object) -> None:
        return None


def _same_or_inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


def _policy(
    profile: str, with_options: tuple[str, ...], without_options: tuple[str, ...]
) -> Policy:
    policy = load_policy(profile)
    if with_options or without_options:
        policy = policy.with_options(
            [parse_option(o) for o in with_options], [parse_option(o) for o in without_options]
        )
    return policy


def _open_report(report: Path | None) -> Any:
    if report is None:
        return None
    report.parent.mkdir(parents=True, exist_ok=True)
    tmp = report.with_name(f".{report.name}.medanon-tmp-{os.getpid()}")
    return open(tmp, "w", encoding="utf-8")


def _write_mappings(folder: Path, results: list[FileResult]) -> None:
    """uid_mapping.csv and patid_mapping.csv (``id_old,id_new``), sorted, owner-only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    uids: dict[str, str] = {}
    patients: dict[str, str] = {}
    for result in results:
        uids.update(result.uid_map)
        patients.update(result.patient_map)
    for name, table in (("uid_mapping.csv", uids), ("patid_mapping.csv", patients)):
        path = folder / name
        existing: dict[str, str] = {}
        if path.exists():  # keep earlier runs' rows: the mapping only grows
            with open(path, newline="", encoding="utf-8") as handle:
                existing = {row["id_old"]: row["id_new"] for row in csv.DictReader(handle)}
        existing.update(table)
        tmp = path.with_name(f".{name}.medanon-tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["id_old", "id_new"])
            writer.writerows(sorted(existing.items()))
        os.replace(tmp, path)


@main.group()
def profile() -> None:
    """List and describe de-identification profiles."""


@profile.command("list")
def profile_list() -> None:
    """Built-in profiles with their descriptions."""
    for name in builtin_profiles():
        click.echo(f"{name:10} {load_policy(name).description}")


@profile.command("show")
@click.argument("name")
@click.option("--conformance", is_flag=True, help="Print the PS3.15 E.1.3 conformance statement.")
@click.option("--table", is_flag=True, help="Print the action of every Table E.1-1 attribute.")
def profile_show(name: str, conformance: bool, table: bool) -> None:
    """Describe profile NAME (a built-in name or a TOML file)."""
    try:
        policy = load_policy(name)
    except MedanonError as exc:
        click.echo(f"medanon: {exc}", err=True)
        sys.exit(exc.exit_code)
    if conformance:
        click.echo(conformance_statement(policy))
    elif table:
        for tag, attribute, action in action_table(policy):
            click.echo(f"{tag:32} {action:7} {attribute}")
    else:
        click.echo(summary(policy))


if __name__ == "__main__":  # pragma: no cover
    main()
