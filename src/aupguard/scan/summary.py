"""The summary of a scan, computed from every row of the output (so a resumed scan counts the
rows of earlier runs too): actions, errors, and what changed against the previous pack."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from aupguard.policy.registry import PackRegistry, ResolvedPack
from aupguard.scan.models import ItemRow, ScanSummary

ARROW = "→"


def previous_version(registry: PackRegistry, pack: ResolvedPack) -> ResolvedPack | None:
    """The version of the same pack just before ``pack``, when the registry has one."""
    versions = registry.versions(pack.id)
    if pack.version not in versions:
        return None
    i = versions.index(pack.version)
    return registry.get(f"{pack.id}@{versions[i - 1]}") if i > 0 else None


def read_rows(out: Path) -> list[ItemRow]:
    with out.open("rb") as f:
        return [ItemRow.model_validate_json(line) for line in f if line.strip()]


def summarise(
    rows: list[ItemRow], *, input: str, output: str, policy: str, compare_with: str | None
) -> ScanSummary:
    actions: Counter[str] = Counter()
    transitions: Counter[str] = Counter()
    by_clause: dict[str, Counter[str]] = {}
    errors = 0
    for row in rows:
        if row.action is None:
            errors += 1
            continue
        actions[row.action.value] += 1
        prev = row.previous
        if prev is None or prev.action is row.action:
            continue
        change = f"{prev.action.value}{ARROW}{row.action.value}"
        transitions[change] += 1
        for clause in set(row.clauses) | set(prev.clauses):
            by_clause.setdefault(clause, Counter())[change] += 1
    return ScanSummary(
        input=input,
        output=output,
        policy=policy,
        compare_with=compare_with,
        items=len(rows),
        errors=errors,
        actions=dict(sorted(actions.items())),
        changed=sum(transitions.values()),
        transitions=dict(transitions.most_common()),
        by_clause={c: dict(n.most_common()) for c, n in sorted(by_clause.items())},
    )


def format_summary(s: ScanSummary) -> str:
    lines = [
        f"scanned {s.items} items of {s.input} under {s.policy} in {s.seconds:.1f} s"
        + (" (resumed)" if s.resumed else ""),
        "  "
        + (", ".join(f"{a} {n}" for a, n in s.actions.items()) or "no verdicts")
        + f", errors {s.errors}",
    ]
    if s.compare_with is None:
        lines.append("  no earlier pack version to compare with")
    else:
        lines.append(f"  against {s.compare_with}: {s.changed} items changed action")
        lines += [f"    {t}: {n}" for t, n in s.transitions.items()]
        if s.by_clause:
            lines.append("    by clause:")
        for clause, changes in s.by_clause.items():
            lines.append(f"      §{clause}: " + ", ".join(f"{t} {n}" for t, n in changes.items()))
    return "\n".join(lines)
