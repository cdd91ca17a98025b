"""The ``medanon`` command line.

Exit status: 0 when every file was processed, 1 when any failed (each named on stderr with a
one-line reason), 2 for usage errors (bad options, profiles, paths, key).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from . import __version__
from .check_cmd import check
from .cli_policy import build_policy, layout_option, policy_options
from .conformance import action_table, conformance_statement, summary
from .errors import MedanonError, UsageError
from .faces.headscan import HeadSeriesCheck, HeadSlices
from .keys import load_keyring
from .policy import Policy, builtin_profiles, load_policy
from .runners.batch import Job, plan_jobs, run_jobs
from .runners.resume import MappingJournal, ReportJournal, prepare_resume, run_digest
from .watch_cmd import watch


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
@layout_option
@policy_options
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
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted batch: skip inputs the --report journal records as done "
    "(unchanged input, output present), redo the rest. Needs --report.",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Run on the Dask cluster whose scheduler is ADDRESS (tcp://HOST:8786); paths must be "
    "reachable by the workers. Needs the dask extra (pip install 'medanon[dask]').",
)
@click.option(
    "--pixels",
    "pixel_text",
    type=click.Choice(["none", "phi", "all"]),
    help="Burned-in text: 'all' blacks out every text region, 'phi' only identifying text, "
    "'none' none (default: the profile's; social uses all). Needs Tesseract.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="X,Y,W,H",
    help="A box to black out in every image and frame, in pixels (repeatable).",
)
@click.option(
    "--faces/--no-faces",
    default=None,
    help="Cover faces in photographs, checked again by the detector (default: the profile's; "
    "social does).",
)
@click.option(
    "--face-search",
    type=click.Choice(["thorough", "fast"]),
    default=None,
    help="Face detector: thorough (default) or fast (a coarser pyramid, ~20% less time; on the "
    "benchmark one partial face in 32 fewer; see docs/faces.md).",
)
@click.option(
    "--verdict",
    "verdict_channel",
    type=click.Choice(["social", "publication", "teaching", "none"]),
    help="Judge each output for sharing on this channel and record the verdict in the report "
    "(default: the profile's; social judges for social networks).",
)
@click.option(
    "--jurisdiction",
    type=click.Choice(["fr", "uk", "us"]),
    help="Rules the verdict applies (default: the profile's, fr).",
)
@click.option(
    "--html",
    "html_page",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a self-contained HTML page: each input beside its output, the verdict and its "
    "signals. It shows the inputs: keep it private.",
)
@click.option(
    "--preview",
    "preview_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write a PNG per image into this folder: the first frame before redaction, the "
    "regions blacked out drawn in red. It shows the inputs: keep it private.",
)
@click.option("--dry-run", is_flag=True, help="Process and verify everything, write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never inputs).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary line.")
def scrub(
    paths: tuple[Path, ...],
    output: str | None,
    layout: str,
    profile: str,
    with_options: tuple[str, ...],
    without_options: tuple[str, ...],
    key_file: Path | None,
    report: Path | None,
    mapping: Path | None,
    jobs: int,
    resume: bool,
    dask_address: str | None,
    pixel_text: str | None,
    regions: tuple[str, ...],
    faces: bool | None,
    face_search: str | None,
    verdict_channel: str | None,
    jurisdiction: str | None,
    html_page: Path | None,
    preview_dir: Path | None,
    dry_run: bool,
    overwrite: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """De-identify DICOM files, ordinary images and folders (recursively).

    Headers are cleaned by the PS3.15 Table E.1-1 rules of the profile; UIDs, pseudonyms and
    date shifts derive from the secret key, so the same key gives the same result everywhere.
    Burned-in text is blacked out when the profile or --pixels asks (checked again by OCR);
    PNG, JPEG, TIFF, BMP and WebP lose their metadata. Every output is checked for the input's
    identifying values before it is written; an input is never modified.

    \b
    OPTION names for --with/--without: retain-safe-private, retain-uids,
    retain-device-identity, retain-institution-identity, retain-patient-characteristics,
    retain-longitudinal-full-dates, retain-longitudinal-modified-dates, clean-descriptors,
    clean-structured-content, clean-graphics.
    Exit status: 0 every file done, 1 some failed, 2 usage error, 130 interrupted.
    """
    try:
        policy = build_policy(
            profile, with_options, without_options, pixel_text, regions, faces, face_search
        )
        if verdict_channel is not None or jurisdiction is not None:
            channel = policy.verdict_channel if verdict_channel is None else verdict_channel
            policy = replace(
                policy,
                verdict_channel=None if channel == "none" else channel,
                verdict_jurisdiction=jurisdiction or policy.verdict_jurisdiction,
            )
        job_list = plan_jobs(
            list(paths),
            Path(output) if output else None,
            output_is_folder=bool(output) and output.endswith(("/", os.sep)),
            layout=layout,
        )
        shared = _output_folder(job_list, output)
        _check_side_outputs(paths, job_list, shared, report, mapping, preview_dir, html_page)
        if resume and report is None:
            raise UsageError("--resume needs --report: its journal records which files are done")
        if dask_address and jobs > 1:
            raise UsageError("--jobs and --dask exclude each other: the cluster sets the workers")
        keyring, key_source = load_keyring(key_file)
    except MedanonError as exc:
        click.echo(f"medanon: {exc}", err=True)
        sys.exit(exc.exit_code)

    started = time.monotonic()
    extra = {"profile": policy.name, "key_fingerprint": keyring.fingerprint}
    journal = None
    if report is not None:
        journal = ReportJournal(
            report,
            digest=run_digest(policy, keyring, dry_run=dry_run, layout=layout),
            extra=extra,
            dry_run=dry_run,
            resume=resume,
        )
    todo = job_list
    if journal is not None and resume:
        todo = [job for job in job_list if not journal.is_done(job)]
        if not dry_run:
            prepare_resume(todo)
        if not quiet and not as_json:
            click.echo(
                f"medanon: resuming: {len(job_list) - len(todo)} of {len(job_list)} files "
                "already done",
                err=True,
            )
    mappings = MappingJournal(mapping, resume=resume) if mapping and not dry_run else None
    totals = _Totals()
    html_pairs: list[tuple[str, str]] = []
    show_bar = not quiet and not as_json and sys.stderr.isatty() and len(job_list) > 1
    client = None
    finished = False
    try:
        flags = {
            "overwrite": overwrite,
            "dry_run": dry_run,
            "keep_maps": mappings is not None,
            "preview_dir": preview_dir,
        }
        if dask_address:
            client = _dask_client(dask_address)
            from .runners.dask import run_on_dask

            iterator = run_on_dask(client, todo, policy, keyring, **flags)
        else:
            iterator = run_jobs(todo, policy, keyring, processes=jobs, **flags)
        with _progress(iterator, len(todo), len(job_list) - len(todo), show_bar) as bar:
            for result in bar:
                if result.status == "failed":
                    message = f"medanon: FAILED {result.input}: {result.error}"
                    click.echo("\n" + message if show_bar else message, err=True)
                elif html_page is not None and result.output is not None and not dry_run:
                    html_pairs.append((result.input, result.output))
                if mappings is not None:
                    mappings.append(result)  # before the journal: done implies mapped
                if journal is not None:
                    journal.append(result)
                else:
                    totals.add(result.record())
        finished = True
    except KeyboardInterrupt:
        click.echo("\nmedanon: interrupted", err=True)
    finally:
        if client is not None:
            client.close()
        if not finished:
            for handle in (journal, mappings):
                if handle is not None:
                    handle.close()
            if journal is not None:
                click.echo(
                    f"medanon: batch not finished; run the same command with --resume to "
                    f"continue (journal: {journal.path})",
                    err=True,
                )
    if not finished:
        sys.exit(130)
    if journal is not None:
        for record in journal.finish(job_list):
            totals.add(record)
    if mappings is not None:
        mappings.finish()
    summary_totals = totals.as_dict() | {
        **extra,
        "key_source": key_source,
        "seconds": round(time.monotonic() - started, 3),
    }
    if resume:
        summary_totals["resumed"] = len(job_list) - len(todo)
    if html_page is not None:
        _write_html(html_page, html_pairs, policy)
    if as_json:
        click.echo(json.dumps(summary_totals, sort_keys=True))
    else:
        for risk in totals.head_series.risks():
            click.echo(f"medanon: WARNING {risk.message()}", err=True)
    if not as_json and not quiet:
        rate = len(todo) / max(summary_totals["seconds"], 1e-9)
        click.echo(
            f"medanon: {summary_totals['ok']} of {summary_totals['files']} files de-identified"
            f"{' (dry run)' if dry_run else ''}, {summary_totals['failed']} failed, "
            f"{summary_totals['warnings']} with warnings; profile {policy.name}; "
            f"key {keyring.fingerprint}; {rate:.0f} files/s",
            err=True,
        )
    sys.exit(1 if summary_totals["failed"] else 0)


class _Totals:
    """Run totals from report records, as :func:`medanon.pipeline.summarise` gives them from
    results, without keeping every result in memory."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.warnings = 0
        self.head_series = HeadSeriesCheck()

    def add(self, record: dict[str, Any]) -> None:
        self.statuses[record["status"]] += 1
        self.actions.update(record["actions"])
        self.warnings += bool(record["warnings"])
        if record.get("head_slices"):
            self.head_series.add(HeadSlices.from_record(record["head_slices"]))

    def as_dict(self) -> dict[str, Any]:
        totals = {
            "files": sum(self.statuses.values()),
            "ok": self.statuses.get("ok", 0) + self.statuses.get("dry-run", 0),
            "failed": self.statuses.get("failed", 0),
            "warnings": self.warnings,
            "actions": dict(sorted(self.actions.items())),
        }
        risks = self.head_series.risks()
        if risks:
            totals["residual_risks"] = [risk.as_record() for risk in risks]
        return totals


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        click.echo("medanon: --dask needs Dask: pip install 'medanon[dask]'", err=True)
        sys.exit(2)
    try:
        return Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        click.echo(f"medanon: cannot reach the Dask scheduler at {address}: {exc}", err=True)
        sys.exit(2)


