"""``aupguard review …``: queues, reviewers, the false-positive export and the reviewer UI.
A thin layer over ``aupguard.review.ReviewDesk``. Every command takes ``--db URL`` (default
``AUPGUARD_DATABASE_URL``, else ``sqlite:///./aupguard.db``). Exit codes: 0 done, 1 the
database is unavailable, 2 bad input or an unknown id."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from aupguard.review import ReviewDesk


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _desk(db: str | None) -> Iterator[ReviewDesk]:
    try:
        from aupguard.review import ReviewConfigError, ReviewDesk, ReviewError, load_routing
        from aupguard.store import Store, StoreError, StoreUnavailableError
    except ImportError as exc:
        _fail(str(exc), 1)
    try:
        routing = load_routing()
    except ReviewConfigError as exc:
        _fail(str(exc))
    try:
        store = Store.open(db)
    except StoreUnavailableError as exc:
        _fail(str(exc), 1)
    try:
        yield ReviewDesk(store, routing)
    except StoreUnavailableError as exc:
        _fail(str(exc), 1)
    except (ReviewError, StoreError, ValueError) as exc:
        _fail(str(exc))
    finally:
        store.close()


_db = click.option(
    "--db",
    envvar="AUPGUARD_DATABASE_URL",
    default=None,
    help="Database URL (default: AUPGUARD_DATABASE_URL or ./aupguard.db).",
)


@click.group("review")
def review_group() -> None:
    """Human review: queues, reviewers, false-positive export, the reviewer web UI."""


@review_group.command("queues")
@_db
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def queues_cmd(db: str | None, as_json: bool) -> None:
    """Open, past-SLA and claimed items per queue."""
    from aupguard.review import Reviewer, Role
    from aupguard.store import utcnow

    with _desk(db) as desk:
        everyone = Reviewer(
            username="cli", roles=tuple(Role), blur_images=True, disabled=False, created_at=utcnow()
        )
        summaries = desk.queue_summaries(everyone)
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in summaries], indent=2))
        return
    click.echo(f"{'queue':<16}{'open':>7}{'past SLA':>10}{'claimed':>9}  SLA")
    for s in summaries:
        click.echo(f"{s.name:<16}{s.open:>7}{s.overdue:>10}{s.claimed:>9}  {s.sla_minutes} min")


@review_group.command("add-reviewer")
@_db
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="reviewer, senior_reviewer, child_safety or admin (repeat for several).",
)
@click.option(
    "--password",
    envvar="AUPGUARD_REVIEW_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 12 characters (default: prompt; or AUPGUARD_REVIEW_PASSWORD).",
)
def add_reviewer_cmd(db: str | None, username: str, roles: tuple[str, ...], password: str) -> None:
    """Create a reviewer account for the web UI."""
    with _desk(db) as desk:
        reviewer = desk.add_reviewer(username, password, roles, actor="cli")
    click.echo(f"added {reviewer.username} ({', '.join(reviewer.roles)})")


@review_group.command("set-roles")
@_db
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="The new set of roles.")
def set_roles_cmd(db: str | None, username: str, roles: tuple[str, ...]) -> None:
    """Replace a reviewer's roles (logged in the audit log)."""
    with _desk(db) as desk:
        reviewer = desk.set_roles(username, roles, actor="cli")
    click.echo(f"{reviewer.username}: {', '.join(reviewer.roles)}")


@review_group.command("export-false-positives")
@_db
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path), required=False)
def export_cmd(db: str | None, out: Path | None) -> None:
    """Items reviewers marked as false positives, as evaluation data (JSONL; stdout if no
    OUT). Feed them to ``aupguard eval``."""
    with _desk(db) as desk:
        if out is None:
            n = desk.export_false_positives(sys.stdout)
        else:
            n = desk.export_false_positives_to(out)
    click.echo(f"{n} false positive(s) exported", err=True)


@review_group.command("serve")
@_db
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
def serve_cmd(db: str | None, host: str, port: int) -> None:
    """Run the reviewer web UI alone at http://HOST:PORT/review/ (``aupguard serve`` also
    mounts it at /review)."""
    try:
        import uvicorn

        from aupguard.review import ReviewDesk, load_routing
        from aupguard.store import Store, StoreUnavailableError
        from aupguard.web import web_settings_from_env
        from aupguard.web.standalone import standalone_app
    except ImportError as exc:
        _fail(f"{exc} (pip install 'aupguard[server]')", 1)
    try:
        settings = web_settings_from_env()
        store = Store.open(db)
    except (ValueError, StoreUnavailableError) as exc:
        _fail(str(exc), 1)
    app = standalone_app(ReviewDesk(store, load_routing()), settings)
    click.echo(f"reviewer UI on http://{host}:{port}/review/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@review_group.command("screenshots")
@click.argument(
    "out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/review")
)
@click.option("--chromium", default="/usr/bin/chromium", show_default=True)
def screenshots_cmd(out: Path, chromium: str) -> None:
    """Screenshots of the main pages (demo data) for the README: queues, item, image item,
    dashboard. Needs the dev extra (playwright) and Chromium; downloads nothing."""
    if not Path(chromium).exists():
        _fail(f"no Chromium at {chromium} (apt-get install chromium, or --chromium PATH)", 1)
    try:
        from aupguard.web.screenshots import take_screenshots
    except ImportError as exc:
        _fail(f"{exc} (pip install 'aupguard[dev]')", 1)
    try:
        paths = take_screenshots(out, chromium=chromium)
    except ImportError as exc:
        _fail(f"{exc} (pip install 'aupguard[dev]')", 1)
    for path in paths:
        click.echo(str(path))


def register(main: click.Group) -> None:
    main.add_command(review_group)
