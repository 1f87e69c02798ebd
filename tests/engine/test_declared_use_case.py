"""Declared use cases judged by the pack's use-case clauses only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aupguard.engine.moderator import Moderator
from aupguard.engine.use_case import check_declared_use_case, use_case_clauses
from aupguard.errors import InputError
from aupguard.policy.models import Action, Surface
from aupguard.policy.registry import default_registry


def moderator(policy: str) -> Moderator:
    return Moderator(default_registry().get(policy))


@pytest.mark.parametrize(
    ("policy", "declaration", "expected", "clause"),
    [
        (
            "stability-ai",
            "we build an HR tool that reads job candidates' emotions during video interviews",
            Action.BLOCK,
            "violation-of-law.ai-laws.emotion-inference",
        ),
        (
            "stability-ai",
            "a platform that predicts which residents will become criminals based on their "
            "neighbourhood and social media",
            Action.BLOCK,
            "violation-of-law.ai-laws.predictive-policing",
        ),
        (
            "general-usage",
            "a symptom checker where patients describe their pain and we suggest what "
            "medication to take",
            Action.REVIEW,
            "2.1-healthcare",
        ),
        ("stability-ai", "a tutoring chatbot that explains maths to students", Action.ALLOW, None),
        ("general-usage", "an app that generates birthday cards", Action.ALLOW, None),
    ],
)
def test_declared_use_cases(
    policy: str, declaration: str, expected: Action, clause: str | None
) -> None:
    verdict = check_declared_use_case(moderator(policy), declaration)
    assert verdict.action is expected, verdict.summary()
    if clause:
        assert clause in {h.clause_id for h in verdict.clauses}


def test_only_use_case_clauses_decide_a_declaration() -> None:
    # explicit content in a declaration is a content matter, judged when content arrives
    mod = moderator("stability-ai")
    declaration = "an app that writes hardcore porn stories"
    assert mod.check(declaration).action is Action.BLOCK
    verdict = check_declared_use_case(mod, declaration)
    allowed = {c.id for c in use_case_clauses(mod.pack.pack)}
    assert {h.clause_id for h in verdict.clauses} <= allowed
    assert any(c.surface is Surface.USE_CASE for c in use_case_clauses(mod.pack.pack))
    assert not any(h.category == "sexual" for h in verdict.clauses)


def test_bad_declaration_is_a_clear_error() -> None:
    with pytest.raises(InputError):
        check_declared_use_case(moderator("stability-ai"), "   ")


def test_cli_usecase_exit_codes_and_json() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aupguard",
            "usecase",
            "we want to build emotion recognition to score our employees at work",
            "--policy",
            "stability-ai",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4, proc.stderr
    out = json.loads(proc.stdout)
    assert out["action"] == "block" and out["flagged"] is True
    assert any(e["rule"].startswith("use-case:") for e in out["evidence"])
    ok = subprocess.run(
        [sys.executable, "-m", "aupguard", "usecase", "a recipe app", "--policy", "stability-ai"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("ALLOW")
