"""The ``aupguard`` command line: a thin layer over the library.

Exit codes (documented in the README):
  0  allow / allow_with_disclosure (or a command that succeeded)
  1  an invalid policy pack, or an unexpected internal error
  2  usage error: bad arguments, unknown policy id, unusable input
  3  at least one item was sent to review
  4  at least one item was blocked
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from aupguard import __version__
from aupguard.engine.moderator import Limits, Moderator
from aupguard.engine.verdict import Verdict
from aupguard.errors import InputError
from aupguard.policy.analysis import clause_enforcement, diff_packs
from aupguard.policy.loader import PackError, load_pack_file
from aupguard.policy.models import Action, Modality
from aupguard.policy.registry import PackRegistry, ResolvedPack, UnknownPackError, default_registry
from aupguard.policy.taxonomy import load_taxonomy

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_REVIEW = 3
EXIT_BLOCK = 4
MAX_STDIN_BYTES = 64 * 1024 * 1024
DEFAULT_POLICY = "general-usage"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _registry(ctx: click.Context) -> PackRegistry:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "registry" not in obj:
        try:
            obj["registry"] = default_registry(obj.get("pack_path", ()))
        except PackError as exc:
            _fail(f"a policy pack failed to load:\n{exc}", EXIT_INVALID)
    registry: PackRegistry = obj["registry"]
    return registry


def _resolve_policy(ctx: click.Context, ref: str) -> ResolvedPack:
    registry = _registry(ctx)
    try:
        if ref.endswith((".yaml", ".yml")) or Path(ref).is_file():
            return registry.add_file(ref)
        return registry.get(ref)
    except UnknownPackError as exc:
        _fail(str(exc))
    except PackError as exc:
        _fail(f"invalid policy pack:\n{exc}", EXIT_INVALID)


def _exit_code(actions: list[Action]) -> int:
    worst = Action.strictest(actions)
    return {Action.BLOCK: EXIT_BLOCK, Action.REVIEW: EXIT_REVIEW}.get(worst, EXIT_OK)


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aupguard")
@click.option(
    "--pack-path",
    multiple=True,
    type=click.Path(exists=True),
    help="Extra policy pack file or directory (repeatable; also AUPGUARD_PACK_PATH).",
)
@click.pass_context
def main(ctx: click.Context, pack_path: tuple[str, ...]) -> None:
    """aupguard: enforce acceptable-use policies on generative-AI prompts and outputs."""
    ctx.ensure_object(dict)["pack_path"] = pack_path


# -- check -----------------------------------------------------------------------------------


def _read_stdin() -> str:
    raw = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(raw) > MAX_STDIN_BYTES:
        raise InputError(f"stdin is larger than {MAX_STDIN_BYTES} bytes", code="input_too_large")
    return _decode(raw, "stdin")


def _decode(raw: bytes, where: str) -> str:
    if b"\x00" in raw[:8192]:
        raise InputError(
            f"{where} looks like binary data (NUL bytes), not text", code="binary_input"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where} is not valid UTF-8 (bad byte at offset {exc.start}); re-encode it as UTF-8",
            code="bad_encoding",
        ) from None


def _items_from_file(path: Path) -> Iterator[tuple[str, str]]:
    """(label, text) pairs: JSONL objects with "text" (or JSON strings), else one per line."""
    raw = path.read_bytes()
    text = _decode(raw, str(path))
    jsonl = path.suffix in (".jsonl", ".ndjson")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label = f"{path}:{lineno}"
        if jsonl:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{label}: not JSON ({exc.msg})", code="bad_record") from None
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                yield label, obj["text"]
            elif isinstance(obj, str):
                yield label, obj
            else:
                raise InputError(f"{label}: needs a string field 'text'", code="bad_record")
        else:
            yield label, line


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _format_verdict(v: Verdict, text: str, label: str | None = None) -> str:
    lines = [
        f"{v.action.value.upper()}  {v.pack_id}@{v.pack_version}"
        + (f"  lang {v.lang}" if v.lang else "")
        + (f"  [{label}]" if label else "")
    ]
    for hit in v.clauses:
        thr = []
        if hit.review_threshold is not None:
            thr.append(f"review ≥ {hit.review_threshold:g}")
        if hit.block_threshold is not None:
            thr.append(f"act ≥ {hit.block_threshold:g}")
        lines.append(
            f"  §{hit.clause_id} {hit.title}: {hit.category} {hit.score:.2f} "
            f"({', '.join(thr)}) -> {hit.action.value}"
        )
        quote = hit.quote if len(hit.quote) <= 160 else hit.quote[:157] + "..."
        lines.append(f'      "{quote}"')
    for d in v.disclosures:
        lines.append(f"  disclosure: {d}")
    for comb in v.combinations:
        parts = ", ".join(f"{k} {s:.2f}" for k, s in comb.parts.items())
        lines.append(f"  combined: {parts} => {comb.result} {comb.score:.2f}")
    for ev in v.evidence:
        where = f"[{ev.start}:{ev.end}]" if ev.start is not None else ""
        snippet = text[ev.start : ev.end] if ev.start is not None and ev.end is not None else ""
        lines.append(
            f"  evidence {where} {snippet!r} -> {ev.category} {ev.score:.2f}"
            + (f" ({ev.rule})" if ev.rule else "")
            + (f": {_clip(ev.detail, 110)}" if ev.detail else "")
        )
    for err in v.errors:
        lines.append(f"  detector error: {err} (failing closed)")
    return "\n".join(lines)


@main.command()
@click.argument("text", required=False)
@click.option(
    "--policy",
    "-p",
    default=DEFAULT_POLICY,
    show_default=True,
    help="Pack id, id@version, or a pack YAML file.",
)
@click.option(
    "--file",
    "-f",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check many: JSONL with a 'text' field per line, or plain text, one per line.",
)
@click.option(
    "--modality",
    type=click.Choice([m.value for m in Modality if m != Modality.ACCOUNT_EVENTS]),
    default=Modality.PROMPT.value,
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the full verdict as JSON.")
@click.option(
    "--image",
    "image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check an image file (PNG, JPEG, WebP, GIF); TEXT, if given, is its prompt.",
)
@click.pass_context
def check(
    ctx: click.Context,
    text: str | None,
    policy: str,
    file_: Path | None,
    modality: str,
    as_json: bool,
    image: Path | None,
) -> None:
    """Check TEXT (or '-' for stdin, or --file, or --image) against a policy pack.

    Exit code: 0 allow, 3 review, 4 block, 2 usage error.
    """
    if image is not None:
        from aupguard.images.cli import check_image_command

        check_image_command(_resolve_policy(ctx, policy), image, modality, text, as_json, file_)
    if (text is None) == (file_ is None):
        _fail("give exactly one of TEXT, '-' (stdin) or --file")
    pack = _resolve_policy(ctx, policy)
    try:
        moderator = Moderator(pack, limits=Limits.from_env())
        if file_ is not None:
            items = list(_items_from_file(file_))
        else:
            assert text is not None
            items = [("stdin", _read_stdin())] if text == "-" else [("", text)]
    except InputError as exc:
        _fail(str(exc))

    actions: list[Action] = []
    if len(items) > 1:
        moderator.prepare([t for _, t in items if len(t) <= moderator.limits.max_text_chars])
    for label, item_text in items:
        try:
            verdict = moderator.check(item_text, Modality(modality))
        except InputError as exc:
            if len(items) == 1:
                _fail(str(exc))
            click.echo(f"error: {label}: {exc}", err=True)
            actions.append(Action.REVIEW)  # an unusable item is never silently allowed
            continue
        actions.append(verdict.action)
        if as_json:
            out = verdict.model_dump(mode="json")
            out["flagged"] = verdict.flagged
            if len(items) > 1:
                out["item"] = label
            click.echo(_dump(out))
        else:
            click.echo(_format_verdict(verdict, item_text, label if len(items) > 1 else None))
    sys.exit(_exit_code(actions))


@main.command("usecase")
@click.argument("declaration")
@click.option(
    "--policy",
    "-p",
    default=DEFAULT_POLICY,
    show_default=True,
    help="Pack id, id@version, or a pack YAML file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full verdict as JSON.")
@click.pass_context
def usecase(ctx: click.Context, declaration: str, policy: str, as_json: bool) -> None:
    """Check a declared use case (what a customer builds, '-' for stdin) against the pack's
    use-case clauses: block = prohibited, review = a person decides before onboarding.

    Exit code: 0 allow, 3 review, 4 block, 2 usage error.
    """
    from aupguard.engine.use_case import check_declared_use_case

    pack = _resolve_policy(ctx, policy)
    try:
        text = _read_stdin() if declaration == "-" else declaration
        verdict = check_declared_use_case(Moderator(pack, limits=Limits.from_env()), text)
    except InputError as exc:
        _fail(str(exc))
    if as_json:
        out = verdict.model_dump(mode="json")
        out["flagged"] = verdict.flagged
        click.echo(_dump(out))
    else:
        click.echo(_format_verdict(verdict, text))
    sys.exit(_exit_code([verdict.action]))


# -- eval ------------------------------------------------------------------------------------


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--policy", "-p", default=DEFAULT_POLICY, show_default=True)
@click.option(
    "--flag-on",
    type=click.Choice(["review", "block"]),
    default="review",
    show_default=True,
    help="The weakest verdict that counts as 'flagged'.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N records.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def eval_(
    ctx: click.Context, file: Path, policy: str, flag_on: str, limit: int | None, as_json: bool
) -> None:
    """Precision, recall, F1 and false-positive rate of a pack on labelled JSONL."""
    from aupguard.evaluation import evaluate, format_report, read_records

    pack = _resolve_policy(ctx, policy)
    moderator = Moderator(pack, limits=Limits.from_env())
    try:
        report = evaluate(
            moderator, read_records(file), file=str(file), flag_on=Action(flag_on), limit=limit
        )
    except InputError as exc:
        _fail(str(exc))
    click.echo(_dump(report.to_dict()) if as_json else format_report(report))


# -- policy ----------------------------------------------------------------------------------


@main.group()
def policy() -> None:
    """List, show, validate and compare policy packs."""


@policy.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def policy_list(ctx: click.Context, as_json: bool) -> None:
    """List the packs that are loaded."""
    registry = _registry(ctx)
    rows = []
    for pack_id in registry.ids():
        rp = registry.get(pack_id)
        rows.append(
            {
                "id": rp.id,
                "version": rp.version,
                "versions": registry.versions(pack_id),
                "name": rp.pack.name,
                "effective_date": rp.pack.effective_date.isoformat()
                if rp.pack.effective_date
                else None,
                "clauses": len(rp.pack.clauses),
                "builtin": rp.builtin,
                "extends": rp.pack.extends,
            }
        )
    if as_json:
        click.echo(_dump(rows))
        return
    for r in rows:
        origin = (
            "built-in" if r["builtin"] else f"extends {r['extends']}" if r["extends"] else "custom"
        )
        click.echo(
            f"{r['id']:<22} {r['version']:<8} {r['clauses']:>3} clauses  {origin:<22} {r['name']}"
        )


@policy.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def policy_show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Every clause of a pack: surface, categories, thresholds, action, enforcement status."""
    from aupguard.detectors.registry import default_registry as default_detectors

    rp = _resolve_policy(ctx, ref)
    pack = rp.pack
    covered = default_detectors().covered_categories()
    if as_json:
        data = pack.model_dump(mode="json")
        data["lineage"] = list(rp.lineage)
        for clause in data["clauses"]:
            clause["enforcement"] = clause_enforcement(pack.clause(clause["id"]), covered).value
        click.echo(_dump(data))
        return
    click.echo(f"{pack.name}  ({rp.ref})")
    if len(rp.lineage) > 1:
        click.echo(f"extends: {' -> '.join(rp.lineage[1:])}")
    if pack.effective_date:
        click.echo(f"effective: {pack.effective_date.isoformat()}")
    if pack.source:
        src = pack.source
        click.echo(
            f"source: {src.title}"
            + (f" <{src.url}>" if src.url else "")
            + (f" [{src.seed}]" if src.seed else "")
        )
    d = pack.defaults
    click.echo(
        f"default thresholds: review ≥ {d.thresholds.review}, act ≥ {d.thresholds.block}"
        + (f"; minimum age {d.minimum_age}" if d.minimum_age else "")
    )
    click.echo("")
    for c in pack.clauses:
        status = clause_enforcement(c, covered).value
        click.echo(f"§{c.id}  {c.title}")
        click.echo(
            f"    surface {c.surface.value}; action {c.action.value}; ladder weight "
            f"{c.ladder_weight}; detector: {status}"
        )
        if c.categories:
            cats = []
            for cat in c.categories:
                t = pack.thresholds_for(c, cat)
                cats.append(
                    f"{cat} (review ≥ {t.review:g}, act ≥ {t.block:g})"
                    if t.review is not None and t.block is not None
                    else cat
                )
            click.echo(f"    categories: {'; '.join(cats)}")
        if c.modalities:
            click.echo(f"    modalities: {', '.join(m.value for m in c.modalities)}")
        quote = c.quote if len(c.quote) <= 200 else c.quote[:197] + "..."
        click.echo(f'    "{quote}"')
    if pack.enforcement:
        click.echo("\nenforcement:")
        for e in pack.enforcement:
            click.echo(f'  {e.id}: {e.step.value} — "{e.quote}"')
    if pack.reporting:
        click.echo("\nreporting:")
        for r in pack.reporting:
            addr = f" {r.address}" if r.address else ""
            click.echo(f'  {r.id}: {r.kind}{addr} — "{r.quote}"')


