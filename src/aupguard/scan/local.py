"""The default engine: worker processes on this machine (``multiprocessing``, spawned). Each
worker builds its moderators once (the pool's initialiser) and is then sent chunk after chunk,
at most two per worker in flight.

Workers run their numeric libraries (BLAS, OpenMP) on one thread each unless
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` say otherwise, as Ray does
for its one-CPU actors: N workers with a thread pool per core each oversubscribe the CPUs, and
on a busy 2-core machine that made a scan ~3.5x slower (benchmarks/README.md)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.pool import AsyncResult

from aupguard.scan.models import Chunk, ChunkResult
from aupguard.scan.worker import WorkerSpec, init_process, run_in_process

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def one_thread_per_worker() -> Iterator[None]:
    """Processes started inside inherit one-thread settings (those already set are kept)."""
    added = [name for name in THREAD_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = "1"
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class LocalEngine:
    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def run(self, spec: WorkerSpec, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        ctx = multiprocessing.get_context("spawn")
        with one_thread_per_worker():
            pool = ctx.Pool(self.workers, initializer=init_process, initargs=(spec,))
        with pool:
            pending: deque[AsyncResult[ChunkResult]] = deque()
            for chunk in chunks:
                pending.append(pool.apply_async(run_in_process, (chunk,)))
                while len(pending) >= 2 * self.workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
