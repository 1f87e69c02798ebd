"""``--engine ray``: the same chunks on a Ray cluster (the ``ray`` extra). One actor per worker
holds its moderators for the whole job; chunks go to whichever actor is free, at most two per
actor in flight. Connects to ``address`` (``auto``, ``ray://host:10001``) or, when none is
given and Ray is not yet initialised here, starts a local instance and stops it afterwards."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aupguard.scan.models import Chunk, ChunkResult
from aupguard.scan.worker import ChunkWorker, WorkerSpec


class RayUnavailableError(ImportError):
    """Ray is not installed."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(
            "--engine ray needs the 'ray' extra: pip install 'aupguard[ray]'"
        ) from None
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers
        self.address = address

    def run(self, spec: WorkerSpec, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        try:
            yield from self._run(ray, spec, chunks)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, spec: WorkerSpec, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor_cls = ray.remote(num_cpus=1)(ChunkWorker)
        actors = [actor_cls.remote(spec) for _ in range(n)]
        load: dict[int, int] = dict.fromkeys(range(n), 0)
        in_flight: dict[Any, int] = {}
        source = iter(chunks)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < 2 * n:
                    chunk = next(source, None)
                    if chunk is None:
                        exhausted = True
                        break
                    idx = min(load, key=lambda a: load[a])
                    in_flight[actors[idx].run.remote(chunk)] = idx
                    load[idx] += 1
                if not in_flight:
                    return
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    load[in_flight.pop(ref)] -= 1
                    result: ChunkResult = ray.get(ref)
                    yield result
        finally:
            for actor in actors:
                ray.kill(actor)
