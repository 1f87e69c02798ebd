"""Resumability: a scan killed midway (SIGKILL, no clean-up) and run again completes with every
item exactly once in OUT; rows written after the last checkpoint are dropped, not duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.scan.conftest import PROMPTS

from aupguard.policy.registry import default_registry
from aupguard.scan import LocalEngine, ScanJob, read_rows, run_scan
from aupguard.scan.checkpoint import state_path

N_ITEMS = 48


def _input(tmp_path: Path) -> Path:
    src = tmp_path / "archive.jsonl"
    texts = list(PROMPTS.values())
    src.write_text(
        "".join(
            json.dumps({"id": f"item-{i}", "text": f"{texts[i % len(texts)]} ({i})"}) + "\n"
            for i in range(N_ITEMS)
        ),
        encoding="utf-8",
    )
    return src


def _scan_command(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "aupguard", "scan", str(src), "-p", "general-usage",
            "-o", str(out), "--workers", "2", "--chunk-size", "4", "--quiet", "--json"]  # fmt: skip


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_killed_scan_resumes_with_every_item_exactly_once(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "verdicts.jsonl"
    proc = subprocess.Popen(  # a session of its own: the kill takes its workers too
        _scan_command(src, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while _lines(out) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the scan finished before it could be killed"
    written_before = _lines(out)
    assert 8 <= written_before < N_ITEMS

    rerun = subprocess.run(_scan_command(src, out), capture_output=True, timeout=300)
    assert rerun.returncode == 4, rerun.stderr.decode()  # some prompts are blocked
    summary = json.loads(rerun.stdout)
    assert summary["resumed"] is True
    assert summary["items"] == N_ITEMS
    rows = read_rows(out)
    assert sorted(r.offset for r in rows) == list(range(N_ITEMS))  # each exactly once
    assert {r.id for r in rows} == {f"item-{i}" for i in range(N_ITEMS)}
    assert all(r.action is not None for r in rows)

    again = subprocess.run(_scan_command(src, out), capture_output=True, timeout=300)
    assert json.loads(again.stdout)["items"] == N_ITEMS  # a finished scan is not redone
    assert len(read_rows(out)) == N_ITEMS


def test_rows_after_the_last_checkpoint_are_dropped(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "verdicts.jsonl"
    pack = default_registry().get("general-usage")
    job = ScanJob(input=src, output=out, pack=pack, chunk_size=4)
    run_scan(job, LocalEngine(1))
    complete = out.read_bytes()
    # as if the process died after writing two chunks' rows but checkpointing only the first,
    # in the middle of a third chunk's line
    rows = complete.splitlines(keepends=True)
    state = json.loads(state_path(out).read_text(encoding="utf-8"))
    state.update(done=[[0, 0]], out_bytes=len(b"".join(rows[:4])), complete=False)
    state_path(out).write_text(json.dumps(state), encoding="utf-8")
    out.write_bytes(b"".join(rows[:8]) + rows[8][:10])

    summary = run_scan(job, LocalEngine(1))
    assert summary.resumed and summary.items == N_ITEMS
    assert sorted(r.offset for r in read_rows(out)) == list(range(N_ITEMS))
    assert sorted(out.read_bytes().splitlines()) == sorted(complete.splitlines())
