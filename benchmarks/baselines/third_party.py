"""Third-party text-safety baselines that run offline (shared/MODELS.md). Each is weak alone;
they are here to show where aupguard stands. Install them with ``pip install
alt-profanity-check glin-profanity hatesonar`` (the ``bench`` extra)."""

from __future__ import annotations

import locale
from collections.abc import Sequence

import numpy as np

from baselines import Predictions, Unavailable


def _need(module: str, pip_name: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"`{module}` is not installed ({exc}); pip install {pip_name}") from None


class ProfanityCheck:
    """alt-profanity-check: a linear SVM on bag-of-words for English offensive language.
    Score = its probability; flagged at 0.5."""

    name = "profanity-check"

    def __init__(self) -> None:
        _need("profanity_check", "alt-profanity-check")
        import profanity_check

        self._predict_prob = profanity_check.predict_prob
        self.description = "alt-profanity-check predict_prob; flagged at >= 0.5"

    def predict(self, texts: Sequence[str]) -> Predictions:
        prob = np.asarray(self._predict_prob(list(texts)), dtype=np.float64)
        return Predictions(flagged=prob >= 0.5, score=prob)


class GlinProfanity:
    """glin-profanity: English and Chinese word lists plus its prompt-injection rules.
    Flagged = a listed word, or an injection verdict other than ALLOW (score >= 0.5). Score =
    1 for a listed word, else the injection score."""

    name = "glin-profanity"

    def __init__(self) -> None:
        _need("glin_profanity", "glin-profanity")
        import glin_profanity

        self._filter = glin_profanity.Filter({"languages": ["english", "chinese"]})
        self._injection = glin_profanity.check_prompt_injection
        self._allow = glin_profanity.ScanDecision.ALLOW
        self.description = (
            'Filter({"languages": ["english", "chinese"]}).check_profanity '
            "+ check_prompt_injection (flagged unless ALLOW)"
        )

    def predict(self, texts: Sequence[str]) -> Predictions:
        flagged = np.zeros(len(texts), dtype=np.bool_)
        score = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            profane = bool(self._filter.check_profanity(text)["contains_profanity"])
            injection = self._injection(text)
            flagged[i] = profane or injection.decision != self._allow
            score[i] = 1.0 if profane else float(injection.score)
        return Predictions(flagged=flagged, score=score)


def _has_locale(name: str) -> bool:
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, name)
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    return True


class HateSonar:
    """hatesonar: Davidson et al.'s hate / offensive / neither classifier (ONNX). Score =
    1 - P(neither); flagged when hate_speech or offensive_language is the top class."""

    name = "hatesonar"

    def __init__(self) -> None:
        _need("hatesonar", "hatesonar")
        if not _has_locale("en_US.UTF-8"):
            raise Unavailable(
                "the en_US.UTF-8 locale is missing (its ONNX text normaliser needs it); on "
                "Debian/Ubuntu as root: apt-get install -y locales && localedef -i en_US -f UTF-8 "
                "en_US.UTF-8, or without root: localedef -i en_US -f UTF-8 ~/locale/en_US.UTF-8 "
                "and run with LOCPATH=~/locale"
            )
        from hatesonar import Sonar

        try:
            self._sess = Sonar().sess
        except Exception as exc:  # onnxruntime raises its own Fail type
            raise Unavailable(f"hatesonar failed to load: {exc}") from None
        self.description = "hatesonar ONNX; score 1 - P(neither), flagged unless top = neither"

    def predict(self, texts: Sequence[str]) -> Predictions:
        flagged = np.zeros(len(texts), dtype=np.bool_)
        score = np.zeros(len(texts), dtype=np.float64)
        for start in range(0, len(texts), 512):
            batch = np.array(texts[start : start + 512], dtype=object)
            labels, probs = self._sess.run(None, {"text": batch})
            for i, (label, prob) in enumerate(zip(labels, probs, strict=True), start):
                flagged[i] = int(label) != 2  # 0 hate_speech, 1 offensive_language, 2 neither
                score[i] = 1.0 - float(prob[2])
        return Predictions(flagged=flagged, score=score)
