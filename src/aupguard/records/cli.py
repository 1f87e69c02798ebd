"""``aupguard audit|statements|report``: a thin layer over ``aupguard.records``.

Every command takes ``--db URL`` (default ``AUPGUARD_DATABASE_URL``) and ``--json``. Exit
codes: 0 done (or the chain verifies), 1 the database is unavailable, 2 bad input (unknown
account, malformed file, bad key or date), 3 the chain or file does not verify, or the state
rebuilt from events differs from the store's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from aupguard.records.audit import AuditLog, VerifyReport
    from aupguard.store import Store

F = TypeVar("F", bound=Callable[..., Any])
EXIT_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_VERIFIED = 3


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _announce(message: str) -> None:
    click.echo(f"note: {message}", err=True)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Known errors become one line on stderr and an exit code, never a traceback."""
    try:
        from aupguard.records.errors import RecordsError
        from aupguard.store import NotFoundError, StoreError, StoreUnavailableError
    except ImportError as exc:
        _fail(f"{exc}", EXIT_UNAVAILABLE)
    try:
        yield
    except StoreUnavailableError as exc:
        _fail(str(exc), EXIT_UNAVAILABLE)
    except (NotFoundError, StoreError, RecordsError, ValueError, OSError) as exc:
        _fail(str(exc))


@contextlib.contextmanager
def _store(db: str | None) -> Iterator[Store]:
    with _errors():
        from aupguard.store import Store

        store = Store.open(db)
        try:
            yield store
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


def _when(value: str | None, option: str) -> dt.datetime | None:
    """A date (``2025-03-01``) or ISO datetime; naive values are UTC."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option} {value!r} is not a date (YYYY-MM-DD) or ISO datetime")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _audit_log(store: Store, public_key: Path | None, *, need_signing: bool) -> AuditLog:
    from aupguard.records.audit import AuditLog, checkpoint_every_from_env
    from aupguard.records.errors import SigningKeyError
    from aupguard.records.signing import PublicKey, load_signing_key

    signing = None
    try:
        signing = load_signing_key(create=need_signing, announce=_announce)
    except SigningKeyError:
        if need_signing:
            raise
    verifying = PublicKey.from_file(public_key) if public_key else None
    return AuditLog(
        store,
        signing_key=signing,
        public_key=verifying,
        checkpoint_every=checkpoint_every_from_env(),
    )


def _report_text(report: VerifyReport, what: str) -> str:
    if report.first_break is None:
        text = (
            f"{what} verifies: {report.events} events (last seq {report.last_seq}), "
            f"{report.checkpoints} signed checkpoints"
        )
        if report.unsigned_tail:
            text += f"; {report.unsigned_tail} newest events not yet under a checkpoint"
        if report.purged:
            text += f"; {report.purged} payloads purged under retention"
        return text
    brk = report.first_break
    at = f"seq {brk.seq}" + (f" (event id {brk.event_id})" if brk.event_id is not None else "")
    return f"{what} does NOT verify: first break at {at}: {brk.reason}"


# -- audit -----------------------------------------------------------------------------------


@click.group("audit")
def audit() -> None:
    """The tamper-evident audit log: verify, export, checkpoints (needs the 'store' extra)."""


_PUBLIC_KEY = click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM public key to check checkpoint signatures (default: the signing key's).",
)


@audit.command("verify")
@_PUBLIC_KEY
@_common
def audit_verify(public_key: Path | None, db: str | None, as_json: bool) -> None:
    """Walk the whole chain and report the first break, if any."""
    with _store(db) as store:
        report = _audit_log(store, public_key, need_signing=False).verify()
    _out(as_json, report.model_dump(mode="json"), _report_text(report, "the audit log"))
    if not report.ok:
        sys.exit(EXIT_NOT_VERIFIED)


@audit.command("checkpoint")
@_common
def audit_checkpoint(db: str | None, as_json: bool) -> None:
    """Verify the chain and sign a checkpoint at its head (run it periodically)."""
    with _store(db) as store, _errors():
        from aupguard.records.errors import ChainBrokenError

        try:
            cp = _audit_log(store, None, need_signing=True).checkpoint()
        except ChainBrokenError as exc:
            _fail(str(exc), EXIT_NOT_VERIFIED)
    _out(as_json, cp.model_dump(mode="json"), f"checkpoint at seq {cp.seq} ({cp.key_id})")


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the PEM public key of the signing key (give it to auditors)."""
    with _errors():
        from aupguard.records.signing import load_signing_key

        click.echo(load_signing_key(announce=_announce).public_key.pem(), nl=False)


@audit.command("export")
@click.option("--since", default=None, help="From this date/time (UTC), inclusive.")
@click.option("--until", default=None, help="Up to this date/time (UTC), exclusive.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Default: stdout."
)
@_common
def audit_export(
    since: str | None, until: str | None, out: Path | None, db: str | None, as_json: bool
) -> None:
    """Write the events in a window as JSONL that re-verifies with the public key."""
    start, end = _when(since, "--since"), _when(until, "--until")
    if start and end and end <= start:
        _fail("--until must be after --since")
    with _store(db) as store, _errors():
        from aupguard.records.errors import ChainBrokenError

        log = _audit_log(store, None, need_signing=True)
        try:
            if out is None:
                header = log.export(sys.stdout, since=start, until=end)
            else:
                with out.open("w", encoding="utf-8", newline="\n") as handle:
                    header = log.export(handle, since=start, until=end)
        except ChainBrokenError as exc:
            _fail(str(exc), EXIT_NOT_VERIFIED)
    if out is not None:
        _out(as_json, header.model_dump(mode="json"), f"{header.events} events -> {out}")


