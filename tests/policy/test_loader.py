"""Pack loading: validation errors are compiler-style (file:line:col) and nothing loads half-way."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aupguard.policy.loader import PackError, load_pack_file
from aupguard.policy.models import Action, FailureMode, Surface
from aupguard.policy.registry import PackRegistry, UnknownPackError

BASE = """\
id: base-pack
name: Base pack
version: 1.0.0
clauses:
  - id: "1"
    title: No sexual content
    quote: No sexual content.
    surface: content
    categories: [sexual]
    action: block
  - id: "2"
    title: No hate
    quote: No hate.
    surface: content
    categories: [hate]
    thresholds:
      hate: {review: 0.4, block: 0.7}
    action: block
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PackError) as info:
        load_pack_file(path)
    return [str(p) for p in info.value.problems]


def test_valid_pack_loads(tmp_path: Path) -> None:
    loaded = load_pack_file(write(tmp_path, "base.yaml", BASE))
    assert loaded.pack.id == "base-pack"
    assert [c.id for c in loaded.pack.clauses] == ["1", "2"]


@pytest.mark.parametrize(
    ("replace", "with_", "line", "needle"),
    [
        ("categories: [sexual]", "categories: [sexaul]", 9, "unknown category 'sexaul'"),
        (
            "hate: {review: 0.4, block: 0.7}",
            "hate: {review: 0.4, block: 1.5}",
            17,
            "less than or equal to 1",
        ),
        (
            "hate: {review: 0.4, block: 0.7}",
            "hate: {review: 0.9, block: 0.7}",
            17,
            "review must be <= block",
        ),
        ("    action: block\n  - id", "    action: obliterate\n  - id", 10, "action"),
        (
            "    surface: content\n    categories: [hate]",
            "    surface: contnt\n    categories: [hate]",
            14,
            "surface",
        ),
        ("    title: No hate", "    title: No hate\n    severity: 3", 13, "unknown key 'severity'"),
        ("id: base-pack", "id: Base Pack!", 1, "id"),
    ],
)
def test_invalid_pack_names_file_and_line(
    tmp_path: Path, replace: str, with_: str, line: int, needle: str
) -> None:
    assert replace in BASE
    path = write(tmp_path, "bad.yaml", BASE.replace(replace, with_, 1))
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line}:"), problems
    assert needle in problems[0]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", BASE.replace("    title: No hate", "    title: [No hate"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:")
    assert "YAML syntax error" in problem
    line = int(problem.split(":")[1])
    assert 12 <= line <= 14


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dup.yaml",
        BASE.replace(
            "    action: block\n  - id", "    action: block\n    action: allow\n  - id", 1
        ),
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:11:")
    assert "duplicate key 'action'" in problem


@pytest.mark.parametrize(
    ("content", "needle"),
    [("", "empty"), ("- a\n- b\n", "mapping"), (b"id: \xff\xfe\n", "UTF-8")],
)
def test_unusable_files(tmp_path: Path, content: str | bytes, needle: str) -> None:
    path = tmp_path / "x.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    (problem,) = problems_of(path)
    assert needle in problem


def test_missing_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "no such file" in problem


def registry_with(tmp_path: Path, *packs: tuple[str, str]) -> PackRegistry:
    registry = PackRegistry()
    for name, text in packs:
        registry.add(load_pack_file(write(tmp_path, name, text)))
    return registry


CHILD = """\
id: strict-child
name: Stricter operator pack
version: 2.0.0
extends: base-pack
overrides:
  "2":
    thresholds:
      hate: {block: 0.5}
  "1":
    action: review
remove_clauses: []
clauses:
  - id: op-1
    title: No crypto mining
    quote: Do not mine cryptocurrency.
    surface: content
    categories: [crypto-mining]
    action: block
"""


def test_extends_overrides_and_adds(tmp_path: Path) -> None:
    registry = registry_with(tmp_path, ("base.yaml", BASE), ("child.yaml", CHILD))
    resolved = registry.get("strict-child")
    pack = resolved.pack
    assert resolved.lineage == ("strict-child@2.0.0", "base-pack@1.0.0")
    assert [c.id for c in pack.clauses] == ["1", "2", "op-1"]
    assert pack.clause("1").action is Action.REVIEW
    hate = pack.thresholds_for(pack.clause("2"), "hate")
    assert (hate.review, hate.block) == (0.4, 0.5)
    # the parent is untouched
    assert registry.get("base-pack").pack.clause("1").action is Action.BLOCK


