"""``aupguard check --image`` and the ``aupguard images`` commands (hashes, stored copies,
hash banks). A thin layer over :mod:`aupguard.images` and ``Moderator.check_image``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from aupguard.cli import EXIT_INVALID, EXIT_USAGE, _dump, _exit_code, _fail, _format_verdict
from aupguard.images.errors import ImageInputError
from aupguard.images.hash_banks import (
    BankEntry,
    HashBankError,
    HashBankStore,
    format_bank,
    read_bank_file,
)
from aupguard.images.limits import ImageLimits
from aupguard.policy.models import Modality
from aupguard.policy.registry import ResolvedPack

DB_ENV = "AUPGUARD_HASH_DB"


def check_image_command(
    pack: ResolvedPack,
    path: Path,
    modality: str,
    prompt: str | None,
    as_json: bool,
    file_: Path | None,
) -> NoReturn:
    from aupguard.engine.moderator import Limits, Moderator

    if file_ is not None:
        _fail("give --image or --file, not both")
    image_modality = (
        Modality.INPUT_IMAGE if modality == Modality.PROMPT.value else Modality(modality)
    )
    if image_modality not in (Modality.INPUT_IMAGE, Modality.OUTPUT_IMAGE):
        _fail(f"--modality {modality} is not an image modality (input_image or output_image)")
    try:
        moderator = Moderator(pack, limits=Limits.from_env())
        if prompt == "-":
            prompt = sys.stdin.read()
        checked = moderator.check_image_detailed(path.read_bytes(), image_modality, prompt=prompt)
    except ImageInputError as exc:
        _fail(f"{path}: {exc} [{exc.code}]")
    except ImportError as exc:
        _fail(str(exc), EXIT_INVALID)
    verdict = checked.verdict
    if as_json:
        out = verdict.model_dump(mode="json")
        out["flagged"] = verdict.flagged
        out["image"] = {**_describe(checked.image), "ocr_text": checked.ocr_text}
        click.echo(_dump(out))
    else:
        click.echo(_format_verdict(verdict, checked.ocr_text, str(path)))
        info = _describe(checked.image)
        click.echo(
            f"  image {info['format']} {info['width']}x{info['height']}, "
            f"{info['frames']} frame(s), sha256 {info['sha256'][:16]}…, pdq {info['pdq']} "
            f"(quality {info['pdq_quality']})"
        )
        if checked.ocr_text:
            click.echo(f"  text in image: {checked.ocr_text[:200]!r}")
    sys.exit(_exit_code([verdict.action]))


def _describe(image: object) -> dict[str, Any]:
    from aupguard.images.decode import DecodedImage

    assert isinstance(image, DecodedImage)
    return {
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "frames": image.frame_count,
        "bytes": image.byte_size,
        "sha256": image.sha256,
        "pdq": image.pdq.hex,
        "pdq_quality": image.pdq.quality,
        "personal_metadata": list(image.metadata.personal),
    }


def _decode(path: Path) -> object:
    from aupguard.images.decode import decode_image

    try:
        return decode_image(path.read_bytes(), ImageLimits.from_env())
    except ImageInputError as exc:
        _fail(f"{path}: {exc} [{exc.code}]")


def _store(db: str | None) -> HashBankStore:
    path = db or os.environ.get(DB_ENV)
    if not path:
        _fail(f"give --db PATH or set {DB_ENV} (the SQLite file of hash banks)")
    return HashBankStore(path)


@click.group("images")
def images_group() -> None:
    """Image files: hashes, metadata-free copies, known-bad hash banks."""


@images_group.command("inspect")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def inspect_images(paths: tuple[Path, ...]) -> None:
    """Decode each image safely and print its format, size, SHA-256, PDQ hash and metadata."""
    for path in paths:
        info = _describe(_decode(path))
        click.echo(_dump({"path": str(path), **info}))


@images_group.command("strip")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["PNG", "JPEG", "WEBP"]), default="PNG", show_default=True
)
def strip_image(source: Path, dest: Path, fmt: str) -> None:
    """Write SOURCE's pixels to DEST without EXIF/XMP/text metadata (the copy to store)."""
    from aupguard.images.decode import DecodedImage
    from aupguard.images.metadata import StoredFormat

    decoded = _decode(source)
    assert isinstance(decoded, DecodedImage)
    stored: StoredFormat = "PNG" if fmt == "PNG" else "JPEG" if fmt == "JPEG" else "WEBP"
    dest.write_bytes(decoded.clean_copy(stored))
    removed = ", ".join(decoded.metadata.personal) or "none"
    click.echo(f"wrote {dest} ({fmt}); personal metadata removed: {removed}")


@images_group.group("bank")
def bank_group() -> None:
    """Known-bad PDQ hash banks (ThreatExchange / HMA format) in the hash database."""


_db_option = click.option("--db", help=f"SQLite file of hash banks (default ${DB_ENV}).")


@bank_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", required=True, help="Bank name (created if new).")
@click.option("--category", help="Taxonomy category of matches without a category label.")
@_db_option
def bank_import(file: Path, bank: str, category: str | None, db: str | None) -> None:
    """Import FILE (one PDQ hex per line, optional labels) into BANK."""
    from aupguard.policy.taxonomy import load_taxonomy

    if category is not None and category not in load_taxonomy().categories:
        _fail(f"unknown category {category!r} (see `aupguard taxonomy`)")
    try:
        entries = read_bank_file(file, bank=bank)
        with _store(db) as store:
            store.ensure_bank(bank, category=category)
            added = store.add(bank, entries)
    except HashBankError as exc:
        _fail(str(exc))
    click.echo(f"imported {added} hash(es) into bank {bank!r}")


@bank_group.command("export")
@click.option("--bank", help="Only this bank (default: all).")
@_db_option
def bank_export(bank: str | None, db: str | None) -> None:
    """Print the bank's hashes in the import format (pdq_hash,labels)."""
    with _store(db) as store:
        click.echo(format_bank(store.entries(bank)), nl=False)


@bank_group.command("add")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--bank", required=True)
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Label (a taxonomy category decides the score); repeatable.",
)
@_db_option
def bank_add(paths: tuple[Path, ...], bank: str, labels: tuple[str, ...], db: str | None) -> None:
    """Hash images and add them to BANK (e.g. the operator's removed outputs)."""
    from aupguard.images.decode import DecodedImage

    entries = []
    for path in paths:
        decoded = _decode(path)
        assert isinstance(decoded, DecodedImage)
        digest = decoded.pdq
        if not digest.trusted:
            click.echo(
                f"skipped {path}: PDQ quality {digest.quality} < 50 (would match unrelated images)",
                err=True,
            )
            continue
        entries.append(BankEntry(digest.hex, tuple(labels), bank, digest.quality, decoded.sha256))
    try:
        with _store(db) as store:
            added = store.add(bank, entries)
    except HashBankError as exc:
        _fail(str(exc), EXIT_USAGE)
    click.echo(f"added {added} hash(es) to bank {bank!r}")


@bank_group.command("list")
@_db_option
def bank_list(db: str | None) -> None:
    """List banks with their category and size."""
    with _store(db) as store:
        for name, category in store.banks().items():
            click.echo(
                json.dumps({"bank": name, "category": category, "hashes": len(store.entries(name))})
            )
