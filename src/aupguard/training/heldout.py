"""Write the rows of a capped training source that training never saw, for measuring.

    python -m aupguard.training.heldout --data ../shared/data/train --source coco_train \\
        --out /tmp/coco_heldout.jsonl [--seed 0]
    aupguard eval /tmp/coco_heldout.jsonl --policy general-usage

A capped source (``SOURCES`` in ``data.py``) enters training with a seeded subset; the rest
of its rows — those whose normalised text is in neither the training nor the validation
split — are a held-out set from the same distribution (for coco_train: ~23k benign captions).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aupguard.text.normalize import normalize
from aupguard.training.data import SOURCES, load_rows


def held_out_lines(data_dir: Path, source: str, seed: int) -> list[str]:
    """The JSONL lines of ``data_dir/source.jsonl`` whose text training did not use."""
    if source not in SOURCES or (
        SOURCES[source].cap_benign is None and SOURCES[source].cap_flagged is None
    ):
        raise SystemExit(f"{source!r} is not a capped source; every row of it is used")
    used = {r.norm for r in load_rows(data_dir, None, seed=seed).rows}
    out = []
    with (data_dir / f"{source}.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and normalize(json.loads(line)["text"]).text not in used:
                out.append(line.rstrip("\n"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = held_out_lines(args.data, args.source, args.seed)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} held-out rows of {args.source} -> {args.out}")


if __name__ == "__main__":
    main()
