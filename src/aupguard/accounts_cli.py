"""``aupguard accounts|keys|credits|enforcement``: a thin layer over ``aupguard.store`` and
``aupguard.enforcement``. Imports of the ``store`` extra happen inside the commands, so the
rest of the CLI works without it.

Every command takes ``--db URL`` (default ``AUPGUARD_DATABASE_URL``, else
``sqlite:///./aupguard.db``) and ``--json``. Exit codes: 0 done, 1 the database is
unavailable, 2 bad input or an unknown id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from aupguard.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _store(db: str | None) -> Iterator[Store]:
    try:
        from aupguard.store import NotFoundError, Store, StoreError, StoreUnavailableError
    except ImportError as exc:
        _fail(f"{exc}", 1)
    try:
        store = Store.open(db)
    except StoreUnavailableError as exc:
        _fail(str(exc), 1)
    try:
        yield store
    except StoreUnavailableError as exc:
        _fail(str(exc), 1)
    except (NotFoundError, StoreError, ValueError) as exc:
        _fail(str(exc))
    finally:
        store.close()


def _common(f: F) -> F:
    f = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)
    f = click.option(
        "--db",
        envvar="AUPGUARD_DATABASE_URL",
        default=None,
        help="Database URL (default: AUPGUARD_DATABASE_URL or ./aupguard.db).",
    )(f)
    return f


def _out(as_json: bool, payload: Any, human: str) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        click.echo(human)


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


# -- accounts --------------------------------------------------------------------------------


@click.group("accounts")
def accounts() -> None:
    """Organisations, accounts, plans, age attestations (needs the 'store' extra)."""


@accounts.command("migrate")
@_common
def accounts_migrate(db: str | None, as_json: bool) -> None:
    """Create or upgrade the database schema to the newest revision."""
    with _store(db) as store:
        _out(
            as_json,
            {"revision": store.current_revision()},
            f"database at revision {store.current_revision()}",
        )


@accounts.command("plan")
@click.argument("plan_id")
@click.option("--name", default=None)
@click.option("--rate", type=float, required=True, help="Cost units per second.")
@click.option("--burst", type=float, required=True, help="Cost units at once.")
@click.option("--daily", type=float, default=None, help="Daily quota in cost units.")
@click.option("--monthly", type=float, default=None, help="Monthly quota in cost units.")
@click.option("--price", multiple=True, help="OPERATION=CREDITS per cost unit ('*' for any).")
@_common
def accounts_plan(
    plan_id: str,
    name: str | None,
    rate: float,
    burst: float,
    daily: float | None,
    monthly: float | None,
    price: tuple[str, ...],
    db: str | None,
    as_json: bool,
) -> None:
    """Create or replace a plan."""
    from pydantic import ValidationError

    from aupguard.store import Plan

    prices: dict[str, int] = {}
    for item in price:
        op, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            _fail(f"--price {item!r}: expected OPERATION=WHOLE_CREDITS, e.g. image=4")
        prices[op.strip()] = int(value)
    try:
        plan = Plan(
            id=plan_id,
            name=name or plan_id,
            rate_per_second=rate,
            burst=burst,
            daily_quota=daily,
            monthly_quota=monthly,
            credit_prices=prices,
        )
    except ValidationError as exc:
        _fail(f"invalid plan: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    with _store(db) as store:
        saved = store.accounts.put_plan(plan, actor="cli")
        _out(
            as_json,
            _dump(saved),
            f"plan {saved.id}: {saved.rate_per_second:g}/s, burst {saved.burst:g}",
        )


@accounts.command("create-org")
@click.argument("name")
@click.option("--plan", "plan_id", default=None)
@_common
def accounts_create_org(name: str, plan_id: str | None, db: str | None, as_json: bool) -> None:
    """Create an organisation (an operator's customer)."""
    with _store(db) as store:
        org = store.accounts.create_org(name, plan_id=plan_id, actor="cli")
        _out(as_json, _dump(org), org.id)


@accounts.command("create")
@click.argument("org_id")
@click.option("--email", default=None)
@click.option("--external-id", default=None)
@click.option("--plan", "plan_id", default=None)
@_common
def accounts_create(
    org_id: str,
    email: str | None,
    external_id: str | None,
    plan_id: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Create an end-user account in an organisation."""
    with _store(db) as store:
        account = store.accounts.create(
            org_id, email=email, external_id=external_id, plan_id=plan_id, actor="cli"
        )
        _out(as_json, _dump(account), account.id)


@accounts.command("list")
@click.option("--org", "org_id", default=None)
@_common
def accounts_list(org_id: str | None, db: str | None, as_json: bool) -> None:
    """List accounts (of one organisation with --org)."""
    with _store(db) as store:
        rows = store.accounts.all(org_id=org_id)
        _out(
            as_json,
            [_dump(a) for a in rows],
            "\n".join(
                f"{a.id}  {a.org_id}  {a.email or '-'}  {'closed' if a.closed_at else 'open'}"
                for a in rows
            )
            or "no accounts",
        )


@accounts.command("show")
@click.argument("account_id")
@_common
def accounts_show(account_id: str, db: str | None, as_json: bool) -> None:
    """An account with its plan, balance, keys, age attestation and standing."""
    from aupguard.enforcement.executor import Enforcer
    from aupguard.policy.registry import default_registry

    with _store(db) as store:
        account = store.accounts.get(account_id)
        pack = default_registry().get("general-usage").pack
        standing = Enforcer(store, pack).standing(account_id)
        info = {
            "account": _dump(account),
            "plan": _dump(p) if (p := store.accounts.plan_for(account_id)) else None,
            "balance": store.credits.balance(account_id),
            "keys": [_dump(k) for k in store.keys.for_account(account_id)],
            "age": _dump(a) if (a := store.accounts.age_attestation(account_id)) else None,
            "standing": _dump(standing),
        }
        state = (
            "banned"
            if standing.banned
            else f"suspended until {standing.suspended_until}"
            if standing.suspended_until
            else "in good standing"
        )
        _out(
            as_json,
            info,
            f"{account.id} ({account.email or 'no email'}), {state}, "
            f"balance {info['balance']}, {len(info['keys'])} keys, "
            f"{standing.active_points} strike points",
        )


@accounts.command("close")
@click.argument("account_id")
@click.option("--reason", default="")
@_common
def accounts_close(account_id: str, reason: str, db: str | None, as_json: bool) -> None:
    """Close an account (its keys stop working)."""
    with _store(db) as store:
        account = store.accounts.close(account_id, reason=reason, actor="cli")
        _out(as_json, _dump(account), f"{account.id} closed")


@accounts.command("attest-age")
@click.argument("account_id")
@click.option("--age", "age_years", type=int, default=None)
@click.option(
    "--method",
    type=click.Choice(["self_declared", "verified", "parental_consent", "failed"]),
    default="self_declared",
)
@click.option("--parental-consent", is_flag=True)
@_common
def accounts_attest_age(
    account_id: str,
    age_years: int | None,
    method: str,
    parental_consent: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Record an age attestation or a parental consent."""
    from aupguard.store.records import AgeMethod

    with _store(db) as store:
        att = store.accounts.attest_age(
            account_id,
            method=AgeMethod(method),
            age_years=age_years,
            parental_consent=parental_consent,
            actor="cli",
        )
        _out(as_json, _dump(att), f"{account_id}: {att.method.value} age {att.age_years}")


# -- keys ------------------------------------------------------------------------------------


@click.group("keys")
def keys() -> None:
    """API keys: only a hash is stored; the secret is shown once at creation."""


@keys.command("create")
@click.argument("account_id")
@click.option("--name", default="default")
@click.option("--scope", "scopes", multiple=True, help="Repeatable (default: moderate, generate).")
@click.option("--expires-days", type=click.IntRange(min=1), default=None)
@_common
def keys_create(
    account_id: str,
    name: str,
    scopes: tuple[str, ...],
    expires_days: int | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Create a key and print its secret (shown only this once)."""
    from aupguard.store.keys import DEFAULT_SCOPES

    with _store(db) as store:
        expires = (store.now() + dt.timedelta(days=expires_days)) if expires_days else None
        issued = store.keys.create(
            account_id, name=name, scopes=scopes or DEFAULT_SCOPES, expires_at=expires, actor="cli"
        )
        _out(
            as_json,
            {"key": _dump(issued.key), "secret": issued.secret},
            f"{issued.key.id}\n{issued.secret}\n(store the secret now; it is not kept)",
        )


@keys.command("revoke")
@click.argument("key_id")
@click.option("--reason", default="")
@_common
def keys_revoke(key_id: str, reason: str, db: str | None, as_json: bool) -> None:
    """Revoke a key at once."""
    with _store(db) as store:
        key = store.keys.revoke(key_id, reason=reason, actor="cli")
        _out(as_json, _dump(key), f"{key.id} revoked")


@keys.command("rotate")
@click.argument("key_id")
@click.option(
    "--grace-seconds",
    type=click.IntRange(min=0),
    default=0,
    help="How long the old key keeps working.",
)
@_common
def keys_rotate(key_id: str, grace_seconds: int, db: str | None, as_json: bool) -> None:
    """Replace a key with a new one of the same name and scopes."""
    with _store(db) as store:
        issued = store.keys.rotate(key_id, grace=dt.timedelta(seconds=grace_seconds), actor="cli")
        _out(
            as_json,
            {"key": _dump(issued.key), "secret": issued.secret, "replaces": key_id},
            f"{issued.key.id}\n{issued.secret}\n(replaces {key_id})",
        )


@keys.command("list")
@click.argument("account_id")
@_common
def keys_list(account_id: str, db: str | None, as_json: bool) -> None:
    """An account's keys with their state (prefixes only)."""
    with _store(db) as store:
        rows = store.keys.for_account(account_id)
        now = store.now()
        _out(
            as_json,
            [{**_dump(k), "state": k.state(now)} for k in rows],
            "\n".join(
                f"{k.id}  {k.prefix}…  {k.state(now):<8} {','.join(k.scopes)}  {k.name}"
                for k in rows
            )
            or "no keys",
        )


# -- credits ---------------------------------------------------------------------------------


@click.group("credits")
def credits() -> None:
    """The credit ledger: every grant, spend, refund and forfeiture is an entry."""


@credits.command("grant")
@click.argument("account_id")
@click.argument("amount", type=int)
@click.option("--reason", default="")
@_common
def credits_grant(account_id: str, amount: int, reason: str, db: str | None, as_json: bool) -> None:
    """Add credits to an account."""
    with _store(db) as store:
        entry = store.credits.grant(account_id, amount, reason=reason, actor="cli")
        _out(
            as_json, _dump(entry), f"granted {amount}; balance {store.credits.balance(account_id)}"
        )


@credits.command("balance")
@click.argument("account_id")
@_common
def credits_balance(account_id: str, db: str | None, as_json: bool) -> None:
    """The balance (the sum of the account's ledger entries)."""
    with _store(db) as store:
        balance = store.credits.balance(account_id)
        _out(as_json, {"account_id": account_id, "balance": balance}, str(balance))


@credits.command("ledger")
@click.argument("account_id")
@_common
def credits_ledger(account_id: str, db: str | None, as_json: bool) -> None:
    """Every entry of an account's ledger."""
    with _store(db) as store:
        rows = store.credits.entries(account_id)
        _out(
            as_json,
            [_dump(e) for e in rows],
            "\n".join(
                f"{e.id:>6} {e.created_at:%Y-%m-%d %H:%M} {e.kind.value:<10} "
                f"{e.amount:>8} {e.counterparty:<20} {e.reason or e.operation or ''}"
                for e in rows
            )
            or "no entries",
        )


@credits.command("refund")
@click.argument("entry_id", type=int)
@click.option("--amount", type=int, default=None, help="Default: what is left of the spend.")
@click.option("--reason", default="")
@_common
def credits_refund(
    entry_id: int, amount: int | None, reason: str, db: str | None, as_json: bool
) -> None:
    """Refund all or part of a spend."""
    with _store(db) as store:
        entry = store.credits.refund(entry_id, amount, reason=reason, actor="cli")
        _out(as_json, _dump(entry), f"refunded {entry.amount} (entry {entry.id})")


# -- enforcement -----------------------------------------------------------------------------


@click.group("enforcement")
def enforcement() -> None:
    """Strikes, ladder steps and their reversal."""


@enforcement.command("history")
@click.argument("account_id")
@_common
def enforcement_history(account_id: str, db: str | None, as_json: bool) -> None:
    """Every enforcement event of an account: strikes, steps, reversals, in order."""
    with _store(db) as store:
        store.accounts.get(account_id)
        events = [
            e
            for e in store.events.query(account_id=account_id)
            if e.kind.startswith(
                ("enforcement.", "credits.forfeiture", "credits.restore", "vault.")
            )
        ]
        _out(
            as_json,
            [_dump(e) for e in events],
            "\n".join(
                f"{e.at:%Y-%m-%d %H:%M:%S} {e.kind:<34} {e.subject or ''}  "
                f"{e.data.get('reason') or e.data.get('clause') or ''}"
                for e in events
            )
            or "no enforcement history",
        )


@enforcement.command("reverse")
@click.argument("action_id")
@click.option("--actor", required=True, help="Who reverses it (recorded).")
@click.option("--reason", required=True)
@_common
def enforcement_reverse(
    action_id: str, actor: str, reason: str, db: str | None, as_json: bool
) -> None:
    """Reverse an enforcement step (a forfeiture gives the credits back)."""
    from aupguard.enforcement.executor import EnforcementError, Enforcer
    from aupguard.policy.registry import default_registry

    with _store(db) as store:
        enforcer = Enforcer(store, default_registry().get("general-usage").pack)
        try:
            action = enforcer.reverse(action_id, actor=actor, reason=reason)
        except EnforcementError as exc:
            _fail(str(exc))
        _out(as_json, _dump(action), f"{action.id} ({action.step}) reversed")


def register(main: click.Group) -> None:
    for group in (accounts, keys, credits, enforcement):
        main.add_command(group)
