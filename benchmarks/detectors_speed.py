"""Per-prompt cost of the rule and gazetteer detectors, each alone and all together.

    python benchmarks/detectors_speed.py [--entries 50000] [--n 3000] [--data ../shared/data]

Loads a synthetic operator gazetteer of ``--entries`` people and ``--entries / 5`` brands (as
benchmarks/gazetteer_speed.py does) so the list size is realistic, then prints p50/p99 per
prompt over ``--n`` prompts for: lexicon, personal-data, circumvention, real-people and
intellectual-property, each on an already-normalised item, and all five together including
normalisation. Target (issue: detectors for what classifiers miss): the five together add
<= 2 ms p50 per prompt on one core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aupguard.detectors.base import Detector, ScanItem
from aupguard.detectors.circumvention import CircumventionDetector
from aupguard.detectors.intellectual_property import IntellectualPropertyDetector
from aupguard.detectors.lexicon import LexiconDetector
from aupguard.detectors.personal_data import PersonalDataDetector
from aupguard.detectors.real_people import RealPeopleDetector

sys.path.insert(0, str(Path(__file__).parent))
from gazetteer_speed import load_prompts, synthetic_tsv


def measure(name: str, detectors: list[Detector], texts: list[str], normalised: bool) -> None:
    items = [ScanItem(t) for t in texts]
    if normalised:
        for item in items:
            _ = item.normalized
    for item in items[:100]:  # warm up
        for d in detectors:
            d.scan(item)
    items = [ScanItem(t) for t in texts]
    if normalised:
        for item in items:
            _ = item.normalized
    lat = []
    for item in items:
        t0 = time.perf_counter()
        for d in detectors:
            d.scan(item)
        lat.append((time.perf_counter() - t0) * 1e3)
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(
        f"{name:<44} p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   mean {statistics.fmean(lat):6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    texts = load_prompts(args.data, args.n)
    print(
        f"{len(texts)} prompts (mean {statistics.fmean(len(t) for t in texts):.0f} chars); one core"
    )
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        people = Path(tmp) / "people.tsv"
        brands = Path(tmp) / "brands.tsv"
        people.write_text(
            synthetic_tsv(rng, args.entries, ["politician", "celebrity"], True), "utf-8"
        )
        brands.write_text(
            synthetic_tsv(rng, args.entries // 5, ["brand", "character"], True), "utf-8"
        )
        detectors: list[Detector] = [
            LexiconDetector(),
            PersonalDataDetector(),
            CircumventionDetector(),
            RealPeopleDetector(extra_files=[people]),
            IntellectualPropertyDetector(extra_files=[brands]),
        ]
        print(f"gazetteers: +{args.entries:,} synthetic people, +{args.entries // 5:,} brands")
        for d in detectors:
            measure(f"{d.name} (item normalised)", [d], texts, True)
        measure("all five, including normalisation", detectors, texts, False)


if __name__ == "__main__":
    main()
