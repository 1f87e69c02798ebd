"""The state file next to the output (``OUT.state.json``): which chunks are done and how many
bytes of OUT they account for.

Protocol (exactly once): a chunk's rows are appended to OUT and flushed to disk, *then* the
state is replaced atomically with the chunk marked done and OUT's new size. On resume, OUT is
cut back to the recorded size — rows written after the last checkpoint (a crash between the two
steps, or a half-written line) are dropped — and the chunks not marked done are run again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

STATE_VERSION = 1


class StateMismatchError(Exception):
    """The state file belongs to another job (input, policy or chunking changed)."""


class JobKey(BaseModel):
    """What must be the same for a resume to continue an earlier run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str
    fingerprint: str
    policy: str
    compare_with: str | None
    field: str | None
    id_field: str
    chunk_size: int


class ScanState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = STATE_VERSION
    job: JobKey
    done: list[tuple[int, int]] = Field(default_factory=list)  # chunk ranges [a, b], inclusive
    out_bytes: int = 0
    complete: bool = False

    def is_done(self, chunk: int) -> bool:
        return any(a <= chunk <= b for a, b in self.done)

    def mark_done(self, chunk: int) -> None:
        ranges = sorted([*self.done, (chunk, chunk)])
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.done = merged


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state.json")


def load_state(out: Path, job: JobKey) -> ScanState | None:
    """The state of an earlier run of this job, or None when there is none. Raises
    StateMismatchError when the state is for another job or unreadable."""
    path = state_path(out)
    if not path.exists():
        return None
    try:
        state = ScanState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise StateMismatchError(f"{path} is unreadable ({type(exc).__name__})") from None
    if state.job != job:
        diff = [k for k in JobKey.model_fields if getattr(state.job, k) != getattr(job, k)]
        raise StateMismatchError(
            f"{path} records an earlier scan with a different {', '.join(diff)}"
        )
    return state


def save_state(out: Path, state: ScanState) -> None:
    path = state_path(out)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(state.model_dump(mode="json")))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def truncate_output(out: Path, size: int) -> None:
    """Cut OUT back to the checkpointed size (creating it when missing)."""
    with out.open("ab") as f:
        f.truncate(size)
