"""The state of an account (strikes, suspension, ban, closure) derived from its events alone,
so that an auditor holding the log can check what the store says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from aupguard.store import Store
from aupguard.store.records import Event

SUSPENSION = "temporary_suspension"
BAN = "permanent_ban"


class AccountState(BaseModel):
    """What enforcement holds against an account at one moment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    active_strikes: list[int]  # strike ids, ascending
    active_points: int
    suspended_until: dt.datetime | None  # the latest in-force suspension (None when banned)
    banned: bool
    closed: bool


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def state_from_events(account_id: str, events: Iterable[Event], now: dt.datetime) -> AccountState:
    """Replay ``enforcement.*`` and ``account.closed`` events of one account."""
    strikes: dict[int, tuple[int, dt.datetime | None]] = {}
    actions: dict[str, tuple[str, dt.datetime | None]] = {}
    closed = False
    for event in events:
        if event.account_id != account_id:
            continue
        if event.kind == "enforcement.strike" and event.subject:
            strikes[int(event.subject)] = (
                int(event.data.get("weight", 0)),
                _when(event.data.get("expires_at")),
            )
        elif event.kind == "enforcement.strike_reversed" and event.subject:
            strikes.pop(int(event.subject), None)
        elif event.kind == "enforcement.reversed" and event.subject:
            actions.pop(event.subject, None)
        elif event.kind in (f"enforcement.{SUSPENSION}", f"enforcement.{BAN}") and event.subject:
            actions[event.subject] = (event.kind.split(".", 1)[1], _when(event.data.get("until")))
        elif event.kind == "account.closed":
            closed = True
    active = sorted(i for i, (_, expires) in strikes.items() if expires is None or expires > now)
    in_force = [(step, until) for step, until in actions.values() if until is None or until > now]
    banned = any(step == BAN for step, _ in in_force)
    suspensions = [until for step, until in in_force if step == SUSPENSION and until]
    return AccountState(
        account_id=account_id,
        active_strikes=active,
        active_points=sum(strikes[i][0] for i in active),
        suspended_until=None if banned or not suspensions else max(suspensions),
        banned=banned,
        closed=closed,
    )


def rebuild_account_state(store: Store, account_id: str) -> AccountState:
    """The state derived from the account's events (``NotFoundError`` for an unknown id)."""
    store.accounts.get(account_id)
    events: list[Event] = []
    after = 0
    while batch := store.events.query(account_id=account_id, after_id=after, limit=5000):
        events.extend(batch)
        after = batch[-1].id
    events.sort(key=lambda e: (e.seq or 0, e.id))
    return state_from_events(account_id, events, store.now())


def stored_account_state(store: Store, account_id: str) -> AccountState:
    """The state as the store's tables hold it (strikes, enforcement actions, account)."""
    now = store.now()
    account = store.accounts.get(account_id)
    strikes = store.enforcement.strikes(account_id, active_only=True)
    in_force = store.enforcement.in_force(account_id)
    banned = any(a.step == BAN for a in in_force)
    suspensions = [a.until for a in in_force if a.step == SUSPENSION and a.until]
    return AccountState(
        account_id=account_id,
        active_strikes=sorted(s.id for s in strikes),
        active_points=sum(s.weight for s in strikes),
        suspended_until=None if banned or not suspensions else max(suspensions),
        banned=banned,
        closed=account.closed_at is not None and account.closed_at <= now,
    )
