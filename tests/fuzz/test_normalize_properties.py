"""Property-based tests for text normalisation: it never raises, its offset map is exact, it
is idempotent, and every evidence span a detector reports maps back into the original text."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aupguard.engine.moderator import Moderator
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry
from aupguard.text.normalize import normalize, squeeze_repeats

# what people put between and inside words to slip them past filters
TRICKS = [
    "\u200b", "\u200d", "\u00ad", "\u202e", "\ufe0f", "\U000e0041", " ", ".", "|", "-", "\t",
    "0", "3", "1", "@", "$", "ａ", "ѕ", "е", "о", "ρ", "é", "\u0301", "色", "情", "ß", "İ",
    "ﬁ", "Ⅻ", "①", "𝐤", "🇺",
]  # fmt: skip
WORDS = ["kill", "porn", "nude", "bomb", "nazi", "sex", "gun", "hate", "meth", "a", "the"]

texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(TRICKS + WORDS), max_size=40).map("".join),
    st.lists(
        st.one_of(st.sampled_from(WORDS), st.sampled_from(TRICKS), st.text(max_size=3)),
        max_size=30,
    ).map(" ".join),
)


def _check_offsets(original: str) -> None:
    nt = normalize(original)
    assert nt.original == original
    assert len(nt.offsets) == len(nt.text) + 1
    assert nt.offsets[-1] == len(original)
    assert all(a <= b for a, b in zip(nt.offsets, nt.offsets[1:], strict=False))
    assert all(0 <= o < len(original) for o in nt.offsets[:-1])


@given(texts)
@settings(max_examples=400, deadline=None)
def test_normalize_never_raises_and_its_offsets_are_exact(original: str) -> None:
    _check_offsets(original)


@given(texts, st.data())
@settings(max_examples=300, deadline=None)
def test_every_span_maps_back_inside_the_original(original: str, data: st.DataObject) -> None:
    nt = normalize(original)
    start = data.draw(st.integers(0, len(nt.text)))
    end = data.draw(st.integers(start, len(nt.text)))
    a, b = nt.to_original(start, end)
    assert 0 <= a <= b <= len(original)
    if end > start:  # a non-empty span covers the original characters that made it
        assert b > a
        assert nt.offsets[start] == a and b >= nt.offsets[end - 1] + 1


@given(texts)
@settings(max_examples=400, deadline=None)
def test_normalize_is_idempotent(original: str) -> None:
    once = normalize(original).text
    assert normalize(once).text == once


@given(texts)
@settings(max_examples=200, deadline=None)
def test_squeezing_repeats_keeps_the_offsets_exact(original: str) -> None:
    squeezed = squeeze_repeats(normalize(original))
    assert len(squeezed.offsets) == len(squeezed.text) + 1
    assert squeezed.offsets[-1] == len(original)
    assert all(0 <= o < len(original) for o in squeezed.offsets[:-1])


@cache
def _moderator() -> Moderator:
    return Moderator(default_registry().get("general-usage"))


@given(texts.filter(lambda t: t.strip() and "\x00" not in t))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_detector_evidence_spans_point_into_the_original(original: str) -> None:
    verdict = _moderator().check(original, Modality.PROMPT)
    for evidence in verdict.evidence:
        if evidence.start is None:
            continue
        assert evidence.end is not None
        assert 0 <= evidence.start <= evidence.end <= len(original), evidence