def _progress(iterator: Any, length: int, skipped: int, show: bool) -> Any:
    """A progress bar on stderr with position, rate and ETA (only when ``show``); files done
    by an earlier run (``--resume``) are not counted in it."""
    if not show:
        return _nullbar(iterator)
    started = time.monotonic()

    def rate(_: object) -> str:
        per_second = bar.pos / max(time.monotonic() - started, 1e-9)
        return f"{per_second:.1f} files/s"

    bar = click.progressbar(
        iterator,
        length=length,
        label=f"scrubbing ({skipped} done before)" if skipped else "scrubbing",
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
        item_show_func=rate,
    )
    return bar


class _nullbar:
    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable

    def __enter__(self) -> Any:
        return self.iterable

    def __exit__(self, *exc: object) -> None:
        return None


def _check_side_outputs(
    paths: tuple[Path, ...],
    jobs: list[Job],
    shared: Path | None,
    report: Path | None,
    *with_phi: Path | None,
) -> None:
    """--report, --mapping, --preview and --html never land on an input or an output, nor
    inside an input folder: they would overwrite a patient's file, or mix PHI into inputs.
    The last three hold PHI (original IDs, unredacted pictures): never inside the output
    folder ``shared`` either, which is the one meant to be shared."""
    taken = {job.source.resolve() for job in jobs}
    taken.update(j.destination.resolve() for j in jobs if j.destination and j.layout == "mirror")
    for target in with_phi:
        if target is not None and shared is not None and _same_or_inside(target, shared):
            raise UsageError(f"{target} holds PHI: keep it out of the output folder {shared}")
    for target in (report, *with_phi):
        if target is None:
            continue
        if any(_same_or_inside(target, p) for p in paths if p.is_dir()):
            raise UsageError(f"{target} is inside an input folder")
        resolved = target.resolve()
        if resolved in taken or any(_same_or_inside(target, p) for p in paths if p.is_file()):
            raise UsageError(f"{target} would overwrite an input or output file")


