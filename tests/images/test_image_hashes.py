"""PDQ hashes, the multi-index hash index, and hash banks (file format and database)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aupguard.images import decode_image
from aupguard.images.hash_banks import (
    BankEntry,
    HashBankError,
    HashBankStore,
    HashMatcher,
    format_bank,
    parse_bank_lines,
    read_bank_file,
)
from aupguard.images.hash_index import PdqIndex
from aupguard.images.pdq import hamming, pdq_hash
from conftest import encode, shapes


def _hash(image: Image.Image) -> str:
    digest = pdq_hash(image)
    assert digest.trusted, digest
    return digest.hex


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(encode(image, "JPEG", quality=quality))).convert("RGB")


def test_same_picture_after_resize_jpeg_and_crop_is_within_threshold() -> None:
    original = shapes(11, (640, 480))
    base = _hash(original)
    variants = {
        "resize": original.resize((320, 240)),
        "jpeg q40": _jpeg(original, 40),
        "crop 3%": original.crop((10, 8, 630, 472)),
        "resize + jpeg": _jpeg(original.resize((480, 360)), 60),
    }
    for name, image in variants.items():
        assert hamming(base, _hash(image)) <= 31, name


def test_different_pictures_are_far_apart() -> None:
    hashes = [_hash(shapes(seed, (400, 400))) for seed in range(20, 30)]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 31


def test_flat_image_has_low_quality() -> None:
    assert not pdq_hash(Image.new("RGB", (200, 200), "grey")).trusted


def test_index_finds_exactly_the_hashes_within_threshold() -> None:
    rng = np.random.default_rng(5)
    stored = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add_many_bytes(stored)
    for distance in (0, 1, 15, 16, 17, 31, 32, 40):
        bits = np.unpackbits(stored[1234])
        bits[rng.choice(256, distance, replace=False)] ^= 1
        found = index.search(np.packbits(bits).tobytes().hex())
        positions = [m.position for m in found]
        if distance <= 31:
            assert positions == [1234] and found[0].distance == distance
        else:
            assert 1234 not in positions


def test_index_agrees_with_brute_force_including_pending_appends() -> None:
    rng = np.random.default_rng(6)
    centre = rng.integers(0, 256, 32, dtype=np.uint8)
    near = []
    for _ in range(300):  # hashes scattered around one centre, at many distances
        bits = np.unpackbits(centre)
        bits[rng.choice(256, int(rng.integers(0, 60)), replace=False)] ^= 1
        near.append(np.packbits(bits))
    near_arr = np.stack(near)
    index = PdqIndex()
    index.add_many_bytes(near_arr[:200])
    for row in near_arr[200:]:
        index.add(row.tobytes().hex())  # stays in the brute-force buffer
    query = centre.tobytes().hex()
    expected = sorted(
        i for i, row in enumerate(near_arr) if hamming(query, row.tobytes().hex()) <= 31
    )
    assert sorted(m.position for m in index.search(query)) == expected
    assert len(expected) > 10


def test_index_scales_to_a_million_hashes() -> None:
    rng = np.random.default_rng(7)
    stored = rng.integers(0, 256, (1_000_000, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add_many_bytes(stored)
    bits = np.unpackbits(stored[777_777])
    bits[rng.choice(256, 30, replace=False)] ^= 1
    found = index.search(np.packbits(bits).tobytes().hex())
    assert [m.position for m in found] == [777_777]
    assert len(index) == 1_000_000


BANK_TEXT = """\
# exported from a ThreatExchange privacy group
pdq_hash,labels
{h1},sexual/minors;ncmec
{h2}\tviolence/graphic
pdq {h3} extremism tcap
{h4}
"""


def _four() -> list[str]:
    return [_hash(shapes(s, (300, 300))) for s in (41, 42, 43, 44)]


def test_bank_file_formats_parse() -> None:
    h = _four()
    entries = list(
        parse_bank_lines(
            BANK_TEXT.format(h1=h[0], h2=h[1], h3=h[2], h4=h[3]).splitlines(),
            bank="te",
            where="x.csv",
        )
    )
    assert [e.hash_hex for e in entries] == h
    assert entries[0].labels == ("sexual/minors", "ncmec")
    assert entries[1].labels == ("violence/graphic",)
    assert entries[2].labels == ("extremism", "tcap")
    assert entries[3].labels == ()


def test_bad_bank_line_names_file_and_line() -> None:
    with pytest.raises(HashBankError, match=r"bank\.csv:3: expected a PDQ hash"):
        list(
            parse_bank_lines(
                ["pdq_hash,labels", "a" * 64, "not-a-hash,x"], bank="b", where="bank.csv"
            )
        )


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    h = _four()
    entries = [BankEntry(h[0], ("sexual",), "b"), BankEntry(h[1], ("hate", "x"), "b")]
    path = tmp_path / "bank.csv"
    path.write_text(format_bank(entries))
    again = read_bank_file(path, bank="b")
    assert [(e.hash_hex, e.labels) for e in again] == [(e.hash_hex, e.labels) for e in entries]


def test_store_matches_a_reupload_of_removed_content(tmp_path: Path) -> None:
    removed = shapes(50, (512, 512))
    with HashBankStore(tmp_path / "banks.db") as store:
        store.ensure_bank("removed-outputs", category="sexual")
        digest = pdq_hash(removed)
        store.add("removed-outputs", [BankEntry(digest.hex, (), "removed-outputs", digest.quality)])
        # low-quality hashes are refused: they would match unrelated flat images
        flat = pdq_hash(Image.new("RGB", (64, 64), "white"))
        assert store.add("removed-outputs", [BankEntry(flat.hex, (), "", flat.quality)]) == 0
        entries = store.entries()
    # a fresh process: load from the file again
    with HashBankStore(tmp_path / "banks.db") as store:
        matcher = HashMatcher(entries=store.entries())
    assert [e.hash_hex for e in entries] == [digest.hex]
    reupload = decode_image(encode(removed.resize((400, 400)), "JPEG", quality=70))
    matches = matcher.match(reupload.pdq.hex)
    assert matches and matches[0].entry.labels == ("sexual",)
    assert not matcher.match(pdq_hash(shapes(51, (512, 512))).hex)


def test_store_merges_labels_and_removes(tmp_path: Path) -> None:
    h = _four()[0]
    with HashBankStore(tmp_path / "b.db") as store:
        store.add("bank", [BankEntry(h, ("hate",))])
        store.add("bank", [BankEntry(h, ("extremism",))])
        assert store.entries("bank")[0].labels == ("hate", "extremism")
        assert store.remove("bank", h) and not store.entries("bank")
        with pytest.raises(HashBankError, match="bank name"):
            store.ensure_bank("no spaces allowed")
