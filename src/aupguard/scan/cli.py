"""``aupguard scan``: re-check an archive (JSONL, CSV, Parquet, a folder of images) under a
policy pack, resumably, on local processes or a Ray cluster. A thin layer over
:func:`aupguard.scan.run_scan`. Exit codes follow the CLI's table: 4 an item was blocked,
3 one was sent to review, 2 one could not be checked (an error row) or bad usage, 1 an invalid
pack, a missing extra or an internal error, 0 everything allowed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from aupguard.cli import (
    EXIT_BLOCK,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_REVIEW,
    EXIT_USAGE,
    _dump,
    _fail,
    _registry,
    _resolve_policy,
)
from aupguard.engine.moderator import Limits
from aupguard.errors import InputError
from aupguard.policy.registry import ResolvedPack
from aupguard.scan.checkpoint import StateMismatchError
from aupguard.scan.engine import Engine
from aupguard.scan.local import LocalEngine
from aupguard.scan.models import ScanSummary
from aupguard.scan.progress import progress_bar
from aupguard.scan.ray_engine import RayEngine, RayUnavailableError
from aupguard.scan.readers import ScanInputError
from aupguard.scan.runner import DEFAULT_CHUNK_SIZE, MissingExtraError, ScanJob, run_scan
from aupguard.scan.summary import format_summary, previous_version


def scan_exit_code(summary: ScanSummary) -> int:
    if summary.actions.get("block"):
        return EXIT_BLOCK
    if summary.actions.get("review"):
        return EXIT_REVIEW
    return EXIT_USAGE if summary.errors else EXIT_OK


def _compare_pack(
    ctx: click.Context, pack: ResolvedPack, compare_with: str | None, no_compare: bool
) -> ResolvedPack | None:
    if no_compare:
        return None
    if compare_with is not None:
        return _resolve_policy(ctx, compare_with)
    return previous_version(_registry(ctx), pack)


@click.command("scan")
@click.argument("input_", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "-p", required=True, help="Pack id, id@version, or a pack YAML file.")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-item verdicts (JSONL). OUT.state.json and OUT.summary.json go next to it.",
)
@click.option("--field", default=None, help="Text field or column (default: text, else prompt).")
@click.option("--id-field", default="id", show_default=True, help="Field copied as the item id.")
@click.option(
    "--compare-with",
    default=None,
    metavar="ID@VERSION",
    help="Pack to compare with (default: the previous version of --policy, if loaded).",
)
@click.option("--no-compare", is_flag=True, help="Decide under --policy only.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local processes, or a Ray cluster (the 'ray' extra).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 512),
    default=None,
    help="Worker processes / Ray actors (default: CPU count, or the cluster's CPUs).",
)
@click.option(
    "--ray-address",
    default=None,
    help="Ray cluster to join ('auto', 'ray://host:10001'; default: start a local one).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Items per unit of work and per checkpoint.",
)
@click.option("--restart", is_flag=True, help="Discard OUT and its state and start over.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def scan_cmd(
    ctx: click.Context,
    input_: Path,
    policy: str,
    output: Path,
    field: str | None,
    id_field: str,
    compare_with: str | None,
    no_compare: bool,
    engine: str,
    workers: int | None,
    ray_address: str | None,
    chunk_size: int,
    restart: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Re-check every item of INPUT (JSONL, CSV, Parquet, or a folder of images) under a pack.

    Writes one verdict row per item to OUT, resumes where an interrupted run stopped, and
    summarises what changed against the previous version of the pack.
    Exit code: 0 all allowed, 2 an item failed, 3 review, 4 block (strictest wins).
    """
    pack = _resolve_policy(ctx, policy)
    previous = _compare_pack(ctx, pack, compare_with, no_compare)
    try:
        job = ScanJob(
            input=input_,
            output=output,
            pack=pack,
            previous=previous,
            field=field,
            id_field=id_field,
            chunk_size=chunk_size,
            limits=Limits.from_env(),
            restart=restart,
        )
    except InputError as exc:
        _fail(str(exc))
    runner: Engine = (
        RayEngine(workers, ray_address)
        if engine == "ray"
        else LocalEngine(workers or os.cpu_count() or 1)
    )
    show = not quiet and sys.stderr.isatty()
    try:
        with progress_bar(show, f"scan {input_.name}") as update:
            summary = run_scan(job, runner, update)
    except (MissingExtraError, RayUnavailableError) as exc:
        _fail(str(exc), EXIT_INVALID)
    except (ScanInputError, StateMismatchError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(_dump(summary.model_dump(mode="json")))
    else:
        click.echo(format_summary(summary))
        click.echo(f"  rows: {job.output}; summary: {job.summary_path}")
    sys.exit(scan_exit_code(summary))


def register(main: click.Group) -> None:
    main.add_command(scan_cmd)