@policy.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def policy_validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Validate pack files; problems are printed as file:line:col: message. Exit 1 if any."""
    registry = _registry(ctx)
    bad = False
    for path in files:
        try:
            loaded = load_pack_file(path)
            registry.add(loaded)
            rp = registry.get(f"{loaded.pack.id}@{loaded.pack.version}")
        except PackError as exc:
            bad = True
            click.echo(str(exc), err=True)
            continue
        click.echo(
            f"{path}: ok ({rp.ref}, {len(rp.pack.clauses)} clauses"
            + (f", extends {rp.pack.extends}" if rp.pack.extends else "")
            + ")"
        )
    sys.exit(EXIT_INVALID if bad else EXIT_OK)


@policy.command("diff")
@click.argument("left")
@click.argument("right")
@click.option(
    "--file",
    "-f",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check these prompts (JSONL or one per line) and list those decided differently.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def policy_diff(
    ctx: click.Context, left: str, right: str, file_: Path | None, as_json: bool
) -> None:
    """Categories (and, with --file, prompts) that two packs decide differently."""
    lp, rp = _resolve_policy(ctx, left), _resolve_policy(ctx, right)
    if file_ is not None:
        _diff_prompts(lp, rp, file_, as_json)
        return
    diffs = diff_packs(lp.pack, rp.pack)
    if as_json:
        click.echo(
            _dump(
                [
                    {
                        "category": d.category,
                        lp.ref: {
                            "action": d.left.action.value,
                            "review": d.left.review,
                            "block": d.left.block,
                            "clauses": list(d.left.clause_ids),
                        },
                        rp.ref: {
                            "action": d.right.action.value,
                            "review": d.right.review,
                            "block": d.right.block,
                            "clauses": list(d.right.clause_ids),
                        },
                    }
                    for d in diffs
                ]
            )
        )
        return
    if not diffs:
        click.echo(f"{lp.ref} and {rp.ref} decide every category the same way")
        return
    click.echo(f"{'category':<28} {lp.ref:<44} {rp.ref}")
    for d in diffs:
        click.echo(f"{d.category:<28} {d.left.describe():<44} {d.right.describe()}")


@policy.command("tune")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--policy", "-p", default=DEFAULT_POLICY, show_default=True)
@click.option(
    "--target-fpr",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.01,
    show_default=True,
    help="False-positive rate to reach on the benign records.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the proposal as a pack that extends --policy.",
)
@click.pass_context
def policy_tune(
    ctx: click.Context, file: Path, policy: str, target_fpr: float, out: Path | None
) -> None:
    """Propose per-category thresholds for a target false-positive rate on a labelled dev
    FILE (JSONL as for `aupguard eval`); --out writes them as an extending pack."""
    from aupguard.evaluation import read_records
    from aupguard.thresholds import format_proposals, proposal_as_override_yaml, propose_thresholds

    pack = _resolve_policy(ctx, policy)
    moderator = Moderator(pack, limits=Limits.from_env())
    try:
        proposals = propose_thresholds(moderator, read_records(file), target_fpr=target_fpr)
    except InputError as exc:
        _fail(str(exc))
    click.echo(format_proposals(proposals))
    if out is not None:
        out.write_text(proposal_as_override_yaml(proposals, pack.id), encoding="utf-8")
        click.echo(f"wrote {out} (load it with --pack-path or AUPGUARD_PACK_PATH)")


def _diff_prompts(lp: ResolvedPack, rp: ResolvedPack, path: Path, as_json: bool) -> None:
    limits = Limits.from_env()
    left, right = Moderator(lp, limits=limits), Moderator(rp, limits=limits)
    try:
        items = list(_items_from_file(path))
    except InputError as exc:
        _fail(str(exc))
    n_diff = 0
    for label, text in items:
        try:
            lv, rv = left.check(text), right.check(text)
        except InputError as exc:
            click.echo(f"error: {label}: {exc}", err=True)
            continue
        if lv.action is rv.action:
            continue
        n_diff += 1
        if as_json:
            click.echo(
                _dump(
                    {
                        "item": label,
                        "text": text,
                        lp.ref: lv.model_dump(mode="json"),
                        rp.ref: rv.model_dump(mode="json"),
                    }
                )
            )
        else:
            click.echo(f"{label}: {lp.ref} {lv.summary()} | {rp.ref} {rv.summary()}")
            click.echo(f"    {text[:120]!r}")
    if not as_json:
        click.echo(f"{n_diff} of {len(items)} prompts decided differently")


# -- detectors, taxonomy ---------------------------------------------------------------------


@main.command("detectors")
def detectors_cmd() -> None:
    """List the registered detectors and the categories each can score."""
    from aupguard.detectors.registry import default_registry as default_detectors

    registry = default_detectors()
    for name in registry.names():
        cls = registry.detector_class(name)
        click.echo(f"{name} {cls.version}: {', '.join(sorted(cls.categories))}")


@main.command("taxonomy")
@click.option("--json", "as_json", is_flag=True)
def taxonomy_cmd(as_json: bool) -> None:
    """The category taxonomy with its OpenAI and MLCommons mappings."""
    tax = load_taxonomy()
    if as_json:
        click.echo(_dump(tax.model_dump(mode="json")))
        return
    for c in tax.categories.values():
        click.echo(
            f"{c.id:<28} {c.kind:<9} openai={','.join(c.openai) or '-':<40} "
            f"mlcommons={','.join(c.mlcommons) or '-'}"
        )


@main.command("train")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of training JSONL files (shared/data/train).",
)
@click.option(
    "--examples",
    "examples_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of our own labelled examples (crosslingual.jsonl is never trained on).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the artifacts (src/aupguard/models/text_classifier).",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quick", is_flag=True, help="A small, fast smoke-test run (not for shipping).")
@click.option(
    "--exclude",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="JSONL file or directory whose texts must not be trained on (repeatable; "
    "default: the 'dev' directory next to --data).",
)
@click.option(
    "--embedding-cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An .npz that keeps embeddings between runs (speeds up re-training).",
)
def train_cmd(
    data_dir: Path,
    examples_dir: Path | None,
    out_dir: Path,
    seed: int,
    quick: bool,
    exclude: tuple[Path, ...],
    embedding_cache: Path | None,
) -> None:
    """Train the text classifier (needs the 'train' extra) and write its artifacts."""
    import shlex

    try:
        from aupguard.training.train import TrainConfig, TrainingError, train
    except ImportError as exc:
        _fail(f"{exc}; install the extra: pip install 'aupguard[train]'", EXIT_INVALID)
    if not exclude and (data_dir.parent / "dev").is_dir():
        exclude = (data_dir.parent / "dev",)
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "examples_dir": examples_dir,
        "out_dir": out_dir,
        "exclude": exclude,
        "seed": seed,
        "command": shlex.join(
            ["aupguard", "train", "--data", str(data_dir)]
            + (["--examples", str(examples_dir)] if examples_dir else [])
            + ["--out", str(out_dir), "--seed", str(seed)]
            + (["--quick"] if quick else [])
            + [arg for path in exclude for arg in ("--exclude", str(path))]
        ),
        "embedding_cache": embedding_cache,
    }
    config = TrainConfig.quick_config(**settings) if quick else TrainConfig(**settings)
    try:
        result = train(config, log=lambda line: click.echo(line, err=True))
    except (TrainingError, ValueError, ImportError) as exc:
        _fail(str(exc), EXIT_INVALID)
    validation = result.manifest["validation"]
    click.echo(
        _dump(
            {
                "out": str(result.out_dir),
                "seconds": result.seconds,
                "validation": {
                    "flagged_any_category_at_0.5": validation["flagged_any_category_at_0.5"],
                    "mean_average_precision": validation["mean_average_precision"],
                },
            }
        )
    )


@main.group()
def provenance() -> None:
    """Watermark, C2PA-sign and verify output images (needs the 'provenance' extra)."""


def _provenance_settings() -> Any:
    try:
        from aupguard.provenance.settings import ProvenanceSettings
    except ImportError as exc:
        _fail(f"{exc}; install the extra: pip install 'aupguard[provenance]'", EXIT_INVALID)
    try:
        return ProvenanceSettings.from_env()
    except InputError as exc:
        _fail(str(exc))


def _read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")


def _write_output(image: Path, out: Path | None, data: bytes) -> Path:
    target = out or image.with_name(f"{image.stem}.signed{image.suffix}")
    target.write_bytes(data)
    return target


@provenance.command("sign")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the marked image (default: IMAGE.signed.EXT).",
)
@click.option("--policy", "-p", default=DEFAULT_POLICY, show_default=True)
@click.option("--generation-id", default=None, help="Id of the generation (default: random).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def provenance_sign(
    ctx: click.Context,
    image: Path,
    out: Path | None,
    policy: str,
    generation_id: str | None,
    as_json: bool,
) -> None:
    """Apply the pack's output obligations to IMAGE: watermark, AI-disclosure XMP, C2PA."""
    import uuid

    from aupguard.engine.decide import decide
    from aupguard.provenance import ProvenanceError, apply_output_obligations

    settings = _provenance_settings()
    pack = _resolve_policy(ctx, policy).pack
    verdict = decide(pack, [], Modality.OUTPUT_IMAGE)
    gen = generation_id or f"gen_{uuid.uuid4().hex[:16]}"
    try:
        result = apply_output_obligations(
            _read_image(image), generation_id=gen, pack=pack, verdict=verdict, settings=settings
        )
    except (ProvenanceError, InputError) as exc:
        _fail(f"{image}: {exc}")
    assert result.image is not None
    target = _write_output(image, out, result.image)
    if as_json:
        click.echo(_dump({"out": str(target), **result.model_dump(mode="json", exclude={"image"})}))
        return
    click.echo(
        f"wrote {target}  ({', '.join(k.value for k in result.obligations) or 'no obligations'})"
    )
    if result.watermark:
        click.echo(f"  watermark: operator {result.watermark.operator_id}, generation {gen}")
    if result.manifest:
        click.echo(f"  C2PA manifest: {result.manifest.validation_state}, {result.manifest.label}")
    for d in result.disclosures:
        click.echo(f"  disclosure: {d}")
    if result.review_required:
        click.echo(f"  release only after human review: {', '.join(result.review_reasons)}")


