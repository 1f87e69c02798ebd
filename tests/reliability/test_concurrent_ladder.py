"""Strikes recorded at the same moment by different workers: every strike is kept and the
ladder step their points reach is taken, however the requests interleave. The interleaving
is forced: every request reads the account's standing before any of them writes its strike
(what four workers answering at once can do). Runs on SQLite and the real PostgreSQL."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "enforcement"))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.enforcement.actions import ActionKind
from aupguard.enforcement.executor import EnforcedItem, Enforcer
from aupguard.enforcement.settings import LadderSettings
from aupguard.store import Store


def test_simultaneous_strikes_all_count_and_reach_the_ban(store: Store, tmp_path: Path) -> None:
    settings = LadderSettings()
    n = settings.ban_at  # enough points together for a permanent ban
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, email="a@example.com").id
    enforcer = Enforcer(store, LADDER_PACK, settings=settings, reports_dir=tmp_path / "r")

    barrier = threading.Barrier(n)
    add_strike = store.enforcement.add_strike

    def add_strike_together(*args: Any, **kwargs: Any) -> Any:
        barrier.wait(timeout=30)  # everyone has read the standing before anyone writes
        return add_strike(*args, **kwargs)

    store.enforcement.add_strike = add_strike_together  # type: ignore[method-assign]

    def one(i: int) -> list[str]:
        done = enforcer.record_verdict(
            account, verdict("sexual"), EnforcedItem(reference=f"req-{i}")
        )
        return [a.step for a in done]

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))

    strikes = store.enforcement.strikes(account)
    assert sorted(s.reference or "" for s in strikes) == sorted(f"req-{i}" for i in range(n))
    standing = enforcer.standing(account)
    assert standing.active_points == n
    steps = [a.step for a in store.enforcement.actions(account)]
    assert ActionKind.PERMANENT_BAN in steps, steps
    assert standing.banned
