"""The detector interface: one module per detector, one small protocol, typed results."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from aupguard.embeddings.base import Vectors
from aupguard.policy.models import Modality
from aupguard.text.normalize import NormalizedText, normalize

if TYPE_CHECKING:  # the image stack (Pillow) is an optional extra; the core never imports it
    from aupguard.images.decode import DecodedImage


class Evidence(BaseModel):
    """Why a detector scored a category: a span of the original text (half-open offsets),
    what it matched, and the rule or entry that matched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    score: float = Field(ge=0.0, le=1.0)
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)
    text: str | None = None
    rule: str | None = None
    detail: str | None = None
    # a region of an image, in pixels of the decoded upright image: (x, y, width, height)
    region: tuple[int, int, int, int] | None = None


class DerivedText(BaseModel):
    """Text a detector recovered from the item (a decoded base64/hex/ROT13 payload, reversed
    text, Unicode tag characters). The moderator runs the other detectors on it too, so a
    wrapped request is judged on its content as well as flagged as evasion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    encoding: str
    start: int = Field(ge=0)  # the encoded span in the original text
    end: int = Field(ge=0)


class DetectorResult(BaseModel):
    """What one detector said about one item. ``scores`` maps taxonomy categories to [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str
    version: str
    scores: dict[str, float] = Field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    explanation: str = ""
    error: str | None = None
    elapsed_ms: float = 0.0
    derived: tuple[DerivedText, ...] = ()


class ScanItem:
    """One piece of content to scan. Normalisation is computed once and shared by detectors.
    An image item (``Modality.INPUT_IMAGE`` / ``OUTPUT_IMAGE``) carries its decoded ``image``
    and empty ``text``; text found in the image is scanned as separate derived text items."""

    __slots__ = ("__dict__", "image", "lang", "modality", "text")

    def __init__(
        self,
        text: str,
        modality: Modality = Modality.PROMPT,
        lang: str | None = None,
        *,
        image: DecodedImage | None = None,
    ):
        self.text = text
        self.modality = modality
        self.lang = lang
        self.image = image

    @cached_property
    def normalized(self) -> NormalizedText:
        return normalize(self.text)

    @cached_property
    def embedding(self) -> Vectors:
        """The sentence embedding of the normalised text, shared by every detector that needs
        one (computed once per item; the embedder also caches repeated texts)."""
        from aupguard.embeddings import get_embedder

        vector: Vectors = get_embedder().embed([self.normalized.text])[0]
        return vector


@runtime_checkable
class Detector(Protocol):
    """A detector. Constructors are cheap; models load lazily on first ``scan``."""

    name: ClassVar[str]
    version: ClassVar[str]
    modalities: ClassVar[frozenset[Modality]]
    categories: ClassVar[frozenset[str]]

    def scan(self, item: ScanItem) -> DetectorResult: ...


class DetectorError(Exception):
    """A detector could not produce a result (the engine fails closed on it)."""
