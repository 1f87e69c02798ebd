"""Load policy packs from YAML with compiler-style errors (``file:line:col: message``).

A pack that fails to load is an error, never a warning: a policy that silently loses a clause
would allow what the operator meant to forbid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aupguard.policy.models import PolicyPack

MAX_PACK_BYTES = 2_000_000

Location = tuple[int, int]  # 1-based line and column
PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class PackProblem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PackError(ValueError):
    """One or more problems in a pack; ``str()`` lists them one per line, compiler-style."""

    def __init__(self, problems: list[PackProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class LoadedPack:
    """A parsed, validated pack with where it came from and the YAML positions of its keys."""

    pack: PolicyPack
    path: str
    positions: dict[PathKey, Location]

    def where(self, *key: str | int) -> Location:
        return _closest_position(self.positions, key)

    def problem(self, message: str, *key: str | int) -> PackProblem:
        line, col = self.where(*key)
        return PackProblem(self.path, line, col, message)


def _positions(
    node: yaml.Node, path: PathKey, out: dict[PathKey, Location]
) -> list[tuple[int, int, str]]:
    """Record the position of every key/item; return duplicate-key messages."""
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    errors: list[tuple[int, int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                errors.append(
                    (
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        f"duplicate key {key!r} (first on line {seen[key]})",
                    )
                )
            seen[key] = key_node.start_mark.line + 1
            child = (*path, key)
            errors += _positions(value_node, child, out)
            # point at the key itself, which reads better than the value in messages
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _positions(item, (*path, i), out)
    return errors


def _closest_position(positions: dict[PathKey, Location], key: tuple[Any, ...]) -> Location:
    for n in range(len(key), -1, -1):
        if key[:n] in positions:
            return positions[key[:n]]
    return (1, 1)


def _describe_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_pack_text(text: str, path: str) -> LoadedPack:
    """Parse and validate one pack's YAML text. Raises PackError with file:line:col problems."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        raise PackError([PackProblem(path, line, col, f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise PackError([PackProblem(path, 1, 1, f"YAML error: {exc}")]) from None
    if node is None or data is None:
        raise PackError([PackProblem(path, 1, 1, "the pack is empty")])
    if not isinstance(data, dict):
        raise PackError([PackProblem(path, 1, 1, "a pack must be a YAML mapping (key: value)")])

    positions: dict[PathKey, Location] = {}
    duplicates = _positions(node, (), positions)
    if duplicates:
        raise PackError([PackProblem(path, line, col, msg) for line, col, msg in duplicates])

    try:
        pack = PolicyPack.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line, col = _closest_position(positions, loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r} (not allowed here)"
            problems.append(PackProblem(path, line, col, f"{_describe_loc(loc)}: {msg}"))
        raise PackError(problems) from None
    return LoadedPack(pack=pack, path=path, positions=positions)


def load_pack_file(path: str | Path) -> LoadedPack:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise PackError([PackProblem(str(p), 1, 1, "no such file")]) from None
    except OSError as exc:
        raise PackError([PackProblem(str(p), 1, 1, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_PACK_BYTES:
        raise PackError(
            [PackProblem(str(p), 1, 1, f"pack is {len(raw)} bytes; the limit is {MAX_PACK_BYTES}")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PackError(
            [PackProblem(str(p), line, 1, f"not valid UTF-8 (byte {exc.start})")]
        ) from None
    return parse_pack_text(text, str(p))


def iter_pack_files(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.glob("*.yaml"))
    yield from sorted(directory.glob("*.yml"))