@provenance.command("verify")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--generation-id", default=None, help="Also check the mark names this generation.")
@click.option("--json", "as_json", is_flag=True)
def provenance_verify(image: Path, generation_id: str | None, as_json: bool) -> None:
    """Did IMAGE come from our service? Watermark, C2PA validity and claims, stripped metadata.
    Exit 0 when it is ours and intact, 3 when ours but stripped or tampered, 4 when not ours."""
    from aupguard.provenance import ProvenanceError, verify_image

    settings = _provenance_settings()
    try:
        report = verify_image(_read_image(image), settings, generation_id=generation_id)
    except (ProvenanceError, InputError) as exc:
        _fail(f"{image}: {exc}")
    if as_json:
        click.echo(_dump(report.model_dump(mode="json")))
    else:
        verdict = "ours" if report.from_our_service else "not from this service"
        click.echo(f"{image}: {verdict}")
        for line in report.findings:
            click.echo(f"  {line}")
    if not report.from_our_service:
        ctx_exit = EXIT_BLOCK
    elif report.metadata_stripped or report.tampered:
        ctx_exit = EXIT_REVIEW
    else:
        ctx_exit = EXIT_OK
    sys.exit(ctx_exit)


@provenance.command("watermark")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the watermarked image (default: IMAGE.signed.EXT).",
)
@click.option("--generation-id", required=True, help="Id of the generation the mark names.")
def provenance_watermark(image: Path, out: Path | None, generation_id: str) -> None:
    """Embed only the invisible watermark (no manifest, no metadata)."""
    from aupguard.provenance import ProvenanceError, WatermarkPayload
    from aupguard.provenance import watermark as wm
    from aupguard.provenance.images import decode_image, encode_image

    settings = _provenance_settings()
    try:
        decoded = decode_image(_read_image(image))
    except (ProvenanceError, InputError) as exc:
        _fail(f"{image}: {exc}")
    payload = WatermarkPayload.for_generation(settings.operator_id, generation_id)
    pixels = wm.embed(decoded.pixels, payload, settings.watermark_key, settings.watermark_strength)
    target = _write_output(image, out, encode_image(pixels, decoded.format))
    click.echo(f"wrote {target}  (payload {payload.to_bytes().hex()})")