def test_extending_pack_merges_defaults_field_by_field(tmp_path: Path) -> None:
    parent = BASE.replace(
        "clauses:\n",
        "defaults:\n  minimum_age: 18\n  failure_mode: {content: review}\n"
        "  behaviour:\n    abuse.key_sharing: {networks: 12, window_s: 600}\nclauses:\n",
        1,
    )
    child = CHILD.replace(
        "remove_clauses: []\n",
        "remove_clauses: []\ndefaults:\n  behaviour:\n    abuse.key_sharing: {networks: 20}\n"
        "  failure_mode: {behaviour: allow}\n",
    )
    registry = registry_with(tmp_path, ("base.yaml", parent), ("child.yaml", child))
    defaults = registry.get("strict-child").pack.defaults
    assert defaults.minimum_age == 18  # inherited, not reset by setting `behaviour`
    assert defaults.behaviour == {"abuse.key_sharing": {"networks": 20, "window_s": 600}}
    assert defaults.failure_mode[Surface.CONTENT] is FailureMode.CLOSED_REVIEW
    assert defaults.failure_mode[Surface.BEHAVIOUR] is FailureMode.OPEN


def test_remove_clause(tmp_path: Path) -> None:
    child = CHILD.replace("remove_clauses: []", 'remove_clauses: ["1"]').replace(
        '  "1":\n    action: review\n', ""
    )
    registry = registry_with(tmp_path, ("base.yaml", BASE), ("child.yaml", child))
    assert [c.id for c in registry.get("strict-child").pack.clauses] == ["2", "op-1"]


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("extends: base-pack", "extends: no-such-pack"), "unknown policy 'no-such-pack'"),
        (('  "1":\n    action: review', '  "9":\n    action: review'), "not a clause of base-pack"),
        (("  - id: op-1", '  - id: "2"'), "already exists in base-pack"),
        (("      hate: {block: 0.5}", "      sexual: {block: 0.5}"), "not among"),
    ],
)
def test_bad_extension_names_file_and_line(
    tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    registry = registry_with(tmp_path, ("base.yaml", BASE), ("child.yaml", CHILD.replace(*edit)))
    with pytest.raises(PackError) as info:
        registry.get("strict-child")
    text = str(info.value)
    assert needle in text
    assert str(tmp_path / "child.yaml") + ":" in text


def test_cycle_in_extends(tmp_path: Path) -> None:
    a = BASE.replace("id: base-pack", "id: pack-a\nextends: pack-b")
    b = BASE.replace("id: base-pack", "id: pack-b\nextends: pack-a")
    registry = registry_with(tmp_path, ("a.yaml", a), ("b.yaml", b))
    with pytest.raises(PackError) as info:
        registry.get("pack-a")
    assert "cycle in `extends`" in str(info.value)
    assert f"{tmp_path / 'b.yaml'}:2:" in str(info.value) or f"{tmp_path / 'a.yaml'}:2:" in str(
        info.value
    )


def test_self_extension_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path, "self.yaml", BASE.replace("id: base-pack", "id: base-pack\nextends: base-pack")
    )
    assert any("extends itself" in p for p in problems_of(path))


def test_versions(tmp_path: Path) -> None:
    v2 = BASE.replace("version: 1.0.0", "version: 1.10.0")
    registry = registry_with(tmp_path, ("v1.yaml", BASE), ("v2.yaml", v2))
    assert registry.get("base-pack").version == "1.10.0"  # numeric, not string, ordering
    assert registry.get("base-pack@1.0.0").version == "1.0.0"
    assert registry.versions("base-pack") == ["1.0.0", "1.10.0"]
    with pytest.raises(UnknownPackError, match=r"base-pack@1\.0\.0"):
        registry.get("base-pack@3.0.0")


def test_same_version_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="also defined in"):
        registry_with(tmp_path, ("a.yaml", BASE), ("b.yaml", BASE))


def test_unknown_pack_lists_known(tmp_path: Path) -> None:
    registry = registry_with(tmp_path, ("base.yaml", BASE))
    with pytest.raises(UnknownPackError) as info:
        registry.get("krea-3")
    assert "unknown policy 'krea-3'" in str(info.value)
    assert "base-pack" in str(info.value)
