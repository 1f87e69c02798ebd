"""What a worker does with a chunk: decide every item under the pack (and the pack it is
compared with) and return one row per item. Detectors run once per item; each pack then
decides on the same signals. A worker builds its moderators once and keeps them for every
chunk it is given, so the models' start-up cost is paid once per worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aupguard.detectors.base import ScanItem
from aupguard.engine.decide import clause_applies, decide
from aupguard.engine.moderator import Limits, Moderator, validate_text
from aupguard.engine.verdict import Verdict
from aupguard.errors import InputError
from aupguard.policy.models import Modality
from aupguard.policy.registry import ResolvedPack
from aupguard.scan.models import Chunk, ChunkResult, Decision, Item, ItemKind, ItemRow
from aupguard.text.lang import detect_language


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its moderators (picklable, sent once per worker)."""

    pack: ResolvedPack
    previous: ResolvedPack | None
    limits: Limits


class ChunkWorker:
    def __init__(self, spec: WorkerSpec) -> None:
        self.current = Moderator(spec.pack, limits=spec.limits)
        self.previous = (
            Moderator(spec.previous, self.current.detectors, limits=spec.limits)
            if spec.previous is not None
            else None
        )

    def run(self, chunk: Chunk) -> ChunkResult:
        texts = [i.text for i in chunk.items if i.text is not None and i.error is None]
        if len(texts) > 1:
            self.current.prepare([t for t in texts if len(t) <= self.current.limits.max_text_chars])
        return ChunkResult(index=chunk.index, rows=tuple(self.row(item) for item in chunk.items))

    def row(self, item: Item) -> ItemRow:
        base = ItemRow(offset=item.offset, id=item.id, path=item.path)
        if item.error is not None:
            return base.model_copy(update={"error": item.error, "error_code": item.error_code})
        try:
            if item.kind is ItemKind.IMAGE:
                verdicts = self._check_image(item)
            else:
                assert item.text is not None
                verdicts = self.check_text(item.text)
        except InputError as exc:
            return base.model_copy(update={"error": str(exc), "error_code": exc.code})
        except Exception as exc:  # one broken item is an error row, never a crashed scan
            return base.model_copy(
                update={"error": f"{type(exc).__name__}: {exc}", "error_code": "internal_error"}
            )
        now = _decision(verdicts[0])
        return base.model_copy(
            update={
                "action": now.action,
                "categories": now.categories,
                "clauses": now.clauses,
                "pack": now.pack,
                "previous": _decision(verdicts[1]) if len(verdicts) > 1 else None,
            }
        )

    def moderators(self) -> list[Moderator]:
        return [self.current] + ([self.previous] if self.previous is not None else [])

    def check_text(self, text: str, modality: Modality = Modality.PROMPT) -> list[Verdict]:
        """``Moderator.check`` under each pack, with the detectors run once."""
        validate_text(text, self.current.limits)
        item = ScanItem(text, modality)
        lang = detect_language(item.normalized.text)
        item.lang = lang
        results = self.current.scan_with_derived(item)
        verdicts = []
        for moderator in self.moderators():
            own = list(results)
            example_scores = None
            if any(clause_applies(c, modality) for c in moderator.examples.clauses):
                example_scores, result = moderator.score_examples(item)
                own.append(result)
            verdicts.append(
                decide(moderator.pack.pack, own, modality, lang=lang, example_scores=example_scores)
            )
        return verdicts

    def _check_image(self, item: Item) -> list[Verdict]:
        assert item.path is not None
        try:
            data = Path(item.path).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read {item.path}: {exc.strerror}", code="unreadable"
            ) from None
        return [m.check_image(data, Modality.INPUT_IMAGE) for m in self.moderators()]


def _decision(verdict: Verdict) -> Decision:
    cited = sorted({h.clause_id for h in verdict.clauses})
    return Decision(
        pack=f"{verdict.pack_id}@{verdict.pack_version}",
        action=verdict.action,
        categories=tuple(verdict.categories),
        clauses=tuple(cited),
    )


# -- one worker per process (the local engine's pool initialiser and task) -------------------

_WORKER: ChunkWorker | None = None


def init_process(spec: WorkerSpec) -> None:
    global _WORKER
    _WORKER = ChunkWorker(spec)


def run_in_process(chunk: Chunk) -> ChunkResult:
    assert _WORKER is not None, "init_process was not called in this worker"
    return _WORKER.run(chunk)
