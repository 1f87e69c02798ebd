"""Throughput and latency of `aupguard check` on the lexicon path, one process, one core.

    python benchmarks/lexicon_speed.py [--n 4000] [--policy general-usage] [--data ../shared/data]

Prints prompts/s and p50/p99 latency for: normalisation alone, the lexicon detector
(normalise + match), and the whole check (detectors + engine + verdict). Target: >= 5,000
prompts/s for the lexicon path on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from aupguard.detectors.base import ScanItem
from aupguard.detectors.lexicon import LexiconDetector
from aupguard.engine.moderator import Moderator
from aupguard.policy.registry import default_registry
from aupguard.text.normalize import normalize

FILES = [
    "train/i2p_train.jsonl",
    "train/benign_partiprompts.jsonl",
    "train/catqa_en.jsonl",
    "train/catqa_zh.jsonl",
    "train/benign_unigenbench.jsonl",
    "dev/toxicchat_train.jsonl",
    "dev/cold_dev.jsonl",
]


def load_prompts(data: Path, n: int) -> list[str]:
    texts: list[str] = []
    for name in FILES:
        path = data / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                text = json.loads(line)["text"]
                if text.strip() and len(text) <= 2000:
                    texts.append(text)
    if not texts:
        raise SystemExit(f"no prompts found under {data}; pass --data")
    random.Random(0).shuffle(texts)
    return (texts * (n // len(texts) + 1))[:n]


def measure(name: str, fn: Callable[[str], object], texts: list[str]) -> None:
    for t in texts[:200]:  # warm up: build automata, caches
        fn(t)
    lat: list[float] = []
    started = time.perf_counter()
    for t in texts:
        t0 = time.perf_counter()
        fn(t)
        lat.append((time.perf_counter() - t0) * 1e6)
    total = time.perf_counter() - started
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(
        f"{name:<34} {len(texts) / total:>9,.0f} prompts/s   p50 {p(0.5):7.1f} µs   "
        f"p99 {p(0.99):8.1f} µs   mean {statistics.fmean(lat):7.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--policy", default="general-usage")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    texts = load_prompts(args.data, args.n)
    mean_len = statistics.fmean(len(t) for t in texts)
    print(f"{len(texts)} prompts (mean {mean_len:.0f} chars) from {args.data}; one core")
    detector = LexiconDetector()
    moderator = Moderator(default_registry().get(args.policy), [detector])
    measure("normalise", normalize, texts)
    measure("lexicon detector (normalise+match)", lambda t: detector.scan(ScanItem(t)), texts)
    measure(f"check --policy {args.policy}", moderator.check, texts)


if __name__ == "__main__":
    main()
