"""The hand-written labelled examples in ``data/examples/`` are well-formed and consistent."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from aupguard.policy.taxonomy import load_taxonomy

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"
CROSSLINGUAL = "crosslingual.jsonl"
MULTILINGUAL = "multilingual.jsonl"
LANGS = {"en", "zh", "es", "fr", "de", "ja", "ru"}
KINDS = {"violating", "hard-negative", "benign"}
REQUIRED = {"text", "flagged", "categories", "lang", "source", "meta"}
CATEGORY_FILES = [
    "academic-dishonesty.jsonl",
    "circumvention.jsonl",
    "critical-infrastructure.jsonl",
    "crypto-mining.jsonl",
    "elections.jsonl",
    "illicit.jsonl",
    "impersonation.jsonl",
    "intellectual-property.jsonl",
    "manipulation.jsonl",
    "privacy__biometric.jsonl",
    "regulated-advice__financial.jsonl",
    "regulated-advice__legal.jsonl",
    "regulated-advice__medical.jsonl",
    "self-harm.jsonl",
    "sexual.jsonl",
    "sexual__minors.jsonl",
    "sexual__suggestive.jsonl",
    "surveillance.jsonl",
    "weapons__military.jsonl",
]
ALL_FILES = [*CATEGORY_FILES, MULTILINGUAL, CROSSLINGUAL]


@cache
def load(name: str) -> tuple[dict[str, Any], ...]:
    rows = []
    for number, line in enumerate((EXAMPLES / name).read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{name}:{number}: blank line"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{name}:{number}: not JSON: {exc}")
        assert isinstance(row, dict), f"{name}:{number}: not an object"
        rows.append(row)
    return tuple(rows)


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def test_the_folder_holds_exactly_the_listed_files() -> None:
    present = {p.name for p in EXAMPLES.glob("*.jsonl")}
    assert present == set(ALL_FILES)
    assert (EXAMPLES / "README.md").is_file()


def test_readme_lists_every_file() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in ALL_FILES:
        assert f"`{name}`" in readme, f"README.md does not list {name}"


@pytest.mark.parametrize("name", ALL_FILES)
def test_rows_have_the_project_format(name: str) -> None:
    content_ids = set(load_taxonomy().ids("content"))
    rows = load(name)
    assert rows, f"{name} is empty"
    for number, row in enumerate(rows, 1):
        where = f"{name}:{number}"
        assert set(row) == REQUIRED, f"{where}: fields {sorted(row)}"
        assert isinstance(row["text"], str), where
        assert row["text"] == row["text"].strip(), f"{where}: surrounding whitespace"
        assert len(row["text"]) >= 3, f"{where}: text too short"
        assert isinstance(row["flagged"], bool), where
        assert isinstance(row["categories"], list), where
        assert row["lang"] in LANGS, f"{where}: lang {row['lang']!r}"
        assert row["source"] == "aupguard-authored", where
        meta = row["meta"]
        assert isinstance(meta, dict), where
        assert meta.get("kind") in KINDS, f"{where}: meta.kind {meta.get('kind')!r}"
        assert isinstance(meta.get("note", ""), str), where
        unknown = set(row["categories"]) - content_ids
        assert not unknown, f"{where}: not taxonomy content categories: {unknown}"
        if row["flagged"]:
            assert row["categories"], f"{where}: flagged row without a category"
            assert meta["kind"] == "violating", where
        else:
            assert row["categories"] == [], f"{where}: benign row with categories"
            assert meta["kind"] != "violating", where


def test_no_duplicate_texts_across_files() -> None:
    seen: dict[str, str] = {}
    for name in ALL_FILES:
        for number, row in enumerate(load(name), 1):
            key = fold(row["text"])
            where = f"{name}:{number}"
            assert key not in seen, f"{where} repeats {seen[key]}: {row['text']!r}"
            seen[key] = where


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_category_file_is_about_its_category(name: str) -> None:
    category = name.removesuffix(".jsonl").replace("__", "/")
    assert category in load_taxonomy().categories
    for number, row in enumerate(load(name), 1):
        if row["flagged"]:
            assert row["categories"] == [category], f"{name}:{number}: {row['categories']}"
        assert row["meta"]["kind"] in {"violating", "hard-negative"}, f"{name}:{number}"


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_category_file_has_both_kinds_in_english_and_chinese(name: str) -> None:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in load(name):
        counts[(row["meta"]["kind"], row["lang"])] += 1
    for kind in ("violating", "hard-negative"):
        for lang in ("en", "zh"):
            assert counts[(kind, lang)] > 0, f"{name}: no {kind} rows in {lang}"


def test_crosslingual_groups_are_complete_and_parallel() -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for number, row in enumerate(load(CROSSLINGUAL), 1):
        group = row["meta"].get("group")
        assert isinstance(group, str) and group, f"{CROSSLINGUAL}:{number}: no meta.group"
        groups[group].append(row)
    violating = benign = 0
    for group, rows in groups.items():
        langs = [row["lang"] for row in rows]
        assert sorted(langs) == sorted(LANGS), f"{group}: languages {sorted(langs)}"
        labels = {(row["flagged"], tuple(row["categories"]), row["meta"]["kind"]) for row in rows}
        assert len(labels) == 1, f"{group}: members disagree on labels {labels}"
        flagged = rows[0]["flagged"]
        violating += flagged
        benign += not flagged
    assert violating >= 30
    assert benign >= 5
