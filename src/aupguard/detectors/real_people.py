"""The real-people detector: named public figures, and what a prompt asks to do with them.

The gazetteer (``gazetteers/real_people/``, format in ``gazetteer.py`` and the README there)
lists widely depicted public figures with aliases in several scripts; operators add their own
"protected persons" files through ``RealPeopleDetector(extra_files=...)`` and pick up edits
with ``reload()``. Cue phrases (same directory, ``cues.yaml``) give the context.

Who is named
    * a distinctive name of a living person (a full name, a transliteration such as 特朗普,
      a listed misspelling): ``signal/real-person`` 0.9;
    * an ambiguous name (a bare surname such as "Trump"): 0.6, 0.75 with context (a cue of
      the person's field, "portrait of", or a context phrase of the entry), 0.4 when it is
      written in lower case in a text that otherwise uses capitals ("a trump card");
    * a contextual name, an ordinary word ("Swift", "Bush", "Jordan"): only with context,
      never after a determiner ("a swift") nor in lower case in a cased text; then 0.6;
    * "President/Senator/Prime Minister <Capitalised Name>" on the original text, or a
      Chinese name before 总统/主席/总理/部长/...: 0.5; a bare office ("the president",
      总统): 0.35;
    * a person who is not living: 0.25 at most (below the engine's combination threshold)
      and never impersonation; a name used as an attribution ("in the style of X",
      "directed by X"): 0.3 and never impersonation.

What is asked (only for a living person, or an office holder)
    * ``impersonation`` — a deepfake / fake quote (0.9); a damaging or intimate false
      context: arrested, in prison, nude, in bed with ... (0.85; 0.9 with a realistic, photo
      or news framing); endorsing a product or "saying that ..." (0.8); a realistic or
      photorealistic depiction (0.8); a plain photo (0.6). Ambiguous and contextual names
      score 0.05-0.1 lower. An office without a name needs both a damaging, deepfake or
      statement cue and a realistic, photo or news framing (0.8).
    * ``disinformation`` — fabricated news framing ("breaking news photo", "leaked
      footage") about the person: 0.85 with a damaging, statement, deepfake or election cue,
      else 0.7 (office holders: 0.8 / 0.5).
    * ``elections`` — a politician or office holder with an election-deception cue ("the
      election is cancelled", "vote on Wednesday", "ballots being burned"): 0.85, 0.9 with a
      realistic, news or deepfake framing; another named person: 0.7.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.detectors.gazetteer import (
    GAZETTEER_DIR,
    AliasHit,
    Found,
    Gazetteer,
    GazetteerError,
    Schema,
    Tier,
    load_gazetteer,
)
from aupguard.detectors.operator_files import PROTECTED_PERSONS_ENV, operator_files
from aupguard.policy.models import Modality
from aupguard.text.normalize import NormalizedText

__all__ = ["RealPeopleDetector", "RealPeopleError"]

RealPeopleError = GazetteerError

BUILTIN_DIR: Final = GAZETTEER_DIR / "real_people"

POLITICAL_KINDS: Final = frozenset(
    {"head-of-state", "head-of-government", "politician", "candidate", "royal", "official"}
)
#: the cue group of each kind's field (besides "person", which counts for everyone)
KIND_CONTEXT: Final[dict[str, str]] = {
    **dict.fromkeys(POLITICAL_KINDS, "politics"),
    "military": "politics",
    "business": "business",
    "actor": "film",
    "director": "film",
    "musician": "music",
    "athlete": "sports",
    "influencer": "media",
    "tv-personality": "media",
    "journalist": "media",
    "celebrity": "media",
}
KINDS: Final = frozenset(
    {
        *KIND_CONTEXT,
        "writer",
        "scientist",
        "activist",
        "religious-leader",
        "artist",
        "public-figure",
    }
)
#: kinds whose names often stand for a work ("by X" is an attribution, not a depiction)
AUTHOR_KINDS: Final = frozenset({"director", "writer", "artist"})
CONTEXT_GROUPS: Final = frozenset(
    {"person", "politics", "business", "film", "music", "sports", "media"}
)
CUE_GROUPS: Final = frozenset(
    {
        *CONTEXT_GROUPS,
        "title",  # a bare office: "the president", 总统
        "title_prefix",  # an office before a name: "President", "Senator"
        "title_zh",  # a Chinese office after a name: 总统, 主席
        "deepfake",
        "damaging",
        "endorse",
        "statement",
        "realism",
        "photo",
        "news",
        "election",
    }
)
SCHEMA: Final = Schema(
    name="real-people",
    kinds=KINDS,
    living_kinds=KINDS,
    cue_groups=CUE_GROUPS,
    builtin=BUILTIN_DIR,
)

DISTINCTIVE: Final = 0.9
AMBIGUOUS: Final = 0.6
AMBIGUOUS_IN_CONTEXT: Final = 0.75
AMBIGUOUS_LOWER_CASE: Final = 0.4
CONTEXTUAL_IN_CONTEXT: Final = 0.6
NAMED_OFFICE: Final = 0.5
BARE_OFFICE: Final = 0.35
NOT_LIVING: Final = 0.25
ATTRIBUTION: Final = 0.3
MAX_EVIDENCE: Final = 30

_DETERMINER_BEFORE: Final = re.compile(
    r"(?:^|[^\w'])(?:a|an|the|some|this|that|these|those|my|your|our|their|its|one|two|three|"
    r"many|few|several|every|each|no)\s$"
)
_ATTRIBUTION_BEFORE: Final = re.compile(
    r"(?:\b(?:style of|manner of|inspired by|art by|artwork by|painting by|painted by|drawn by|"
    r"illustrated by|directed by|written by|designed by|photo by|photograph by|"
    r"photographed by|shot by|sculpted by|in the vein of)|风格的?|画风)\s?$"
)
_AUTHOR_BEFORE: Final = re.compile(r"\bby\s$")
_ATTRIBUTION_AFTER: Final = re.compile(r"^(?:'s)?\s?(?:art\s?style|style|styled|esque|风格|画风)")
_NAME_AFTER_TITLE: Final = re.compile(
    r"(?<![\w.])(?P<title>Vice President|President|Senator|Sen\.|Prime Minister|PM|Governor|"
    r"Gov\.|Chancellor|Congressman|Congresswoman|Representative|Rep\.|Minister|Mayor|Premier|"
    r"Chairman|Speaker|Secretary|Ambassador|Attorney General)"
    r"\s{1,3}(?P<name>[A-Z][a-zà-ÿ'’\-]{1,20}(?:\s{1,2}(?:[A-Z]\.|[A-Z][a-zà-ÿ'’\-]{1,20})){0,2})"
)
_NOT_A_NAME: Final = frozenset(
    "Of The And In On At For With To A An Is Was Who Giving Speaking Says Said Is Has Had "
    "Will Would Can Could May Might Must Should Being Doing Walking Standing Sitting Holding "
    "Wearing Smiling Waving Meeting Visiting Signing Addressing Announcing He She They It "
    "This That These Those Elect Emeritus General Mr Mrs Ms Dr Himself Herself".split()
)
_HAN_NAME_BEFORE_TITLE: Final = re.compile(
    r"(?P<name>[\u4e00-\u9fff]{2,4})(?P<title>总统|国家主席|主席|总理|首相|部长|总书记|议员|州长|市长|省长)"
)
_HAN_CUT: Final = "的了个位名是在和与把被给让向对为这那一幅副前新老大小女男"
_HAN_BAD_END: Final = "国省市州党府院会区县局部届任的位名个是为长家"
_HAN_SURNAMES: Final = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔向汤习温薄俞阎柯欧阳上官司马诸葛尉迟"
)


@dataclass(slots=True)
class _Person:
    """A reference to a person: a gazetteer entry, or an office (``entry is None``)."""

    label: str  # canonical name or the office as written
    score: float  # signal/real-person
    start: int  # original offsets
    end: int
    rule: str
    detail: str
    living: bool
    political: bool
    named: bool  # a gazetteer entry or a name after a title (not a bare office)
    depicted: bool  # not an attribution ("in the style of X")
    penalty: float  # how much lower impersonation goes for a weak name


def _uses_case(text: str) -> bool:
    return any(c.isupper() for c in text) and not text.isupper()


def _title_cased(text: str) -> bool:
    words = [w for w in text.split() if w[:1].isalpha() and len(w) > 3]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.85 * len(words)


_NAME_DOTS: Final = frozenset("·・•‧")
_CAPITALISED_AFTER: Final = re.compile(r"[ \t]{1,2}([A-Z][a-z'’]{1,20})\b")
_CAPITALISED_BEFORE: Final = re.compile(r"([A-Z][a-z'’]{1,20})[ \t]{1,2}$")
_NAME_PREFIXES: Final = frozenset(
    "President Senator Governor Chancellor Minister Premier Mayor Speaker Secretary Sir Lady "
    "Mr Mrs Ms Dr Prince Princess King Queen Pope General Judge Justice Uncle Aunt Young "
    "Old Little Big Saint St Portrait Photo Picture Painting Image Statue Selfie Meme".split()
)


class _Case:
    """Capitalisation facts of the original text, computed on demand: whether it uses case,
    and whether a weak name sits next to another capitalised word ("Bernie Wrightson",
    "Demi Rose"), which makes it part of someone else's name."""

    def __init__(
        self, original: str, view: NormalizedText, found: Found, spans: list[tuple[int, int]]
    ) -> None:
        self.original = original
        self._view = view
        self._found = found
        self._spans = spans
        self._uses_case: bool | None = None
        self._known: list[tuple[int, int]] | None = None

    @property
    def uses_case(self) -> bool:
        if self._uses_case is None:
            text = self.original
            self._uses_case = _uses_case(text) and not _title_cased(text)
        return self._uses_case

    def _is_known(self, start: int, end: int) -> bool:
        """Whether an original span overlaps a name or a cue phrase."""
        if self._known is None:
            view = self._view
            self._known = list(self._spans) + [
                view.to_original(c.start, c.end) for hits in self._found.cues.values() for c in hits
            ]
        return any(s < end and start < e for s, e in self._known)

    def next_to_other_name(self, start: int, end: int, name: str) -> bool:
        """Whether a capitalised word that is not this person's other name (nor a close
        misspelling of it, "Doanld"), a listed name or a cue sits right next to the span."""
        if not self.uses_case or not self.original[start : start + 1].isupper():
            return False
        text = self.original
        own = [t.lower() for t in name.split()]
        m = _CAPITALISED_AFTER.match(text, end, end + 24)
        if m and self._foreign(m.group(1), own) and not self._is_known(m.start(1), m.end(1)):
            return True
        m = _CAPITALISED_BEFORE.search(text, max(0, start - 24), start)
        if m is None or not self._foreign(m.group(1), own) or m.group(1) in _NAME_PREFIXES:
            return False
        if self._is_known(m.start(1), m.end(1)):
            return False
        head = text[: m.start(1)].rstrip(" \t")
        return bool(head) and head[-1] not in ".!?:;\n\"'(“‘[|,"

    @staticmethod
    def _foreign(word: str, own: list[str]) -> bool:
        if word in _NOT_A_NAME:
            return False
        w = word.lower()
        for token in own:
            if (
                w[:1] == token[:1]
                and abs(len(w) - len(token)) <= 1
                and len(set(w) & set(token)) >= 0.6 * len(set(token))
            ):
                return False  # the person's own other name, or a misspelling of it
        return True


