"""Throughput of ``aupguard scan`` (bulk re-scan): local engine with 1 and 2 processes, and
the Ray engine on a local instance with 2 CPUs, on the same JSONL of dev prompts.

    python benchmarks/scan_speed.py [--n 2000] [--policy general-usage] [--data ../shared/data]
                                    [--chunk-size 64] [--no-ray]

Each run is a whole job as the CLI runs it: start-up (spawning workers, loading the models in
each), reading, checking, writing rows with a checkpoint per chunk, and the summary. Prints
items/s per engine, wall time included. Ray is skipped, with the reason, when not installed.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from aupguard.policy.registry import default_registry
from aupguard.scan import LocalEngine, ScanJob, run_scan
from aupguard.scan.engine import Engine

FILES = [
    "dev/toxicchat_train.jsonl",
    "dev/alpaca_harmless.jsonl",
    "dev/cold_dev.jsonl",
    "dev/tensor_trust.jsonl",
]


def load_prompts(data: Path, n: int) -> list[str]:
    texts: set[str] = set()
    for name in FILES:
        path = data / name
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                texts.update(t for t in (json.loads(line)["text"] for line in fh) if t.strip())
    if len(texts) < n:
        raise SystemExit(f"found {len(texts)} distinct prompts under {data}, need {n}; pass --data")
    ordered = sorted(texts)
    random.Random(0).shuffle(ordered)
    return ordered[:n]


def measure(label: str, engine: Engine, job: ScanJob) -> None:
    started = time.perf_counter()
    summary = run_scan(job, engine)
    seconds = time.perf_counter() - started
    print(
        f"{label:<24} {summary.items / seconds:8.1f} items/s  "
        f"({summary.items} items in {seconds:.1f} s, {summary.errors} errors)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--policy", default="general-usage")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    pack = default_registry().get(args.policy)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "archive.jsonl"
        src.write_text(
            "".join(json.dumps({"text": t}) + "\n" for t in load_prompts(args.data, args.n)),
            encoding="utf-8",
        )
        print(f"{args.n} prompts, policy {pack.ref}, chunk size {args.chunk_size}")

        def job(name: str) -> ScanJob:
            return ScanJob(
                input=src, output=Path(tmp) / f"{name}.jsonl", pack=pack, chunk_size=args.chunk_size
            )

        measure("local, 1 process", LocalEngine(1), job("local1"))
        measure("local, 2 processes", LocalEngine(2), job("local2"))
        if args.no_ray:
            return
        try:
            import ray
        except ImportError:
            print("ray                      skipped: not installed (pip install 'aupguard[ray]')")
            return
        from aupguard.scan.ray_engine import RayEngine

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            measure("ray, 2 actors", RayEngine(workers=2), job("ray"))
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
