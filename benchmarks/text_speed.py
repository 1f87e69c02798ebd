"""Speed and memory of the text path with the trained classifier, one process, two threads.

    python benchmarks/text_speed.py [--n 4000] [--single 500] [--policy general-usage]
                                    [--data ../shared/data] [--all-detectors]

The text path is normalisation + lexicon + sentence embedding + the text classifier's heads +
the engine, as ``aupguard check`` runs it (``--all-detectors`` adds the other registered
detectors). Prints:

* batched throughput: ``Moderator.check_many`` over N prompts never seen before (embeddings
  are computed in batches, as ``check --file`` and ``eval`` do);
* single-prompt latency p50 / p99: ``Moderator.check`` one prompt at a time, each embedded
  on its own (no cache hits);
* resident memory with the models loaded (current and peak).

Targets: ≥ 1,000 prompts/s batched, p50 ≤ 5 ms single, RSS ≤ 600 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from pathlib import Path

from aupguard.detectors.lexicon import LexiconDetector
from aupguard.detectors.text_classifier import TextClassifierDetector
from aupguard.embeddings import get_embedder
from aupguard.engine.moderator import Moderator
from aupguard.policy.registry import default_registry

FILES = [
    "dev/toxicchat_train.jsonl",
    "dev/alpaca_harmless.jsonl",
    "dev/cold_dev.jsonl",
    "train/i2p_train.jsonl",
    "train/catqa_en.jsonl",
    "train/catqa_zh.jsonl",
    "train/benign_unigenbench.jsonl",
]


def load_prompts(data: Path, n: int) -> list[str]:
    texts: set[str] = set()
    for name in FILES:
        path = data / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                text = json.loads(line)["text"]
                if text.strip() and len(text) <= 2000:
                    texts.add(text)
    if len(texts) < n:
        raise SystemExit(f"found {len(texts)} distinct prompts under {data}, need {n}; pass --data")
    ordered = sorted(texts)
    random.Random(0).shuffle(ordered)
    return ordered[:n]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB."""
    current = peak = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:  # not Linux: the peak from getrusage (kB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="prompts for the batched run")
    parser.add_argument("--single", type=int, default=500, help="prompts for the latency run")
    parser.add_argument("--policy", default="general-usage")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--all-detectors", action="store_true")
    args = parser.parse_args()

    texts = load_prompts(args.data, args.n + args.single + 50)
    warm, batch, single = texts[:50], texts[50 : 50 + args.n], texts[50 + args.n :]
    pack = default_registry().get(args.policy)
    if args.all_detectors:
        moderator = Moderator(pack)
        label = "all registered detectors"
    else:
        classifier = TextClassifierDetector()
        classifier.load()
        moderator = Moderator(pack, [LexiconDetector(), classifier])
        label = "lexicon + text-classifier"
    moderator.check_many(warm)  # load the embedder, build automata
    base_rss, _ = rss_mb()
    mean_len = statistics.fmean(len(t) for t in batch)
    print(f"{label}; policy {args.policy}; prompts from {args.data} (mean {mean_len:.0f} chars)")
    print(f"RSS with models loaded: {base_rss:.0f} MB")

    started = time.perf_counter()
    moderator.check_many(batch)
    elapsed = time.perf_counter() - started
    print(f"batched  check_many   {len(batch) / elapsed:8,.0f} prompts/s  ({len(batch)} prompts)")

    embedder = get_embedder()
    lat: list[float] = []
    for text in single:
        t0 = time.perf_counter()
        moderator.check(text)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    print(
        f"single   check        p50 {pct(0.5):6.2f} ms   p99 {pct(0.99):6.2f} ms   "
        f"mean {statistics.fmean(lat):6.2f} ms  ({len(single)} prompts, "
        f"embedding cache hits {embedder.hits})"
    )
    current, peak = rss_mb()
    print(f"RSS now {current:.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