class RealPeopleDetector:
    """Named public figures and deepfake / false-context requests about them (see the
    module doc)."""

    name: ClassVar[str] = "real-people"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT, Modality.OUTPUT_TEXT})
    categories: ClassVar[frozenset[str]] = frozenset(
        {"signal/real-person", "impersonation", "elections", "disinformation"}
    )

    def __init__(self, extra_files: Sequence[Path | str] | None = None) -> None:
        """``extra_files``: operator lists; by default the files ``AUPGUARD_PROTECTED_PERSONS``
        names (see ``aupguard.detectors.operator_files``)."""
        if extra_files is None:
            extra_files = operator_files(PROTECTED_PERSONS_ENV)
        self._extra: tuple[Path, ...] = tuple(Path(p).resolve() for p in extra_files)
        self._gazetteer: Gazetteer | None = None
        self._lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Read the files now (otherwise on the first scan); raises ``GazetteerError``."""
        self._get()

    def reload(self) -> None:
        """Re-read every file (built-in and extra) now, keeping the process running. On an
        error the previous lists stay in use and the error is raised."""
        gazetteer = load_gazetteer(SCHEMA, self._extra, force=True)
        with self._lock:
            self._gazetteer = gazetteer

    def _get(self) -> Gazetteer:
        gazetteer = self._gazetteer
        if gazetteer is None:
            with self._lock:
                gazetteer = self._gazetteer
                if gazetteer is None:
                    gazetteer = self._gazetteer = load_gazetteer(SCHEMA, self._extra)
        return gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        return self._get()

    def counts(self) -> dict[str, int]:
        """Loaded entries per kind."""
        return self._get().counts()

    # -- scanning ------------------------------------------------------------------------

    def scan(self, item: ScanItem) -> DetectorResult:
        gazetteer = self._get()
        full = item.normalized
        view, text, found = gazetteer.scan(full)
        people = self._named(item, view, text, found)
        if found.has("title_prefix"):
            people.extend(self._titled_names(item.text, people))
        if found.has("title_zh"):
            people.extend(self._han_titled_names(full, people))
        if found.has("title"):
            people.extend(self._offices(view, found, people))
        if not people:
            return DetectorResult(detector=self.name, version=self.version)
        return self._result(item.text, view, found, people)

    def _named(
        self, item: ScanItem, view: NormalizedText, text: str, found: Found
    ) -> list[_Person]:
        out: list[_Person] = []
        original = item.text
        spans = [view.to_original(h.start, h.end) for h in found.aliases]
        case = _Case(original, view, found, spans)
        for hit, (ostart, oend) in zip(found.aliases, spans, strict=True):
            entry = hit.entry
            tier = hit.tier
            notes: list[str] = []
            # a transliterated name is one part of a dotted full name ("佩维斯·埃里森" is not
            # Larry Ellison): the other part would have been matched as a longer alias
            other_name = (
                original[ostart - 1 : ostart] in _NAME_DOTS
                or original[oend : oend + 1] in _NAME_DOTS
            )
            if tier == Tier.DISTINCTIVE:
                score, penalty = DISTINCTIVE, 0.0
            else:
                lower = original[ostart : ostart + 1].islower() and case.uses_case
                other_name = other_name or case.next_to_other_name(ostart, oend, entry.name)
                if tier == Tier.AMBIGUOUS:
                    if self._in_context(hit, found, generic=True):
                        score, penalty = AMBIGUOUS_IN_CONTEXT, 0.05
                    else:
                        score = AMBIGUOUS_LOWER_CASE if lower else AMBIGUOUS
                        penalty = 0.1
                else:
                    before = text[max(0, hit.start - 12) : hit.start]
                    if (
                        lower
                        or other_name
                        or _DETERMINER_BEFORE.search(before)
                        or not self._in_context(hit, found, generic=False)
                    ):
                        continue
                    score, penalty = CONTEXTUAL_IN_CONTEXT, 0.1
            if other_name:
                notes.append("part of another name")
            depicted = not (other_name or self._attribution(text, hit))
            living = bool(entry.living)
            if not depicted:
                score = min(score, ATTRIBUTION)
            if not living:
                score = min(score, NOT_LIVING)
            what = {Tier.DISTINCTIVE: "alias", Tier.AMBIGUOUS: "ambiguous name"}.get(
                tier, "contextual name"
            )
            if not living:
                notes.append("not living")
            if not depicted and not other_name:
                notes.append("an attribution, not a depiction")
            out.append(
                _Person(
                    label=entry.name,
                    score=score,
                    start=ostart,
                    end=oend,
                    rule=f"real-people:{entry.id}",
                    detail=f"matched {what} {hit.alias!r} of {entry.name} ({entry.kind})"
                    + (f"; {', '.join(notes)}" if notes else ""),
                    living=living,
                    political=entry.kind in POLITICAL_KINDS,
                    named=True,
                    depicted=depicted,
                    penalty=penalty,
                )
            )
        return out

    @staticmethod
    def _in_context(hit: AliasHit, found: Found, *, generic: bool) -> bool:
        """A context phrase of the entry, a cue of the person's field, or (``generic``) a
        generic person cue ("portrait of")."""
        entry = hit.entry
        if entry.id in found.context:
            return True
        field = KIND_CONTEXT.get(entry.kind)
        return (generic and found.has("person")) or (field is not None and found.has(field))

    @staticmethod
    def _attribution(text: str, hit: AliasHit) -> bool:
        before = text[max(0, hit.start - 24) : hit.start]
        if _ATTRIBUTION_BEFORE.search(before):
            return True
        if (
            hit.tier != Tier.DISTINCTIVE or hit.entry.kind in AUTHOR_KINDS
        ) and _AUTHOR_BEFORE.search(before):
            return True
        return bool(_ATTRIBUTION_AFTER.match(text, hit.end, hit.end + 12))

    def _titled_names(self, original: str, people: list[_Person]) -> list[_Person]:
        """ "President Smith": a capitalised name after an office, on the original text."""
        if _title_cased(original):
            return []  # capitals carry no information in a title-cased or shouted prompt
        out: list[_Person] = []
        for m in _NAME_AFTER_TITLE.finditer(original):
            name = m.group("name")
            first = name.split()[0].rstrip(".")
            if first in _NOT_A_NAME:
                continue
            start, end = m.start(), m.end()
            if any(p.start < end and start < p.end for p in people):
                continue  # a gazetteer name says more
            out.append(self._office_person(m.group(0), start, end, named=True))
        return out

    def _han_titled_names(self, full: NormalizedText, people: list[_Person]) -> list[_Person]:
        """某某某 + 总统/主席/总理/部长: a Chinese name (common surname) before an office."""
        out: list[_Person] = []
        text = full.text
        for m in _HAN_NAME_BEFORE_TITLE.finditer(text):
            name = m.group("name")
            cut = max(name.rfind(c) for c in _HAN_CUT)
            name = name[cut + 1 :]
            if not 2 <= len(name) <= 3 or name[0] not in _HAN_SURNAMES:
                continue
            if name[-1] in _HAN_BAD_END:
                continue
            nstart = m.start("name") + (len(m.group("name")) - len(name))
            start, end = full.to_original(nstart, m.end())
            if any(p.start < end and start < p.end for p in people):
                continue
            out.append(self._office_person(full.original[start:end], start, end, named=True))
        return out

    def _offices(self, view: NormalizedText, found: Found, people: list[_Person]) -> list[_Person]:
        out: list[_Person] = []
        for cue in found.cues["title"]:
            start, end = view.to_original(cue.start, cue.end)
            if any(p.start < end and start < p.end for p in people):
                continue  # "President Biden" is a named reference already
            out.append(self._office_person(view.original[start:end], start, end, named=False))
        return out

    @staticmethod
    def _office_person(label: str, start: int, end: int, *, named: bool) -> _Person:
        return _Person(
            label=label,
            score=NAMED_OFFICE if named else BARE_OFFICE,
            start=start,
            end=end,
            rule="real-people:title-name" if named else "real-people:office",
            detail=f"{'a name after an office' if named else 'an office holder'}: {label!r}",
            living=True,
            political=True,
            named=False,
            depicted=True,
            penalty=0.0,
        )

    # -- result --------------------------------------------------------------------------

    def _result(
        self, original: str, view: NormalizedText, found: Found, people: list[_Person]
    ) -> DetectorResult:
        asks = _Asks(found)
        scores: dict[str, float] = {}
        evidence: list[Evidence] = []
        why: dict[str, tuple[_Person, list[str]]] = {}

        def add(category: str, score: float, person: _Person, groups: Sequence[str]) -> None:
            score = round(min(score, 0.99), 4)
            if score <= scores.get(category, 0.0):
                return
            scores[category] = score
            why[category] = (person, [g for g in groups if found.has(g)])

        for p in people:
            if p.score > scores.get("signal/real-person", 0.0):
                scores["signal/real-person"] = p.score
            if len(evidence) < MAX_EVIDENCE:
                evidence.append(
                    Evidence(
                        category="signal/real-person",
                        score=p.score,
                        start=p.start,
                        end=p.end,
                        text=original[p.start : p.end],
                        rule=p.rule,
                        detail=p.detail,
                    )
                )
            if not (p.living and p.depicted):
                continue
            for category, groups in _GROUPS.items():
                s = asks.score(category, p)
                if s > 0:
                    add(category, s - p.penalty, p, groups)

        for category, (person, cited) in why.items():
            score = scores[category]
            cues = [(g, c) for g in cited for c in found.cues[g][:3]]
            listed = ", ".join(f"{c.phrase!r} ({g})" for g, c in cues[:6])
            evidence.append(
                Evidence(
                    category=category,
                    score=score,
                    start=person.start,
                    end=person.end,
                    text=original[person.start : person.end],
                    rule=person.rule,
                    detail=f"{person.label} with {listed}",
                )
            )
            for group, cue in cues:
                if len(evidence) >= MAX_EVIDENCE:
                    break
                start, end = view.to_original(cue.start, cue.end)
                evidence.append(
                    Evidence(
                        category=category,
                        score=score,
                        start=start,
                        end=end,
                        text=original[start:end],
                        rule=f"real-people:cue/{group}",
                        detail=f"{group} cue {cue.phrase!r} about {person.label}",
                    )
                )
        names = sorted({p.label for p in people if p.score >= 0.5})
        parts = [f"{c} {s:.2f}" for c, s in sorted(scores.items())]
        who = ", ".join(names[:5]) + (f", … {len(names) - 5} more" if len(names) > 5 else "")
        explanation = (f"named: {who}; " if who else "") + ", ".join(parts)
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence),
            explanation=explanation,
        )


#: the cue groups cited as evidence for each category
_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "impersonation": ("deepfake", "damaging", "endorse", "statement", "realism", "photo", "news"),
    "disinformation": ("news", "damaging", "statement", "election", "deepfake"),
    "elections": ("election", "realism", "news", "deepfake"),
}


class _Asks:
    """What a prompt asks to do with the people it names (from its cue groups), and the score
    that gives each category for one person (before the weak-name penalty)."""

    def __init__(self, found: Found) -> None:
        self.deepfake = found.has("deepfake")
        self.damaging = found.has("damaging")
        self.claims = found.has("endorse", "statement")
        self.realism = found.has("realism")
        self.photo = found.has("photo")
        self.news = found.has("news")
        self.election = found.has("election")
        self.framed = self.realism or self.photo or self.news or self.deepfake

    def score(self, category: str, p: _Person) -> float:
        if category == "impersonation":
            return self._impersonation(p)
        if category == "disinformation":
            return self._disinformation(p)
        return self._elections(p)

    def _impersonation(self, p: _Person) -> float:
        if not p.named:  # an office holder: only a damaging or fake claim, framed as real
            if (self.damaging or self.deepfake or self.claims) and self.framed:
                return 0.8
            return 0.7 if self.deepfake else 0.0
        s = 0.9 if self.deepfake else 0.0
        if self.damaging:
            s = max(s, 0.9 if self.framed else 0.85)
        if self.claims or self.realism:
            s = max(s, 0.8)
        if self.photo or self.news:
            s = max(s, 0.6)
        return s

    def _disinformation(self, p: _Person) -> float:
        if not self.news:
            return 0.0
        strong = self.damaging or self.claims or self.election or self.deepfake
        if p.named:
            return 0.85 if strong else 0.7
        return 0.8 if strong else 0.5

    def _elections(self, p: _Person) -> float:
        if not self.election:
            return 0.0
        if not p.political:
            return 0.7
        return 0.9 if (self.realism or self.news or self.deepfake) else 0.85
