"""The default engine: worker processes on this machine (``multiprocessing``, spawned). One
worker runs in the calling process. Each worker builds its moderators once (pool initialiser)
and is then sent chunk after chunk, at most two per worker in flight."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.pool import AsyncResult

from aupguard.scan.models import Chunk, ChunkResult
from aupguard.scan.worker import ChunkWorker, WorkerSpec, init_process, run_in_process


class LocalEngine:
    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def run(self, spec: WorkerSpec, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        if self.workers == 1:
            worker = ChunkWorker(spec)
            for chunk in chunks:
                yield worker.run(chunk)
            return
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(self.workers, initializer=init_process, initargs=(spec,)) as pool:
            pending: deque[AsyncResult[ChunkResult]] = deque()
            for chunk in chunks:
                pending.append(pool.apply_async(run_in_process, (chunk,)))
                while len(pending) >= 2 * self.workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
