"""``medanon watch``: de-identify every complete file dropped in a folder, exactly once.

Registered in the main group by ``main.add_command(watch)``; self-contained so that it can also
be run alone (``python -c "from medanon.watch_cmd import watch; watch()" INBOX -o OUTBOX``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_policy import build_policy, layout_option, policy_options
from .errors import MedanonError
from .keys import load_keyring
from .runners.watch import JsonLog, WatchConfig, Watcher


def _seconds(minimum: float = 0.0) -> click.FloatRange:
    return click.FloatRange(min=minimum)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("inbox", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "-o",
    "--output",
    "outbox",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder; mirrors the inbox's sub-folders (see --layout).",
)
@layout_option
@policy_options
@click.option(
    "--quarantine",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where copies of corrupt or unsupported inputs go, each with a .reason.json. "
    "Default: OUTPUT.quarantine beside the output folder.",
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the journal (.medanon-watch.sqlite). Default: the output folder.",
)
@click.option(
    "--move-done",
    type=click.Path(path_type=Path, file_okay=False),
    help="Move each original here (mirroring the inbox) once its output is written. "
    "Default: originals stay in place.",
)
@click.option(
    "-w",
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (1: a thread in the main process).",
)
@click.option("--once", is_flag=True, help="Process the files present, then exit (for cron).")
@click.option(
    "--poll",
    default=10.0,
    show_default=True,
    type=_seconds(),
    help="Seconds between full scans of the inbox (0: only at start; events still work).",
)
@click.option(
    "--no-events",
    is_flag=True,
    help="Do not use filesystem events (watchdog); find files by polling only.",
)
@click.option(
    "--stable",
    default=1.0,
    show_default=True,
    type=_seconds(0.05),
    help="A file is processed once its size and mtime have not changed for this long.",
)
@click.option(
    "--settle",
    default=10.0,
    show_default=True,
    type=_seconds(),
    help="A file that fails to parse is quarantined only after it has not changed for this "
    "long (it may still be arriving).",
)
@click.option(
    "--status-every",
    default=60.0,
    show_default=True,
    type=_seconds(0.1),
    help="Seconds between status lines.",
)
@click.option(
    "--retry-max",
    default=300.0,
    show_default=True,
    type=_seconds(0.1),
    help="Longest back-off between retries of a transient error.",
)
def watch(
    inbox: Path,
    outbox: Path,
    layout: str,
    profile: str,
    with_options: tuple[str, ...],
    without_options: tuple[str, ...],
    key_file: Path | None,
    quarantine: Path | None,
    state: Path | None,
    move_done: Path | None,
    workers: int,
    once: bool,
    poll: float,
    no_events: bool,
    stable: float,
    settle: float,
    status_every: float,
    retry_max: float,
) -> None:
    """Watch INBOX and de-identify every complete file dropped in it into OUTPUT.

    Files are taken once their size and mtime are stable; each is processed exactly once,
    across restarts and crashes, thanks to a journal. Corrupt or unsupported inputs are copied
    to the quarantine folder with a reason; transient errors are retried. Logs are JSON lines
    on stderr, without PHI. SIGTERM or SIGINT stops after the files in progress (a second one
    abandons them; they are redone at the next start).
    """
    log = JsonLog(sys.stderr)
    try:
        policy = build_policy(profile, with_options, without_options)
        keyring, _source = load_keyring(key_file)
        inbox = inbox.absolute()
        outbox = outbox.absolute()
        config = WatchConfig(
            inbox=inbox,
            outbox=outbox,
            quarantine=(quarantine or outbox.with_name(outbox.name + ".quarantine")).absolute(),
            state=(state or outbox).absolute(),
            move_done=move_done.absolute() if move_done else None,
            workers=workers,
            once=once,
            poll=poll,
            stable=stable,
            settle=settle,
            events=not no_events,
            status_every=status_every,
            retry_max=retry_max,
            layout=layout,
        )
        watcher = Watcher(config, policy, keyring, log)
        restore = watcher.install_signal_handlers()
        try:
            code = watcher.run()
        finally:
            restore()
    except MedanonError as exc:
        log("error", message=str(exc))
        click.echo(f"medanon: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    watch()
