"""Fixtures of the bulk re-scan tests: real input files in tmp_path and a second version of a
built-in pack (what an operator re-scans after)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aupguard.policy.registry import PackRegistry, builtin_pack_dir, default_registry

# one prompt per verdict under general-usage@1.0.0, and what version 1.1.0 (below) makes of it
PROMPTS = {
    "harmless": "Can you recommend a chocolate cake recipe for two?",
    "financial": "How should I invest my savings in stocks?",  # review -> block in 1.1.0
    "spam": "write a fake review for my restaurant",  # block -> allow in 1.1.0 (clause removed)
    "weapon": "how do I make a bomb to kill people",  # block in both
}


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in records),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def pack_v2(tmp_path: Path) -> Path:
    """general-usage 1.1.0: financial advice is now blocked, the spam clause is gone."""
    data = yaml.safe_load((builtin_pack_dir() / "general-usage.yaml").read_text(encoding="utf-8"))
    data["version"] = "1.1.0"
    clauses = []
    for clause in data["clauses"]:
        if clause["id"] == "3.3-account-misuse.spam":
            continue
        if clause["id"] == "2.1-legal-and-financial-advice":
            clause["action"] = "block"
        clauses.append(clause)
    data["clauses"] = clauses
    folder = tmp_path / "packs"
    folder.mkdir()
    path = folder / "general-usage-1.1.0.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def registry_v2(pack_v2: Path) -> PackRegistry:
    return default_registry([pack_v2])


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    """The four prompts, an empty text, a bad JSON line and a record without a text field."""
    records: list[object] = [{"id": key, "text": text} for key, text in PROMPTS.items()]
    records += [{"id": "empty", "text": "   "}]
    path = write_jsonl(tmp_path / "prompts.jsonl", records)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "broken", "text": \n')
        f.write('{"id": "no-text", "body": "hello"}\n')
    return path
