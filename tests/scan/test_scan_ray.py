"""``--engine ray`` on a local Ray instance (2 CPUs): the same rows as the local engine."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.scan.conftest import PROMPTS

from aupguard.policy.registry import default_registry
from aupguard.scan import LocalEngine, ScanJob, read_rows, run_scan

TIME_LIMIT_S = 240
ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'aupguard[ray]')")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError(f"the Ray scan test ran over {TIME_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(TIME_LIMIT_S)  # bounded: a hung cluster fails the test instead of CI
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray
        ray.shutdown()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_ray_engine_matches_local(tmp_path: Path, local_ray: Any) -> None:
    from aupguard.scan.ray_engine import RayEngine

    texts = [*PROMPTS.values()] * 3
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts))
        + "{broken\n",
        encoding="utf-8",
    )
    pack = default_registry().get("general-usage")
    rows = {}
    for name, engine in (("ray", RayEngine(workers=2)), ("local", LocalEngine(1))):
        out = tmp_path / f"{name}.jsonl"
        summary = run_scan(ScanJob(input=src, output=out, pack=pack, chunk_size=3), engine)
        assert summary.items == len(texts) + 1 and summary.errors == 1
        rows[name] = sorted(read_rows(out), key=lambda r: r.offset)
    assert rows["ray"] == rows["local"]
    assert local_ray.is_initialized()  # an instance it did not start is left running
