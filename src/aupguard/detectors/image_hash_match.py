"""Known-bad images: PDQ hashes of the image matched against the operator's hash banks.

Banks come from the hash database (``AUPGUARD_HASH_DB``, a SQLite file managed with
``aupguard images bank ...``) and from bank files (``AUPGUARD_HASH_BANKS``, paths separated
by the OS path separator, in the ThreatExchange / HMA format). A match is within 31 of 256
bits; images whose hash quality is below 50 are not matched (flat images collide). A match
scores each taxonomy category among the entry's labels (``illicit`` when none is), from 1.0 at
distance 0 down to 0.9 at the threshold; labels that are not categories are kept as evidence.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import ClassVar, Final

from aupguard.detectors._image_common import IMAGE_MODALITIES, image_of
from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.images.hash_banks import BankEntry, HashBankStore, HashMatcher, read_bank_file
from aupguard.policy.models import Modality

DB_ENV = "AUPGUARD_HASH_DB"
FILES_ENV = "AUPGUARD_HASH_BANKS"
DEFAULT_CATEGORY: Final = "illicit"
MATCHABLE_CATEGORIES: Final = frozenset(
    {
        "sexual",
        "sexual/minors",
        "sexual/non-consensual",
        "violence",
        "violence/graphic",
        "violence/animal-cruelty",
        "extremism",
        "hate",
        "harassment",
        "illicit",
        "intellectual-property",
        "impersonation",
        "privacy",
        "abuse/ban-evasion",
    }
)


def matcher_from_env(database: Path | str | None = None) -> HashMatcher:
    """Every bank file of ``AUPGUARD_HASH_BANKS`` and every bank of the hash database
    (``database``, else ``AUPGUARD_HASH_DB``)."""
    matcher = HashMatcher()
    files = os.environ.get(FILES_ENV, "")
    for raw in files.split(os.pathsep):
        if raw.strip():
            matcher.extend(read_bank_file(Path(raw.strip())))
    db = database or os.environ.get(DB_ENV)
    if db and Path(db).exists():
        with HashBankStore(db) as store:
            matcher.extend(store.entries())
    return matcher


class HashMatchImageDetector:
    name: ClassVar[str] = "image-hash-match"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = MATCHABLE_CATEGORIES

    def __init__(self, matcher: HashMatcher | None = None) -> None:
        self._matcher = matcher
        self._database: Path | None = None
        self._lock = threading.Lock()

    def use_database(self, path: Path | str) -> None:
        """Read banks from this hash database (the service's, in its data directory) instead
        of ``AUPGUARD_HASH_DB``; takes effect on the next load."""
        with self._lock:
            self._database = Path(path)
            self._matcher = None

    @property
    def matcher(self) -> HashMatcher:
        with self._lock:
            if self._matcher is None:  # banks load on first scan, not at start
                self._matcher = matcher_from_env(self._database)
            return self._matcher

    def reload(self) -> None:
        """Re-read the bank files and the database (hashes other workers added)."""
        fresh = matcher_from_env(self._database)
        with self._lock:
            self._matcher = fresh

    def add(self, entry: BankEntry) -> None:
        """Match ``entry`` from now on in this process (it is also stored by the caller)."""
        matcher = self.matcher
        with self._lock:
            matcher.add(entry)

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        digest = image.pdq
        if not digest.trusted:
            return DetectorResult(
                detector=self.name,
                version=self.version,
                explanation=(
                    f"PDQ {digest.hex} quality {digest.quality} is below 50 (a flat or "
                    "featureless image); not matched"
                ),
            )
        matcher = self.matcher
        scores: dict[str, float] = {}
        evidence: list[Evidence] = []
        for match in matcher.match(digest.hex):
            score = round(1.0 - 0.1 * match.distance / max(1, matcher.max_distance), 4)
            categories = [c for c in match.entry.labels if c in MATCHABLE_CATEGORIES]
            others = [c for c in match.entry.labels if c not in MATCHABLE_CATEGORIES]
            for category in categories or [DEFAULT_CATEGORY]:
                scores[category] = max(scores.get(category, 0.0), score)
                evidence.append(
                    Evidence(
                        category=category,
                        score=score,
                        rule=f"hash-bank:{match.entry.bank}",
                        detail=(
                            f"PDQ distance {match.distance}/256 to {match.entry.hash_hex[:16]}…"
                            + (f"; labels {', '.join(others)}" if others else "")
                        ),
                    )
                )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence[:20]),
            explanation=(
                f"PDQ {digest.hex} (quality {digest.quality}) against {len(matcher)} "
                f"known hashes: {len(evidence)} match(es)"
            ),
        )
