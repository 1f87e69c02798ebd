"""The intellectual-property detector: famous characters, franchises, brands, logos, and
style references to living artists.

The gazetteer (``gazetteers/intellectual_property/``, format in ``gazetteer.py``) lists
characters, franchises, studios, brands and logos with names in several languages, and, in
``artists.yaml``, artists whose names are used as style references. Operators add files in
the same format through ``IntellectualPropertyDetector(extra_files=...)`` (their own brands,
more artists) and pick up edits with ``reload()``.

Scores (category ``intellectual-property``)
    * a character or franchise by a distinctive name: 0.6 (the review band under the
      default thresholds); an ambiguous name: 0.45, 0.6 with a context phrase of the entry;
      a contextual name ("Frozen", "Link", "Apple") only with such a phrase;
    * a studio: 0.5; a brand by name: 0.45 (naming a brand is usually descriptive, "a Honda
      motorcycle"); a logo or mark itself ("Nike swoosh", "golden arches"): 0.8;
    * a logo or trademark cue next to the name ("Batman logo", 耐克商标): at least 0.8;
    * a commercial cue anywhere ("official", "merchandise", "t-shirt to sell", "for my
      store", 周边, 淘宝): at least 0.85, 0.9 for a logo;
    * a style suffix or prefix next to the name ("Mickey Mouse-style", "inspired by
      Pikachu", 米老鼠风格) lowers by 0.25 and caps at 0.45 (0.6 when commercial); "of my
      own design" / "original character" anywhere lowers by 0.2 more and caps at 0.45;
    * a living artist named as a style ("in the style of Greg Rutkowski", "by Makoto
      Shinkai", or a bare name in a prompt's tag list): 0.6 (0.7 when commercial), with the
      evidence rule ``ip/style-of-living-artist:<name>``; not after "portrait of" (then the
      name is a person, not a style). Artists who are not living are never flagged.

    The category score is the strongest match, plus 0.05 when two or more distinct entries
    score at least 0.5 (at most 0.95).
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
from aupguard.detectors.operator_files import IP_GAZETTEER_ENV, operator_files
from aupguard.policy.models import Modality
from aupguard.text.normalize import NormalizedText

__all__ = ["IntellectualPropertyDetector", "IntellectualPropertyError"]

IntellectualPropertyError = GazetteerError

BUILTIN_DIR: Final = GAZETTEER_DIR / "intellectual_property"
CATEGORY: Final = "intellectual-property"
KINDS: Final = frozenset({"character", "franchise", "studio", "brand", "logo", "artist"})
CUE_GROUPS: Final = frozenset(
    {"commercial", "logo", "original", "depiction", "discussion", "generation"}
)
DISCUSSION_CAP: Final = 0.45
SCHEMA: Final = Schema(
    name="intellectual-property",
    kinds=KINDS,
    living_kinds=frozenset({"artist"}),
    cue_groups=CUE_GROUPS,
    builtin=BUILTIN_DIR,
)

#: (distinctive, ambiguous or contextual without context, with context)
BASE: Final[dict[str, tuple[float, float, float]]] = {
    "character": (0.6, 0.45, 0.6),
    "franchise": (0.6, 0.45, 0.6),
    "studio": (0.45, 0.4, 0.45),
    "brand": (0.45, 0.4, 0.45),
    "logo": (0.8, 0.6, 0.8),
}
LOGO: Final = 0.8
LOGO_WINDOW: Final = 16  # characters between a name and a "logo" cue
COMMERCIAL: Final = 0.85
COMMERCIAL_LOGO: Final = 0.9
STYLE_DROP: Final = 0.25
STYLE_CAP: Final = 0.45
STYLE_CAP_COMMERCIAL: Final = 0.6
ORIGINAL_DROP: Final = 0.2
LIVING_ARTIST: Final = 0.6
LIVING_ARTIST_COMMERCIAL: Final = 0.7
SECOND_ENTRY_BOOST: Final = 0.05
MAX_SCORE: Final = 0.95
MAX_EVIDENCE: Final = 30

_STYLE_AFTER: Final = re.compile(
    r"^(?:'s)?\s?(?:-\s?)?(?:(?:animation|animated|anime|art|cartoon|comic|film|movie|drawing|"
    r"illustration|动画|动漫|漫画|电影|插画)\s?)?"
    r"(?:style|styled|inspired|like|esque|ish|type|themed|风格|画风|式|风)(?![a-z])"
)
_STYLE_BEFORE: Final = re.compile(
    r"(?:\b(?:inspired by|in the style of|style of|styled after|similar to|reminiscent of|"
    r"in the manner of|homage to|parody of|a parody of|knockoff of|a knockoff of|like a|"
    r"looks like)|仿|类似|模仿)\s?$"
)
_DEPICTION_BEFORE: Final = re.compile(
    r"\b(?:portrait of|photo of|photograph of|picture of|headshot of|interview with|"
    r"meeting)\s$"
)


@dataclass(slots=True)
class _Match:
    hit: AliasHit
    score: float
    start: int  # original offsets
    end: int
    rule: str
    notes: list[str]


class IntellectualPropertyDetector:
    """Characters, franchises, brands, logos and living artists' styles (see the module doc)."""

    name: ClassVar[str] = "intellectual-property"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT, Modality.OUTPUT_TEXT})
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})

    def __init__(self, extra_files: Sequence[Path | str] | None = None) -> None:
        """``extra_files``: operator lists; by default the files ``AUPGUARD_IP_GAZETTEER``
        names (see ``aupguard.detectors.operator_files``)."""
        if extra_files is None:
            extra_files = operator_files(IP_GAZETTEER_ENV)
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
        view, text, found = gazetteer.scan(item.normalized)
        if not found.aliases:
            return DetectorResult(detector=self.name, version=self.version)
        commercial = found.has("commercial")
        original = found.has("original")
        # talking about a work ("summarise Harry Potter", "在守望先锋中如何…?") is not making one
        discussion = (
            not commercial
            and not found.has("generation")
            and (found.has("discussion") or item.text.rstrip().endswith(("?", "？")))
        )
        matches: list[_Match] = []
        for hit in found.aliases:
            match = self._score(hit, text, found, commercial, original)
            if match is None:
                continue
            if discussion:
                match.score = min(match.score, DISCUSSION_CAP)
                match.notes.append("discussed, not generated")
            match.start, match.end = view.to_original(hit.start, hit.end)
            matches.append(match)
        if not matches:
            return DetectorResult(detector=self.name, version=self.version)
        return self._result(item.text, view, found, matches)

    def _score(
        self, hit: AliasHit, text: str, found: Found, commercial: bool, original: bool
    ) -> _Match | None:
        entry = hit.entry
        notes: list[str] = []
        if entry.kind == "artist":
            if not entry.living:
                return None
            before = text[max(0, hit.start - 20) : hit.start]
            if _DEPICTION_BEFORE.search(before):
                return None  # the person, not the style
            score = LIVING_ARTIST_COMMERCIAL if commercial else LIVING_ARTIST
            if commercial:
                notes.append("commercial use")
            return _Match(
                hit,
                score,
                0,
                0,
                f"ip/style-of-living-artist:{entry.name}",
                ["living artist", *notes],
            )
        distinctive, weak, in_context = BASE[entry.kind]
        has_context = entry.id in found.context
        logo = found.near("logo", hit.start, hit.end, LOGO_WINDOW)
        if hit.tier == Tier.DISTINCTIVE:
            score = distinctive
        elif has_context:
            score = in_context
            notes.append("in context")
        elif hit.tier == Tier.AMBIGUOUS:
            score = weak
        elif logo is not None:
            score = in_context
        else:
            return None  # an ordinary word ("apple", "frozen") without context
        if logo is not None and entry.kind != "logo":
            score = max(score, LOGO)
            notes.append(f"next to {logo.phrase!r}")
        if commercial:
            score = max(score, COMMERCIAL_LOGO if score >= LOGO else COMMERCIAL)
            notes.append("commercial use")
        after = text[hit.end : hit.end + 24]
        before = text[max(0, hit.start - 20) : hit.start]
        if _STYLE_AFTER.match(after) or _STYLE_BEFORE.search(before):
            cap = STYLE_CAP_COMMERCIAL if commercial else STYLE_CAP
            score = min(score - STYLE_DROP, cap)
            notes.append("a style reference")
        if original:
            score = min(score - ORIGINAL_DROP, STYLE_CAP)
            notes.append("the user's own design")
        if score <= 0:
            return None
        return _Match(hit, round(score, 4), 0, 0, f"ip:{entry.id}", notes)

    def _result(
        self, original: str, view: NormalizedText, found: Found, matches: list[_Match]
    ) -> DetectorResult:
        best: dict[str, float] = {}
        for m in matches:
            key = m.hit.entry.id
            best[key] = max(best.get(key, 0.0), m.score)
        ranked = sorted(best.values(), reverse=True)
        score = ranked[0]
        if len(ranked) > 1 and ranked[1] >= 0.5:
            score += SECOND_ENTRY_BOOST
        score = round(min(score, MAX_SCORE), 4)
        evidence: list[Evidence] = []
        for m in sorted(matches, key=lambda m: -m.score)[:MAX_EVIDENCE]:
            entry = m.hit.entry
            what = {Tier.DISTINCTIVE: "alias", Tier.AMBIGUOUS: "ambiguous name"}.get(
                m.hit.tier, "contextual name"
            )
            owner = f", {entry.owner}" if entry.owner else ""
            detail = f"matched {what} {m.hit.alias!r} of {entry.name} ({entry.kind}{owner})"
            if m.notes:
                detail += "; " + ", ".join(m.notes)
            evidence.append(
                Evidence(
                    category=CATEGORY,
                    score=m.score,
                    start=m.start,
                    end=m.end,
                    text=original[m.start : m.end],
                    rule=m.rule,
                    detail=detail,
                )
            )
        for group in ("commercial", "original"):
            for cue in found.cues.get(group, ())[:3]:
                start, end = view.to_original(cue.start, cue.end)
                evidence.append(
                    Evidence(
                        category=CATEGORY,
                        score=score,
                        start=start,
                        end=end,
                        text=original[start:end],
                        rule=f"ip:cue/{group}",
                        detail=f"{group} cue {cue.phrase!r}",
                    )
                )
        names = sorted({m.hit.entry.name for m in matches})
        listed = ", ".join(names[:5]) + (f", … {len(names) - 5} more" if len(names) > 5 else "")
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={CATEGORY: score},
            evidence=tuple(evidence),
            explanation=f"{CATEGORY} {score:.2f}: {listed}",
        )
