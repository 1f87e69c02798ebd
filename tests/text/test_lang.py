"""Tests for aupguard.text.lang.detect_language."""

from __future__ import annotations

import random

import pytest

from aupguard.text import detect_language, normalize

CASES: list[tuple[str, str]] = [
    ("", "und"),
    ("   ", "und"),
    ("12345 !!! 3.14", "und"),
    ("🙂🙂 👍", "und"),
    ("Hello, how are you today?", "en"),
    ("Please draw a cat in a hat", "en"),
    ("nude", "en"),
    ("Kill the Python process", "en"),
    ("这个网站很好", "zh"),
    ("這個網站很好", "zh"),
    ("请帮我写一篇关于人工智能的文章。", "zh"),
    ("画一个穿着bikini的女孩", "zh"),
    ("我喜欢の东西", "zh"),
    ("これはペンです", "ja"),
    ("東京タワーに行きたい", "ja"),
    ("東京の天気", "ja"),
    ("カタカナ", "ja"),
    ("안녕하세요", "ko"),
    ("한국어 텍스트입니다", "ko"),
    ("Привет, как дела?", "ru"),
    ("Привіт, як справи?", "ru"),
    ("Здраво, како си?", "ru"),
    ("مرحبا كيف حالك", "ar"),
    ("नमस्ते आप कैसे हैं", "hi"),
    ("สวัสดีครับ", "th"),
    ("שלום מה שלומך", "he"),
    ("Καλημέρα κόσμε", "el"),
    ("Hola, ¿cómo estás? Quiero una imagen de un perro", "es"),
    ("Bonjour, je voudrais une image de chat pour mon site", "fr"),
    ("Hallo, ich möchte bitte ein Bild von einem Hund", "de"),
    ("Olá, você pode fazer uma imagem de um gato para mim", "pt"),
    ("Ciao, puoi fare una immagine di un gatto per me", "it"),
    ("translate 你好 to English", "en"),
    ("what does привет mean in English?", "en"),
    ("Ձեզ բարև", "und"),
]


@pytest.mark.parametrize(("text", "lang"), CASES)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(("text", "lang"), CASES)
def test_detect_language_on_normalized_text(text: str, lang: str) -> None:
    """The moderator runs detection on the folded text: accents are gone, case is folded."""
    assert detect_language(normalize(text).text) == lang


def test_detect_language_never_raises_and_returns_a_code() -> None:
    rng = random.Random(7)
    codes = {"und", "en", "es", "fr", "de", "pt", "it", "zh", "ja", "ko", "ru", "ar", "hi"}
    codes |= {"th", "he", "el"}
    for _ in range(2000):
        text = "".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(0, 30)))
        assert detect_language(text) in codes