@provenance.command("detect")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def provenance_detect(image: Path, as_json: bool) -> None:
    """Decode the invisible watermark of IMAGE. Exit 0 when found, 4 when not."""
    from aupguard.provenance import ProvenanceError
    from aupguard.provenance import watermark as wm
    from aupguard.provenance.images import decode_image

    settings = _provenance_settings()
    try:
        decoded = decode_image(_read_image(image), min_side=32)
    except (ProvenanceError, InputError) as exc:
        _fail(f"{image}: {exc}")
    found = wm.detect(decoded.pixels, settings.watermark_key)
    p = found.payload
    info = {
        "found": p is not None,
        "operator_id": p.operator_id if p else None,
        "generation_tag": f"{p.generation_tag:08x}" if p else None,
        "issued_at": p.issued_at.isoformat() if p else None,
        "sync_z": found.sync_z,
        "scale": found.scale,
    }
    if as_json:
        click.echo(_dump(info))
    elif p is None:
        click.echo(f"{image}: no watermark (sync z {found.sync_z})")
    else:
        click.echo(
            f"{image}: operator {p.operator_id}, generation tag {info['generation_tag']}, "
            f"issued {info['issued_at']} (sync z {found.sync_z}, scale {found.scale})"
        )
    sys.exit(EXIT_OK if p is not None else EXIT_BLOCK)


