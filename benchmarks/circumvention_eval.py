"""Recall / false-positive rate of the circumvention detector on the shared data.

    python benchmarks/circumvention_eval.py [--data /work/shared/data] [--threshold 0.5]

Held-out: a seeded 20% of train/jailbreak_llms.jsonl + train/gptfuzz_templates.jsonl
(random.Random(20240601).shuffle over the rows in file order, first 20% held out; the other
80% was the only part looked at while writing rules). Dev sets are measured, never tuned on.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from aupguard.detectors.base import ScanItem
from aupguard.detectors.circumvention import CircumventionDetector


def rows(path: Path, n: int | None = None) -> list[dict]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if n is not None and i >= n:
                break
            out.append(json.loads(line))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    data = Path(a.data)
    jb = rows(data / "train/jailbreak_llms.jsonl") + rows(data / "train/gptfuzz_templates.jsonl")
    idx = list(range(len(jb)))
    random.Random(20240601).shuffle(idx)
    k = len(jb) // 5
    held, build = [jb[i] for i in sorted(idx[:k])], [jb[i] for i in sorted(idx[k:])]
    tox = rows(data / "dev/toxicchat_train.jsonl")
    sets = [
        ("held-out 20% jailbreak_llms+gptfuzz", held, True),
        ("build 80% (rules written from it)", build, True),
        ("dev/tensor_trust", rows(data / "dev/tensor_trust.jsonl"), True),
        ("dev/bipia_attacks", rows(data / "dev/bipia_attacks.jsonl"), True),
        ("dev/toxicchat jailbreaking=1", [r for r in tox if r["meta"].get("jailbreaking")], True),
        (
            "dev/toxicchat jailbreaking=0",
            [r for r in tox if not r["meta"].get("jailbreaking")],
            False,
        ),
        ("train/benign_role_prompts", rows(data / "train/benign_role_prompts.jsonl"), False),
        ("train/benign_role_prompts_zh", rows(data / "train/benign_role_prompts_zh.jsonl"), False),
        ("train/coco_train first 5000", rows(data / "train/coco_train.jsonl", 5000), False),
        ("dev/alpaca_harmless first 5000", rows(data / "dev/alpaca_harmless.jsonl", 5000), False),
    ]
    d = CircumventionDetector()
    d.load()
    for name, items, positive in sets:
        if not items:
            continue
        t0 = time.perf_counter()
        hit = sum(
            d.scan(ScanItem(r["text"])).scores.get("circumvention", 0.0) >= a.threshold
            for r in items
        )
        ms = (time.perf_counter() - t0) * 1000 / len(items)
        what = "recall" if positive else "FPR"
        print(
            f"{name:40s} n={len(items):5d}  {what} = {hit / len(items):6.1%} ({hit})  {ms:.2f} ms/item"
        )


if __name__ == "__main__":
    main()
