"""A scan on the local engine: one row per item, verdicts as ``check`` gives them, error rows
for bad items, and a summary of what changed against the previous pack version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.scan.conftest import PROMPTS

from aupguard.engine.moderator import Moderator
from aupguard.policy.models import Action
from aupguard.policy.registry import PackRegistry
from aupguard.scan import LocalEngine, ScanJob, previous_version, read_rows, run_scan
from aupguard.scan.models import Chunk, Item, ItemKind
from aupguard.scan.worker import ChunkWorker, WorkerSpec


def test_worker_decides_like_moderator_check(registry_v2: PackRegistry) -> None:
    """Detectors run once and both packs decide on their signals: the same verdicts as two
    separate ``Moderator.check`` calls."""
    now, before = registry_v2.get("general-usage@1.1.0"), registry_v2.get("general-usage@1.0.0")
    worker = ChunkWorker(WorkerSpec(pack=now, previous=before, limits=Moderator(now).limits))
    for text in PROMPTS.values():
        v_now, v_before = worker.check_text(text)
        for got, pack in ((v_now, now), (v_before, before)):
            want = Moderator(pack, worker.current.detectors).check(text)
            assert got.model_dump(exclude={"detectors"}) == want.model_dump(exclude={"detectors"})
            assert [d.name for d in got.detectors] == [d.name for d in want.detectors]


def test_scan_rows_errors_and_changes(
    tmp_path: Path, prompts_file: Path, registry_v2: PackRegistry
) -> None:
    pack = registry_v2.get("general-usage")
    previous = previous_version(registry_v2, pack)
    assert pack.ref == "general-usage@1.1.0"
    assert previous is not None and previous.ref == "general-usage@1.0.0"
    out = tmp_path / "out.jsonl"
    job = ScanJob(input=prompts_file, output=out, pack=pack, previous=previous, chunk_size=3)
    summary = run_scan(job, LocalEngine(1))

    rows = {r.id or str(r.offset): r for r in read_rows(out)}
    assert sorted(r.offset for r in rows.values()) == list(range(7))
    assert rows["harmless"].action is Action.ALLOW
    assert rows["financial"].action is Action.BLOCK
    assert rows["financial"].previous is not None
    assert rows["financial"].previous.action is Action.REVIEW
    assert "2.1-legal-and-financial-advice" in rows["financial"].clauses
    assert rows["spam"].action is Action.ALLOW
    assert rows["spam"].previous is not None
    assert rows["spam"].previous.action is Action.BLOCK
    assert rows["weapon"].action is Action.BLOCK and "weapons" in rows["weapon"].categories
    assert rows["empty"].error_code == "empty_input" and rows["empty"].action is None
    assert rows["5"].error_code == "bad_record"  # unparseable: known by its offset only
    assert rows["no-text"].error_code == "missing_field"
    written_rows = out.read_text(encoding="utf-8")
    assert not any(text in written_rows for text in PROMPTS.values())  # no content copied

    assert summary.items == 7 and summary.errors == 3
    assert summary.actions == {"allow": 2, "block": 2}
    assert summary.compare_with == "general-usage@1.0.0"
    assert summary.transitions == {"review→block": 1, "block→allow": 1}
    assert summary.changed == 2
    assert summary.by_clause["2.1-legal-and-financial-advice"] == {"review→block": 1}
    assert summary.by_clause["3.3-account-misuse.spam"] == {"block→allow": 1}
    written = json.loads(job.summary_path.read_text(encoding="utf-8"))
    assert written["transitions"] == summary.transitions


def test_two_processes_give_the_same_rows_as_one(tmp_path: Path, registry_v2: PackRegistry) -> None:
    pack = registry_v2.get("general-usage@1.0.0")
    texts = [*PROMPTS.values()] * 3
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    results = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}.jsonl"
        run_scan(ScanJob(input=src, output=out, pack=pack, chunk_size=2), LocalEngine(workers))
        results.append(sorted(read_rows(out), key=lambda r: r.offset))
    assert results[0] == results[1]
    assert [r.offset for r in results[1]] == list(range(len(texts)))


def test_chunks_are_runs_of_offsets(registry_v2: PackRegistry) -> None:
    from aupguard.scan.runner import chunked

    items = [Item(offset=o, kind=ItemKind.TEXT, text="x") for o in (0, 1, 3, 4, 9)]
    chunks: list[Chunk] = list(chunked(items, 2))
    assert [(c.index, [i.offset for i in c.items]) for c in chunks] == [
        (0, [0, 1]),
        (1, [3]),
        (2, [4]),
        (4, [9]),
    ]


@pytest.mark.parametrize("existing", [b"", b'{"offset": 0}\n'])
def test_existing_output_without_state(
    tmp_path: Path, prompts_file: Path, registry_v2: PackRegistry, existing: bytes
) -> None:
    from aupguard.scan import ScanInputError

    out = tmp_path / "out.jsonl"
    out.write_bytes(existing)
    job = ScanJob(input=prompts_file, output=out, pack=registry_v2.get("general-usage@1.0.0"))
    if existing:
        with pytest.raises(ScanInputError, match="--restart"):
            run_scan(job, LocalEngine(1))
        job = ScanJob(input=job.input, output=out, pack=job.pack, restart=True)
    assert run_scan(job, LocalEngine(1)).items == 7


def test_progress_reports_items_done_and_total(
    tmp_path: Path, prompts_file: Path, registry_v2: PackRegistry
) -> None:
    calls: list[tuple[int, int | None]] = []
    job = ScanJob(
        input=prompts_file,
        output=tmp_path / "out.jsonl",
        pack=registry_v2.get("general-usage@1.0.0"),
        chunk_size=2,
    )
    run_scan(job, LocalEngine(1), lambda done, total: calls.append((done, total)))
    assert calls == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]


def test_unusable_input_leaves_no_state(tmp_path: Path, registry_v2: PackRegistry) -> None:
    from aupguard.scan import ScanInputError
    from aupguard.scan.checkpoint import state_path

    src = tmp_path / "a.csv"
    src.write_text("id,body\n1,x\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    job = ScanJob(input=src, output=out, pack=registry_v2.get("general-usage@1.0.0"))
    with pytest.raises(ScanInputError, match="no column"):
        run_scan(job, LocalEngine(1))
    assert not out.exists() and not state_path(out).exists()