def _output_folder(jobs: list[Job], output: str | None) -> Path | None:
    """The folder outputs go to with ``-o``, when it is one (not a single output file)."""
    if not output:
        return None
    folder = Path(output)
    if any(j.layout == "pseudonymous" for j in jobs) or folder.is_dir():
        return folder
    if any(j.destination is not None and folder in j.destination.parents for j in jobs):
        return folder
    return None


def _same_or_inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


def _write_html(page: Path, pairs: list[tuple[str, str]], policy: Policy) -> None:
    """Inputs beside outputs with the output's verdict, as one self-contained page."""
    from .verdict import LoadError, assess_file, load_image
    from .verdict.report_html import Entry, render_html

    entries = []
    for source, output in pairs:
        try:
            before = load_image(Path(source)).image
        except LoadError:
            before = None
        try:
            loaded, verdict = assess_file(
                output,
                channel=policy.verdict_channel or "social",
                jurisdiction=policy.verdict_jurisdiction,
                lang="fr",
            )
            entries.append(Entry(output, verdict, loaded.image, before=before))
        except LoadError as exc:
            entries.append(Entry(output, None, None, error=str(exc), before=before))
    page.parent.mkdir(parents=True, exist_ok=True)
    tmp = page.with_name(f".{page.name}.medanon-tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it shows the inputs
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render_html(entries, lang="fr", title="medanon scrub"))
    os.replace(tmp, page)


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


main.add_command(check)
main.add_command(watch)


if __name__ == "__main__":  # pragma: no cover
    main()