# -- serve -----------------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
def serve_cmd(host: str, port: int, workers: int) -> None:
    """Run the HTTP service and generation gateway (needs the `server` extra); prints the URL."""
    try:
        from aupguard.api.server import serve
        from aupguard.api.settings import SettingsError
    except ImportError as exc:
        _fail(
            f"the HTTP service needs the `server` extra: pip install 'aupguard[server]' ({exc.name} "
            "is missing)",
            EXIT_INVALID,
        )
    try:
        serve(host, port, workers, echo=click.echo)
    except SettingsError as exc:
        _fail(str(exc))
    except Exception as exc:  # the store cannot be opened: say so, no traceback
        if type(exc).__name__ != "StoreUnavailableError":
            raise
        _fail(f"cannot start: {exc}", EXIT_INVALID)


def run() -> None:  # pragma: no cover - console entry point alias
    main()


# -- images (a group of its own, in aupguard.images.cli) -------------------------------------


def _add_images_commands() -> None:
    from aupguard.images.cli import images_group

    main.add_command(images_group)


_add_images_commands()

# -- accounts, keys, credits, enforcement (aupguard/accounts_cli.py; needs the 'store' extra) --
from aupguard.accounts_cli import register as _register_accounts_cli  # noqa: E402

_register_accounts_cli(main)

# -- human review: queues, reviewers, the reviewer UI (aupguard/review/cli.py) --------------
from aupguard.review.cli import register as _register_review_cli  # noqa: E402

_register_review_cli(main)

# -- audit, statements, report (aupguard/records/cli.py; needs the 'store' extra) -----------
from aupguard.records.cli import register as _register_records_cli  # noqa: E402

_register_records_cli(main)

# -- bulk re-scan of an archive (aupguard/scan/cli.py) ---------------------------------------
from aupguard.scan.cli import register as _register_scan_cli  # noqa: E402

_register_scan_cli(main)
