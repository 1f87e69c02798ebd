"""The state file: done chunks merge into ranges; a state of another job is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from aupguard.scan.checkpoint import (
    JobKey,
    ScanState,
    StateMismatchError,
    load_state,
    save_state,
    state_path,
    truncate_output,
)

KEY = JobKey(
    input="/in.jsonl",
    fingerprint="1:2",
    policy="p@1",
    compare_with=None,
    field=None,
    id_field="id",
    chunk_size=8,
)


def test_done_chunks_merge_into_ranges() -> None:
    state = ScanState(job=KEY)
    for chunk in (3, 0, 1, 5, 4):
        state.mark_done(chunk)
    assert state.done == [(0, 1), (3, 5)]
    assert [c for c in range(7) if state.is_done(c)] == [0, 1, 3, 4, 5]


def test_round_trip_and_mismatch(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert load_state(out, KEY) is None
    state = ScanState(job=KEY, out_bytes=42)
    state.mark_done(2)
    save_state(out, state)
    assert state_path(out).name == "out.jsonl.state.json"
    assert load_state(out, KEY) == state
    with pytest.raises(StateMismatchError, match="different policy, chunk_size"):
        load_state(out, KEY.model_copy(update={"policy": "p@2", "chunk_size": 4}))
    state_path(out).write_text("{not json", encoding="utf-8")
    with pytest.raises(StateMismatchError, match="unreadable"):
        load_state(out, KEY)


def test_truncate_drops_bytes_after_the_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"offset": 0}\n{"offs')
    truncate_output(out, 14)
    assert out.read_bytes() == b'{"offset": 0}\n'
