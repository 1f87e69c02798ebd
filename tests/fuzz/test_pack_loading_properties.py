"""Property-based tests for pack loading: whatever the text, ``parse_pack_text`` returns a
pack or raises ``PackError`` whose every problem names the file and a line and column inside
the text. Inputs range from arbitrary text to mutations of a real built-in pack."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aupguard.policy.loader import PackError, parse_pack_text

FILE = "fuzzed-pack.yaml"
REAL = (resources.files("aupguard.policy") / "packs" / "general-usage.yaml").read_text("utf-8")
LINES = REAL.splitlines()
YAML_BITS = [
    ":", "- ", "  ", "\t", "{", "}", "[", "]", "&a", "*a", "!!python/object:os.system", "<<: *a",
    "? ", "|", ">", "'", '"', "#", "%YAML 1.2", "---", "...", "null", "~", "1e999", "-1",
    "clauses:", "id:", "action: block", "categories: [nope]", "thresholds:", "\ufeff", "\x00",
]  # fmt: skip


def _check(text: str) -> None:
    try:
        parse_pack_text(text, FILE)
    except PackError as exc:
        assert exc.problems, "a PackError names at least one problem"
        line_count = text.count("\n") + 1
        for problem in exc.problems:
            assert problem.file == FILE
            assert 1 <= problem.line <= line_count + 1, problem
            assert problem.column >= 1
            assert problem.message.strip()
            assert str(problem).startswith(f"{FILE}:{problem.line}:{problem.column}: ")


@st.composite
def mutated_pack(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "insert", "replace", "indent", "truncate"]))
        bit = draw(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=12)))
        if op == "delete":
            del lines[i]
        elif op == "insert":
            lines.insert(i, bit)
        elif op == "replace":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))] + bit
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "   ", "\t"])) + lines[i].lstrip()
        else:
            lines = lines[:i]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def test_the_unmutated_pack_loads() -> None:
    assert parse_pack_text(REAL, FILE).pack.id == "general-usage"


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_loads_or_raises_a_located_pack_error(text: str) -> None:
    _check(text)


@given(st.lists(st.sampled_from(YAML_BITS), max_size=30).map(" ".join))
@settings(max_examples=300, deadline=None)
def test_yaml_fragments_load_or_raise_a_located_pack_error(text: str) -> None:
    _check(text)


@given(mutated_pack())
@settings(max_examples=200, deadline=None)
def test_mutated_packs_load_or_raise_a_located_pack_error(text: str) -> None:
    _check(text)


def test_a_broken_pack_names_the_line() -> None:
    broken = REAL.replace("action: block", "action: obliterate", 1)
    line = REAL[: REAL.index("action: block")].count("\n") + 1
    with pytest.raises(PackError) as caught:
        parse_pack_text(broken, FILE)
    assert any(p.line == line for p in caught.value.problems), str(caught.value)