@audit.command("verify-export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The operator's PEM public key.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def audit_verify_export(file: Path, public_key: Path, as_json: bool) -> None:
    """Re-verify an exported JSONL file with only the public key (no database)."""
    with _errors():
        from aupguard.records.audit import verify_export
        from aupguard.records.signing import PublicKey

        report = verify_export(file, PublicKey.from_file(public_key))
    _out(as_json, report.model_dump(mode="json"), _report_text(report, str(file)))
    if not report.ok:
        sys.exit(EXIT_NOT_VERIFIED)


@audit.command("state")
@click.argument("account_id")
@_common
def audit_state(account_id: str, db: str | None, as_json: bool) -> None:
    """Rebuild an account's state from its events and compare it with the store's."""
    with _store(db) as store:
        from aupguard.records.state import rebuild_account_state, stored_account_state

        rebuilt = rebuild_account_state(store, account_id)
        stored = stored_account_state(store, account_id)
    same = rebuilt == stored
    payload = {
        "account_id": account_id,
        "matches": same,
        "from_events": rebuilt.model_dump(mode="json"),
        "stored": stored.model_dump(mode="json"),
    }
    human = (
        f"{account_id}: {rebuilt.active_points} active strike points, "
        f"banned={rebuilt.banned}, suspended_until={rebuilt.suspended_until}, "
        f"closed={rebuilt.closed}; "
        + ("matches the store" if same else "DIFFERS from the store: " + json.dumps(payload))
    )
    _out(as_json, payload, human)
    if not same:
        sys.exit(EXIT_NOT_VERIFIED)


@audit.command("purge")
@_common
def audit_purge(db: str | None, as_json: bool) -> None:
    """Purge payloads past their retention (AUPGUARD_RETENTION) and expired vault items."""
    with _store(db) as store:
        from aupguard.records.retention import RetentionPolicy, purge_expired

        result = purge_expired(store, RetentionPolicy.from_env())
    _out(
        as_json,
        result.model_dump(mode="json"),
        f"purged {result.purged_events} event payloads, {len(result.vault_items)} vault items",
    )


# -- statements ------------------------------------------------------------------------------


@click.group("statements")
def statements() -> None:
    """Statements of reasons in the DSA transparency database's shape."""


@statements.command("export")
@click.option("--since", default=None, help="From this date/time (UTC), inclusive.")
@click.option("--until", default=None, help="Up to this date/time (UTC), exclusive.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--batch-size", type=click.IntRange(1, 100), default=100)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--puid-prefix", default="aupguard", help="Prefix of every statement's puid.")
@_common
def statements_export(
    since: str | None,
    until: str | None,
    fmt: str,
    batch_size: int,
    out_dir: Path,
    puid_prefix: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Write a statement for every restriction in the window, in batches of ≤ 100."""
    start, end = _when(since, "--since"), _when(until, "--until")
    with _store(db) as store:
        from aupguard.records.statements import export_batches, statements_from_events

        events = []
        after = 0
        while batch := store.events.query(kind_prefix="enforcement.", after_id=after, limit=5000):
            events += [e for e in batch if (not start or e.at >= start) and (not end or e.at < end)]
            after = batch[-1].id
        found = statements_from_events(events, puid_prefix=puid_prefix)
        files = export_batches(found, out_dir, fmt=fmt, batch_size=batch_size)
    _out(
        as_json,
        {"statements": len(found), "files": [str(f) for f in files]},
        f"{len(found)} statements in {len(files)} files under {out_dir}",
    )


# -- report ----------------------------------------------------------------------------------


@click.group("report")
def report() -> None:
    """Reports computed from the audit log."""


@report.command("transparency")
@click.option("--from", "from_", required=True, help="Start date (UTC), inclusive.")
@click.option("--to", "to", required=True, help="End date (UTC), exclusive.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json"]), default="html")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--operator", default="aupguard operator", help="Name shown on the report.")
@click.option(
    "--db",
    envvar="AUPGUARD_DATABASE_URL",
    default=None,
    help="Database URL (default: AUPGUARD_DATABASE_URL or ./aupguard.db).",
)
def report_transparency(
    from_: str, to: str, fmt: str, out: Path | None, operator: str, db: str | None
) -> None:
    """Volumes by category, action, surface, language and detection method; appeals and
    overturn rate; median time to action; user reports and outcomes."""
    start, end = _when(from_, "--from"), _when(to, "--to")
    assert start is not None and end is not None
    with _store(db) as store:
        from aupguard.records.transparency import render_html, render_pdf, report_from_store

        built = report_from_store(store, start, end)
        if fmt == "json":
            data: bytes = (built.model_dump_json(indent=1) + "\n").encode("utf-8")
        elif fmt == "html":
            data = render_html(built, operator=operator).encode("utf-8")
        else:
            data = render_pdf(built, operator=operator)
        if out is None:
            if fmt == "pdf":
                _fail("--format pdf needs --out FILE")
            sys.stdout.buffer.write(data)
        else:
            out.write_bytes(data)
            click.echo(f"wrote {out}", err=True)


def register(main: click.Group) -> None:
    for group in (audit, statements, report):
        main.add_command(group)
