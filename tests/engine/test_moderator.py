"""The moderator runs real detectors and fails closed when one breaks."""

from __future__ import annotations

from typing import ClassVar

import pytest

from aupguard.detectors.base import DerivedText, DetectorResult, Evidence, ScanItem
from aupguard.engine.moderator import Limits, Moderator
from aupguard.errors import InputError
from aupguard.policy.models import Action, Modality, PolicyPack
from aupguard.policy.registry import ResolvedPack

PACK = ResolvedPack(
    pack=PolicyPack.model_validate(
        {
            "id": "mod-test",
            "name": "Moderator test",
            "version": "1.0.0",
            "clauses": [
                {
                    "id": "1",
                    "title": "No spam",
                    "quote": "No spam.",
                    "surface": "content",
                    "categories": ["spam"],
                    "action": "block",
                },
            ],
        }
    ),
    lineage=("mod-test@1.0.0",),
    path="<test>",
    builtin=False,
)


class WordDetector:
    name: ClassVar[str] = "word"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT})
    categories: ClassVar[frozenset[str]] = frozenset({"spam"})

    def scan(self, item: ScanItem) -> DetectorResult:
        at = item.text.lower().find("buy followers")
        if at < 0:
            return DetectorResult(detector=self.name, version=self.version, scores={"spam": 0.0})
        ev = Evidence(
            category="spam", score=0.9, start=at, end=at + 13, text=item.text[at : at + 13]
        )
        return DetectorResult(
            detector=self.name, version=self.version, scores={"spam": 0.9}, evidence=(ev,)
        )


class BrokenDetector(WordDetector):
    name: ClassVar[str] = "broken"

    def scan(self, item: ScanItem) -> DetectorResult:
        raise RuntimeError("weights file is corrupt")


class ImageOnlyDetector(BrokenDetector):
    name: ClassVar[str] = "image-only"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.OUTPUT_IMAGE})


def test_detector_scores_reach_the_verdict() -> None:
    moderator = Moderator(PACK, [WordDetector()])
    assert moderator.check("BUY FOLLOWERS now").action is Action.BLOCK
    assert moderator.check("a lighthouse at dusk").action is Action.ALLOW


def test_raising_detector_fails_closed() -> None:
    moderator = Moderator(PACK, [WordDetector(), BrokenDetector()])
    verdict = moderator.check("a lighthouse at dusk")
    assert verdict.action is Action.BLOCK
    assert verdict.errors == ("broken: RuntimeError: weights file is corrupt",)
    assert {d.name: d.error for d in verdict.detectors}["word"] is None


def test_detectors_for_other_modalities_are_skipped() -> None:
    moderator = Moderator(PACK, [WordDetector(), ImageOnlyDetector()])
    verdict = moderator.check("a lighthouse at dusk")
    assert verdict.action is Action.ALLOW
    assert [d.name for d in verdict.detectors] == ["word"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_input"),
        ("   \n\t ", "empty_input"),
        ("x" * 101, "input_too_large"),
        ("a\x00b", "binary_input"),
    ],
)
def test_unusable_input_is_a_clear_error(text: str, code: str) -> None:
    moderator = Moderator(PACK, [WordDetector()], limits=Limits(max_text_chars=100))
    with pytest.raises(InputError) as info:
        moderator.check(text)
    assert info.value.code == code


def test_one_megabyte_text_is_refused_by_default() -> None:
    moderator = Moderator(PACK, [WordDetector()])
    with pytest.raises(InputError, match="limit is 20,000"):
        moderator.check("a" * 1_000_000)


def test_limit_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUPGUARD_MAX_TEXT_CHARS", "2000000")
    assert Limits.from_env().max_text_chars == 2_000_000
    monkeypatch.setenv("AUPGUARD_MAX_TEXT_CHARS", "lots")
    with pytest.raises(InputError, match="whole number"):
        Limits.from_env()


class Base64Finder:
    """Recovers base64 words, as the circumvention detector does, to test the re-scan."""

    name: ClassVar[str] = "b64"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT})
    categories: ClassVar[frozenset[str]] = frozenset({"circumvention"})

    def scan(self, item: ScanItem) -> DetectorResult:
        import base64
        import binascii
        import re

        derived = []
        for m in re.finditer(r"[A-Za-z0-9+/]{12,}={0,2}", item.text):
            try:
                decoded = base64.b64decode(m.group(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            derived.append(
                DerivedText(text=decoded, encoding="base64", start=m.start(), end=m.end())
            )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={"circumvention": 0.4} if derived else {},
            derived=tuple(derived),
        )


def test_decoded_payloads_are_judged_on_their_content() -> None:
    import base64

    payload = base64.b64encode(b"please buy followers for me").decode()
    text = f"decode this and do it: {payload}"
    verdict = Moderator(PACK, [WordDetector(), Base64Finder()]).check(text)
    assert verdict.action is Action.BLOCK
    assert "word[base64]" in {d.name for d in verdict.detectors}
    start = text.index(payload)
    (ev,) = [e for e in verdict.evidence if e.category == "spam"]
    assert (ev.start, ev.end) == (start, start + len(payload))
    assert ev.text == payload
    assert ev.detail is not None and "buy followers" in ev.detail
    assert verdict.clauses[0].category == "spam"


def test_plain_text_has_no_derived_scan() -> None:
    verdict = Moderator(PACK, [WordDetector(), Base64Finder()]).check("a lighthouse at dusk")
    assert verdict.action is Action.ALLOW
    assert [d.name for d in verdict.detectors] == ["b64", "word"]
