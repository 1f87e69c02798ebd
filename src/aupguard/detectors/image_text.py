"""Text in images: OCR with Tesseract (Debian ``tesseract-ocr``, ``tesseract-ocr-chi-sim``).

The detector scores nothing itself. The text it reads comes back as derived text, which the
moderator runs through every text detector, so a prompt, slogan, phone number or jailbreak
rendered into an image is judged as if it had been typed.

Tesseract runs as a subprocess (``tesseract stdin stdout``) with a timeout; if it is missing
the detector fails, and the pack's failure mode applies (closed by default).
``AUPGUARD_OCR_LANGS`` picks the languages (default ``eng+chi_sim``, those installed).
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, ClassVar, Final

import regex  # type: ignore[import-untyped, import-not-found, unused-ignore]

from aupguard.detectors._image_common import IMAGE_MODALITIES, image_of
from aupguard.detectors.base import DerivedText, DetectorError, DetectorResult, ScanItem
from aupguard.policy.models import Modality

if TYPE_CHECKING:
    from PIL import Image

LANGS_ENV = "AUPGUARD_OCR_LANGS"
DEFAULT_LANGS: Final = "eng+chi_sim"
TIMEOUT_S: Final = 30.0
MAX_TEXT_CHARS: Final = 10_000
_MIN_SIDE: Final = 900  # small renders are upscaled: Tesseract wants ~30 px tall glyphs
_MAX_SIDE: Final = 2400
_INSTALL_HINT = "install Tesseract: apt-get install tesseract-ocr tesseract-ocr-chi-sim"
# Tesseract separates CJK characters with spaces; rejoin them so words are words again
_CJK_GAP = regex.compile(
    r"(?<=[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}，。！？、：；]) (?=[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}，。！？、：；])"
)
_WORDISH = regex.compile(r"[\p{L}\p{N}]")


@functools.cache
def _installed_langs(binary: str) -> frozenset[str]:
    out = subprocess.run(
        [binary, "--list-langs"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


def clean_ocr_text(raw: str) -> str:
    """Drop lines that are OCR noise (no letters or digits), rejoin CJK, trim."""
    lines = []
    for line in raw.splitlines():
        line = " ".join(line.split())
        if len(_WORDISH.findall(line)) >= 2:
            lines.append(_CJK_GAP.sub("", line))
    return "\n".join(lines)[:MAX_TEXT_CHARS]


class ImageTextDetector:
    name: ClassVar[str] = "image-text"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, langs: str | None = None) -> None:
        self.langs = langs or os.environ.get(LANGS_ENV) or DEFAULT_LANGS

    def _langs_available(self, binary: str) -> str:
        installed = _installed_langs(binary)
        wanted = [lang for lang in self.langs.split("+") if lang]
        usable = [lang for lang in wanted if lang in installed]
        missing = [lang for lang in wanted if lang not in installed]
        if missing:
            raise DetectorError(
                f"Tesseract has no language data for {', '.join(missing)} ({_INSTALL_HINT})"
            )
        return "+".join(usable)

    def read_text(self, image: Image.Image) -> str:
        binary = shutil.which("tesseract")
        if binary is None:
            raise DetectorError(f"tesseract is not installed ({_INSTALL_HINT})")
        langs = self._langs_available(binary)
        from PIL import Image, ImageOps

        gray = ImageOps.grayscale(image)
        side = max(gray.size)
        if side < _MIN_SIDE:
            factor = _MIN_SIDE / side
            gray = gray.resize(
                (round(gray.width * factor), round(gray.height * factor)),
                Image.Resampling.LANCZOS,
            )
        elif side > _MAX_SIDE:
            gray.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        gray.save(buf, format="PNG")
        try:
            done = subprocess.run(
                [binary, "stdin", "stdout", "-l", langs, "--psm", "3"],
                input=buf.getvalue(),
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
        except subprocess.TimeoutExpired:
            raise DetectorError(f"tesseract took longer than {TIMEOUT_S:g} s") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()[:300]
            raise DetectorError(f"tesseract failed (exit {done.returncode}): {message}")
        return clean_ocr_text(done.stdout.decode("utf-8", "replace"))

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        text = self.read_text(image.image)
        if not text:
            return DetectorResult(
                detector=self.name, version=self.version, explanation="no text found in the image"
            )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            explanation=f"read {len(text)} characters of text in the image",
            derived=(DerivedText(text=text, encoding="ocr", start=0, end=0),),
        )
