"""Statements of reasons: DSA shape (JSON Schema), limits, no personal data, batches."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

import jsonschema_rs
import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parents[1] / "enforcement"))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.enforcement.executor import Enforcer
from aupguard.records import (
    StatementError,
    StatementOfReasons,
    export_batches,
    statement_from_decision,
    statements_from_events,
)
from aupguard.records.statements import json_schema
from aupguard.store import Store
from aupguard.store.testing import MovableClock

WHEN = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def _decision(i: int = 0, **kw: object) -> StatementOfReasons:
    args: dict[str, object] = {
        "decision_id": f"dec_{i}",
        "decided_at": WHEN,
        "category": "sexual",
        "pack_id": "krea-2",
        "pack_version": "1.0",
        "clause_id": "2.1",
        **kw,
    }
    return statement_from_decision(**args)  # type: ignore[arg-type]


def test_statements_from_enforcement_validate_against_the_schema(
    store: Store, clock: MovableClock, tmp_path: Path
) -> None:
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, email="ann@example.com").id
    store.credits.grant(account, 50)
    enforcer = Enforcer(store, LADDER_PACK, reports_dir=tmp_path)
    for _ in range(7):
        enforcer.record_verdict(account, verdict("sexual"))
        clock.advance(dt.timedelta(days=4))
    statements = statements_from_events(store.events.query())
    steps = {a.step for a in store.enforcement.actions(account)}
    assert {"temporary_suspension", "permanent_ban"} <= steps
    assert statements, "restrictions must give statements"
    schema = json_schema()
    for s in statements:
        jsonschema_rs.validate(schema, s.to_dsa())
        text = json.dumps(s.to_dsa())
        assert "ann@example.com" not in text and account not in text
        assert s.automated_detection == "Yes" and s.automated_decision.endswith("FULLY")
    kinds = {(s.decision_account, s.decision_monetary) for s in statements}
    assert ("DECISION_ACCOUNT_TERMINATED", None) in kinds
    assert len({s.puid for s in statements}) == len(statements)


def test_decision_statement_for_a_generated_image() -> None:
    s = _decision(media_type="image/png", generated=True, language="de")
    assert s.content_type == ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_SYNTHETIC_MEDIA"]
    assert s.decision_visibility == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert s.category == "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"
    assert s.decision_ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert "krea-2@1.0 §2.1" in (s.incompatible_content_ground or "")
    jsonschema_rs.validate(json_schema(), s.to_dsa())


def test_illegal_content_ground_for_csam() -> None:
    s = _decision(category="sexual/minors")
    assert s.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert s.category == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert s.illegal_content_legal_ground
    jsonschema_rs.validate(json_schema(), s.to_dsa())


def test_facts_limit_and_personal_data_are_enforced() -> None:
    base = _decision().model_dump()
    with pytest.raises(ValidationError, match="5000"):
        StatementOfReasons.model_validate({**base, "decision_facts": "x" * 5001})
    StatementOfReasons.model_validate({**base, "decision_facts": "x" * 5000})
    for leak in ("mail ann@example.com", "from 192.168.1.20", "call +44 20 7946 0958"):
        with pytest.raises(ValidationError, match="personal data"):
            StatementOfReasons.model_validate({**base, "decision_facts": leak})
    with pytest.raises(ValidationError, match="Extra inputs"):
        StatementOfReasons.model_validate({**base, "email": "a@b.c"})
    with pytest.raises(ValidationError, match="restriction"):
        StatementOfReasons.model_validate({**base, "decision_visibility": None})
    bad = {**_decision().to_dsa(), "email": "a@b.c"}
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(json_schema(), bad)
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(
            json_schema(), {**_decision().to_dsa(), "decision_facts": "x" * 5001}
        )


def test_batches_of_at_most_100_json_and_csv(tmp_path: Path) -> None:
    statements = [_decision(i) for i in range(250)]
    files = export_batches(statements, tmp_path / "json")
    assert [len(json.loads(f.read_text())["statements"]) for f in files] == [100, 100, 50]
    for item in json.loads(files[0].read_text())["statements"]:
        jsonschema_rs.validate(json_schema(), item)
    csv_files = export_batches(statements, tmp_path / "csv", fmt="csv", batch_size=40)
    assert len(csv_files) == 7
    with csv_files[0].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and rows[0]["puid"] == "aupguard:dec_0"
    assert json.loads(rows[0]["content_type"]) == ["CONTENT_TYPE_TEXT"]
    with pytest.raises(StatementError, match=r"1\.\.100"):
        export_batches(statements, tmp_path / "x", batch_size=101)
    with pytest.raises(StatementError, match="never reused"):
        export_batches([_decision(1), _decision(1)], tmp_path / "y")


def test_a_warning_is_not_a_restriction() -> None:
    from aupguard.records.statements import make_statement

    with pytest.raises(StatementError, match="not a restriction"):
        make_statement(
            puid="p", step="warning", when=WHEN, category=None, clause=None, automated=True
        )
